import PolicyLang

/// The maintenance windows of a policy, ready to answer "is this instant eligible?" and "when is it next?".
public struct WindowCalendar: Sendable {
    final class Window: Sendable {
        let spec: WindowSpec
        let zone: Zone
        /// The window's zone in `WindowCalendar.zones`.
        let zoneIndex: Int
        let isDeny: Bool
        let intervals: [WeeklyInterval]
        /// Every minute of the week at which the window opens or closes.
        let boundaries: Set<Int>

        init(spec: WindowSpec, zone: Zone, zoneIndex: Int) {
            self.spec = spec
            self.zone = zone
            self.zoneIndex = zoneIndex
            isDeny = spec.effect == .deny
            intervals = spec.intervals
            var boundaries = Set<Int>()
            for interval in spec.intervals {
                boundaries.insert(interval.start % WeeklyInterval.week)
                boundaries.insert(interval.end % WeeklyInterval.week)
            }
            self.boundaries = boundaries
        }

        func isOpen(at ms: Int64) -> Bool { isOpen(minuteOfWeek: zone.minuteOfWeek(at: ms)) }

        func isOpen(minuteOfWeek m: Int) -> Bool {
            for interval in intervals where interval.contains(minuteOfWeek: m) { return true }
            return false
        }
    }

    let windows: [Window]
    /// The distinct zones of the windows; most policies have one.
    let zones: [Zone]
    let hasAllow: Bool

    /// How far ahead `nextEligible` looks.
    public static let horizon: Int64 = 14 * 86_400_000

    /// Prepares the windows of a policy. Zones were checked by the checker; an unknown one falls back to UTC.
    public init(_ specs: [WindowSpec]) {
        var zones: [Zone] = []
        windows = specs.map { spec in
            let zone = Zone(identifier: spec.timeZone) ?? .utc
            let index = zones.firstIndex { $0.identifier == zone.identifier } ?? {
                zones.append(zone)
                return zones.count - 1
            }()
            return Window(spec: spec, zone: zone, zoneIndex: index)
        }
        self.zones = zones
        hasAllow = specs.contains { $0.effect == .allow }
    }

    /// The local minute of the week in each zone at an instant, computed once for all windows.
    func minutesOfWeek(at ms: Int64) -> [Int] {
        zones.map { $0.minuteOfWeek(at: ms) }
    }

    /// Whether window `index` is open at an instant.
    public func isOpen(_ index: Int, at ms: Int64) -> Bool { windows[index].isOpen(at: ms) }

    /// Whether reboots may happen at an instant: no deny window open and, when there are allow windows, one open.
    public func isEligible(at ms: Int64) -> Bool {
        let minutes = minutesOfWeek(at: ms)
        var allowed = !hasAllow
        for window in windows where window.isOpen(minuteOfWeek: minutes[window.zoneIndex]) {
            if window.isDeny { return false }
            allowed = true
        }
        return allowed
    }

    /// The first instant at or after `from`, within `horizon`, at which `predicate` holds; `nil` if none.
    ///
    /// Openness changes only where some window's wall-clock boundary falls or where a zone's offset changes, so
    /// those instants (and `from`) are the only candidates; each is tested with the real predicate, which keeps
    /// the answer right across daylight-saving changes (a skipped boundary, a repeated hour).
    public func firstInstant(from: Int64, within horizon: Int64 = WindowCalendar.horizon, where predicate: (Int64) -> Bool) -> Int64? {
        if predicate(from) { return from }
        let to = from + horizon + 1
        var candidates: [Int64] = []
        var zonesDone = Set<String>()
        for window in windows {
            for minute in window.boundaries {
                candidates += window.zone.instants(ofMinuteOfWeek: minute, from: from, to: to)
            }
            if zonesDone.insert(window.zone.identifier).inserted {
                candidates += window.zone.transitions(from: from, to: to)
            }
        }
        for t in Set(candidates).sorted() where t > from && predicate(t) { return t }
        return nil
    }

    /// The first eligible instant at or after `from`, within 14 days.
    public func nextEligible(from: Int64) -> Int64? {
        firstInstant(from: from) { isEligible(at: $0) }
    }

    /// The first instant at or after `from` at which window `index` is open.
    public func nextOpening(of index: Int, from: Int64) -> Int64? {
        firstInstant(from: from) { windows[index].isOpen(at: $0) }
    }

    /// The first instant after `from` at which window `index` (open at `from`) closes.
    public func nextClosing(of index: Int, from: Int64) -> Int64? {
        firstInstant(from: from) { !windows[index].isOpen(at: $0) }
    }
}
