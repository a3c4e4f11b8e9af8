import PolicyLang

/// What a policy decides over a stretch of time when every fact but `now` stays as given.
public struct Simulation: Sendable {
    /// What the decision was at one step.
    public struct State: Sendable, Hashable {
        public var outcome: Outcome
        public var blockedBy: BlockReason?
        public var name: String?
    }

    /// A stretch of time with one state: `from ..< to`.
    public struct Interval: Sendable {
        public var from: Instant
        public var to: Instant
        public var state: State
    }

    /// One decision per step, in order.
    public var samples: [(at: Int64, state: State)]
    public var intervals: [Interval]
    public let policy: PreparedPolicy
    public let step: Int64

    /// Decides at `facts.now`, then at every `step` of the policy's local clock (`:00`, `:15`, … for 15 minutes) for
    /// `duration`. Where the decision changes between two steps, the interval boundary is the minute it changes
    /// (a window that opens at 22:10 starts an interval at 22:10 whatever the step or the start).
    public init(policy: PreparedPolicy, facts: Facts, duration: Int64, step: Int64) {
        self.policy = policy
        self.step = step
        let start = (facts.now ?? FactDefaults.now).epochMilliseconds
        let end = start + duration
        var facts = facts
        func state(at t: Int64) -> State {
            facts.now = Instant(epochMilliseconds: t)
            let d = policy.decide(facts)
            return State(outcome: d.outcome, blockedBy: d.blockedBy, name: d.name)
        }
        var samples: [(Int64, State)] = []
        var t = start
        while t < end {
            samples.append((t, state(at: t)))
            let offset = Int64(policy.zone.offsetSeconds(at: t)) * 1000
            let local = t + offset
            t = local - local.quotientAndRemainderFloor(dividingBy: step).remainder + step - offset
        }
        self.samples = samples
        func instant(_ ms: Int64) -> Instant { Instant(epochMilliseconds: ms, utcOffsetSeconds: policy.zone.offsetSeconds(at: ms)) }
        var intervals: [Interval] = []
        for (i, sample) in samples.enumerated() {
            let to = instant(i + 1 < samples.count ? samples[i + 1].0 : end)
            if let last = intervals.last, last.state == sample.1 {
                intervals[intervals.count - 1].to = to
                continue
            }
            var from = sample.0
            if i > 0 {
                // The first whole minute after the previous step at which the new state holds (a state that comes
                // and goes between two steps is not seen).
                var (low, high) = (samples[i - 1].0, sample.0)
                while true {
                    let firstMinute = (low.quotientAndRemainderFloor(dividingBy: 60_000).0 + 1) * 60_000
                    guard firstMinute < high else { break }
                    let m = firstMinute + ((high - firstMinute) / 120_000) * 60_000
                    if state(at: m) == sample.1 { high = m } else { low = m }
                }
                from = high
                intervals[intervals.count - 1].to = instant(from)
            }
            intervals.append(Interval(from: instant(from), to: to, state: sample.1))
        }
        self.intervals = intervals
    }

    /// The text calendar: one row per local day in the policy's time zone, one character per step.
    public func calendar() -> String {
        let stepMinutes = Int(step / 60_000)
        let cellsPerDay = 1440 / max(1, stepMinutes)
        var symbols: [State: Character] = [:]
        var legend: [(Character, String)] = []
        let pools: [BlockReason: [Character]] = [
            .window: ["w", "W", "v", "V"], .rule: ["r", "R", "q", "Q"], .health: ["h", "H"], .lock: ["l", "L"],
            .killSwitch: ["k", "K"], .detectorError: ["d", "D"],
        ]
        func symbol(_ s: State) -> Character {
            if let c = symbols[s] { return c }
            let c: Character
            let text: String
            switch s.outcome {
            case .reboot: (c, text) = ("#", "eligible: reboot")
            case .noRebootNeeded: (c, text) = ("-", "no reboot needed")
            case .blocked:
                let reason = s.blockedBy ?? .rule
                let used = Set(symbols.values)
                c = pools[reason]?.first { !used.contains($0) } ?? "?"
                text = "blocked by \(reason.rawValue)" + (s.name.map { " " + quoteString($0) } ?? "")
            }
            symbols[s] = c
            legend.append((c, text))
            return c
        }
        var rows: [(day: Int64, cells: [Character])] = []
        for (t, state) in samples {
            let offset = Int64(policy.zone.offsetSeconds(at: t)) * 1000
            let (day, ms) = (t + offset).quotientAndRemainderFloor(dividingBy: 86_400_000)
            let column = min(cellsPerDay - 1, Int(ms / 60_000) / max(1, stepMinutes))
            if rows.last?.day != day { rows.append((day, Array(repeating: " ", count: cellsPerDay))) }
            rows[rows.count - 1].cells[column] = symbol(state)
        }
        var out = ""
        let cellsPerHour = 60 / max(1, stepMinutes)
        if stepMinutes <= 60, cellsPerHour >= 1 {
            var header = Array(repeating: Character(" "), count: cellsPerDay)
            for hour in stride(from: 0, to: 24, by: cellsPerHour >= 2 ? 2 : 3) {
                let label = Array(hour < 10 ? "0\(hour)" : "\(hour)")
                let at = hour * cellsPerHour
                if at + 1 < cellsPerDay { (header[at], header[at + 1]) = (label[0], label[1]) }
            }
            out += String(repeating: " ", count: 16) + String(header) + "\n"
        }
        for row in rows {
            let (y, m, d) = CivilDate.civilFromDays(Int(row.day))
            let weekday = Weekday(rawValue: CivilDate.weekday(ofDays: Int(row.day)))!.shortName
            out += "\(weekday) \(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)  " + String(row.cells) + "\n"
        }
        out += "\n"
        for (c, text) in legend { out += "  \(c)  \(text)\n" }
        out += "  one character per \(formatDuration(milliseconds: step)), local time \(policy.policy.timeZone)\n"
        return out
    }
}
