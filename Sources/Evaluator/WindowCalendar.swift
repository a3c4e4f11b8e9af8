import PolicyLang

/// The maintenance windows of a policy, ready to answer "is this instant eligible?" and "when is it next?".
public struct WindowCalendar: Sendable {
    struct Window: Sendable {
        var spec: WindowSpec
        var zone: Zone
        /// Every minute of the week at which the window opens or closes.
        var boundaries: Set<Int>

        func isOpen(at ms: Int64) -> Bool {
            let m = zone.minuteOfWeek(at: ms)
            for interval in spec.intervals where interval.contains(minuteOfWeek: m) { return true }
            return false
        }
    }

    let windows: [Window]
    let hasAllow: Bool

    /// How far ahead `nextEligible` looks.
    public static let horizon: Int64 = 14 * 86_400_000

    /// Prepares the windows of a policy. Zones were checked by the checker; an unknown one falls back to UTC.
    public init(_ specs: [WindowSpec]) {
        windows = specs.map { spec in
            var boundaries = Set<Int>()
            for interval in spec.intervals {
                boundaries.insert(interval.start % WeeklyInterval.week)
                boundaries.insert(interval.end % WeeklyInterval.week)
            }
            return Window(spec: spec, zone: Zone(identifier: spec.timeZone) ?? .utc, boundaries: boundaries)
        }
        hasAllow = specs.contains { $0.effect == .allow }
    }

    /// Whether window `index` is open at an instant.
    public func isOpen(_ index: Int, at ms: Int64) -> Bool { windows[index].isOpen(at: ms) }

    /// Whether reboots may happen at an instant: no deny window open and, when there are allow windows, one open.
    public func isEligible(at ms: Int64) -> Bool {
        var allowed = !hasAllow
        for window in windows {
            if window.isOpen(at: ms) {
                if window.spec.effect == .deny { return false }
                allowed = true
            }
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
