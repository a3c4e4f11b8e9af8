/// The maintenance windows of a policy, ready to answer "is this instant eligible?" and "when is it next?".
public struct WindowCalendar: Sendable {
    /// One window with its zone resolved.
    public final class Window: Sendable {
        public let spec: WindowSpec
        public let zone: Zone
        /// The window's zone in `WindowCalendar.zones`.
        public let zoneIndex: Int
        public let isDeny: Bool
        let schedule: WindowSchedule
        /// A weekly window's minutes of the week, one bit each (empty for other windows): openness in one lookup.
        let weekBits: [UInt64]
        /// A weekly window's opening and closing minutes of the week, ascending.
        let weekEdges: [Int]

        init(spec: WindowSpec, zone: Zone, zoneIndex: Int) {
            self.spec = spec
            self.zone = zone
            self.zoneIndex = zoneIndex
            isDeny = spec.effect == .deny
            schedule = spec.schedule
            var bits: [UInt64] = []
            var edges = Set<Int>()
            if case .weekly(let intervals) = spec.schedule {
                bits = Array(repeating: 0, count: (WeeklyInterval.week + 63) / 64)
                for interval in intervals {
                    for m in interval.start..<interval.end {
                        let w = m % WeeklyInterval.week
                        bits[w >> 6] |= 1 << UInt64(w & 63)
                    }
                    edges.insert(interval.start % WeeklyInterval.week)
                    edges.insert(interval.end % WeeklyInterval.week)
                }
            }
            weekBits = bits
            weekEdges = edges.sorted()
        }

        /// Whether the window is open at an instant.
        public func isOpen(at ms: Int64) -> Bool { isOpen(localMinute: zone.localMinute(at: ms)) }

        /// Whether the window is open at local minute `m` of its zone.
        public func isOpen(localMinute m: Int) -> Bool {
            guard !weekBits.isEmpty else { return schedule.contains(localMinute: m) }
            let (day, minute) = m.quotientAndRemainderFloor(dividingBy: 1440)
            let w = CivilDate.weekday(ofDays: day) * 1440 + minute
            return weekBits[w >> 6] & (1 << UInt64(w & 63)) != 0
        }

        /// The first local minute after `m`, up to `limit`, at which the window opens or closes.
        func nextBoundary(after m: Int, limit: Int) -> Int? {
            guard !weekEdges.isEmpty else { return schedule.nextBoundary(after: m, limit: limit) }
            let (day, minute) = m.quotientAndRemainderFloor(dividingBy: 1440)
            let weekStart = m - (CivilDate.weekday(ofDays: day) * 1440 + minute)
            let w = m - weekStart
            let edge = weekEdges.first { $0 > w }.map { weekStart + $0 } ?? weekStart + WeeklyInterval.week + weekEdges[0]
            return edge <= limit ? edge : nil
        }

        /// The first instant after `t`, up to `deadline`, at which the window is open (`open`) or closed (`!open`).
        ///
        /// Openness changes only where the window's wall-clock boundary falls or where the zone's offset changes, so
        /// those instants are the only candidates, visited in order; each is tested with the real openness, which
        /// keeps the answer right across daylight-saving changes (a skipped boundary, a repeated hour).
        func nextInstant(after t: Int64, open: Bool, deadline: Int64) -> Int64? {
            var cursor = t
            let localLimit = zone.localMinute(at: deadline) + 1440
            while true {
                let offset = Int64(zone.offsetSeconds(at: cursor)) * 1000
                let local = Int((cursor + offset).quotientAndRemainderFloor(dividingBy: 60_000).0)
                var candidate = Int64.max
                if let b = nextBoundary(after: local, limit: localLimit) { candidate = Int64(b) * 60_000 - offset }
                if let transition = zone.nextTransition(after: cursor), transition < candidate { candidate = transition }
                guard candidate <= deadline else { return nil }
                if isOpen(at: candidate) == open { return candidate }
                cursor = candidate
            }
        }
    }

    public let windows: [Window]
    /// What the hot loops read of each window, without touching its object (so without reference counting, which
    /// was half of a decision's time): whether it denies, its zone, and where its week's bits start in `weekBits`.
    public struct Slot: Sendable {
        public let isDeny: Bool
        public let zoneIndex: Int
        /// The first word of a weekly window's bits in `weekBits`; -1 for a monthly or dated window.
        let bitsStart: Int
    }
    public let slots: [Slot]
    /// The minutes of the week of every weekly window, one bit each, window after window.
    let weekBits: [UInt64]
    /// The first zone's fixed offset in minutes when its offset never changes (UTC): local minutes without a lookup.
    let fixedOffsetMinutes: Int?
    /// The first zone's table of offsets (``Zone/table``), read here without reference counting.
    let firstTable: (initialOffset: Int, transitions: [Int64], offsets: [Int], end: Int64)
    /// The distinct zones of the windows; most policies have one.
    public let zones: [Zone]
    /// Whether any window allows (then one must be open).
    public let hasAllow: Bool

    /// How far ahead `nextEligible` looks: a yearly freeze and the weeks around it fit.
    public static let horizon: Int64 = 400 * 86_400_000
    /// `horizon` in days, for messages.
    public static let horizonDays = 400

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
        var bits: [UInt64] = []
        slots = windows.map { w in
            let start = w.weekBits.isEmpty ? -1 : bits.count
            bits += w.weekBits
            return Slot(isDeny: w.isDeny, zoneIndex: w.zoneIndex, bitsStart: start)
        }
        weekBits = bits
        fixedOffsetMinutes = zones.first.flatMap { $0.isFixed ? $0.offsetSeconds(at: 0) / 60 : nil }
        firstTable = zones.first?.table ?? (0, [], [], 0)
    }

    /// The local minute in the first zone at an instant, from its table (the same answer as `Zone.localMinute`).
    @inline(__always)
    func firstLocalMinute(at ms: Int64) -> Int {
        if let fixed = fixedOffsetMinutes { return Int(ms.quotientAndRemainderFloor(dividingBy: 60_000).0) + fixed }
        guard ms >= 0, ms < firstTable.end else { return zones[0].localMinute(at: ms) }
        let transitions = firstTable.transitions
        var low = 0
        var high = transitions.count
        while low < high {
            let mid = (low + high) / 2
            if transitions[mid] <= ms { low = mid + 1 } else { high = mid }
        }
        let offset = low == 0 ? firstTable.initialOffset : firstTable.offsets[low - 1]
        return Int((ms + Int64(offset) * 1000).quotientAndRemainderFloor(dividingBy: 60_000).0)
    }

    /// Whether window `index` is open at local minute `m` of its zone.
    @inline(__always)
    public func isOpen(_ index: Int, localMinute m: Int) -> Bool {
        let start = slots[index].bitsStart
        guard start >= 0 else { return windows[index].isOpen(localMinute: m) }
        let (day, minute) = m.quotientAndRemainderFloor(dividingBy: 1440)
        let w = CivilDate.weekday(ofDays: day) * 1440 + minute
        return weekBits[start + (w >> 6)] & (1 << UInt64(w & 63)) != 0
    }

    /// The local minute in each zone at an instant, computed once for all windows (no allocation for one zone).
    public struct LocalMinutes: Sendable {
        let first: Int
        let others: [Int]

        /// The local minute in zone `index` of `WindowCalendar.zones`.
        public subscript(index: Int) -> Int { index == 0 ? first : others[index - 1] }
    }

    /// The local minute in each zone at an instant.
    public func localMinutes(at ms: Int64) -> LocalMinutes {
        guard !zones.isEmpty else { return LocalMinutes(first: 0, others: []) }
        return LocalMinutes(first: firstLocalMinute(at: ms), others: zones.count == 1 ? [] : zones.dropFirst().map { $0.localMinute(at: ms) })
    }

    /// Whether window `index` is open at an instant.
    public func isOpen(_ index: Int, at ms: Int64) -> Bool { windows[index].isOpen(at: ms) }

    /// Whether reboots may happen at an instant: no deny window open and, when there are allow windows, one open.
    public func isEligible(at ms: Int64) -> Bool {
        let minutes = localMinutes(at: ms)
        var allowed = !hasAllow
        for i in slots.indices where isOpen(i, localMinute: minutes[slots[i].zoneIndex]) {
            if slots[i].isDeny { return false }
            allowed = true
        }
        return allowed
    }

    /// What one search for the next eligible instant found.
    public struct Search: Sendable {
        /// The first eligible instant, within the horizon.
        public var next: Int64?
        /// When no window was open at the start and allow windows exist: the allow window that opens first.
        public var soonestAllow: Int?
    }

    /// The first eligible instant at or after `from`, within `horizon`, and the allow window that opens first.
    ///
    /// While deny windows are open nothing is eligible before the last of them closes; while none is open and no
    /// allow window is, nothing is eligible before the first allow window opens. The search jumps from one such
    /// instant to the next and tests each, so it visits a few instants however long the horizon.
    public func search(from: Int64, within horizon: Int64 = WindowCalendar.horizon) -> Search {
        let deadline = from + horizon
        var t = from
        var result = Search()
        var first = true
        while t <= deadline {
            let minutes = localMinutes(at: t)
            var denyOpen = false
            var allowOpen = false
            for i in slots.indices where isOpen(i, localMinute: minutes[slots[i].zoneIndex]) {
                if slots[i].isDeny { denyOpen = true } else { allowOpen = true }
            }
            if !denyOpen, allowOpen || !hasAllow {
                result.next = t
                return result
            }
            var jump: Int64?
            if denyOpen {
                for (i, window) in windows.enumerated() where slots[i].isDeny && isOpen(i, localMinute: minutes[slots[i].zoneIndex]) {
                    guard let closes = window.nextInstant(after: t, open: false, deadline: deadline) else { return result }
                    jump = max(jump ?? closes, closes)
                }
            } else {
                for (i, window) in windows.enumerated() where !window.isDeny {
                    if let opens = window.nextInstant(after: t, open: true, deadline: jump ?? deadline), opens < (jump ?? .max) {
                        jump = opens
                        if first { result.soonestAllow = i }
                    }
                }
            }
            first = false
            guard let jump else { return result }
            t = jump
        }
        return result
    }

    /// The first eligible instant at or after `from`, within `horizon` (400 days).
    public func nextEligible(from: Int64) -> Int64? { search(from: from).next }

    /// The first eligible instant at or after `from` within `days` days, or `nil` when the windows let nothing
    /// through in that time (the linter's "never eligible").
    public func firstEligible(from: Int64, withinDays days: Int) -> Int64? {
        search(from: from, within: Int64(days) * 86_400_000).next
    }

    /// The first instant at or after `from` at which window `index` is open, within the horizon.
    public func nextOpening(of index: Int, from: Int64) -> Int64? {
        if windows[index].isOpen(at: from) { return from }
        return windows[index].nextInstant(after: from, open: true, deadline: from + WindowCalendar.horizon)
    }

    /// The first instant after `from` at which window `index` (open at `from`) closes, within the horizon.
    public func nextClosing(of index: Int, from: Int64) -> Int64? {
        windows[index].nextInstant(after: from, open: false, deadline: from + WindowCalendar.horizon)
    }
}
