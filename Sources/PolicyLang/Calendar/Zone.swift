import class Foundation.NSLock
import struct Foundation.Date
import struct Foundation.TimeZone

/// Wall-clock arithmetic in one IANA time zone. Foundation supplies the zone's rules once: the offsets and
/// daylight-saving transitions from 1970 to 2200 are read into a table shared by every `Zone` of that identifier
/// (a zone with a fixed offset has none), and everything else is integer arithmetic on milliseconds.
public struct Zone: Sendable {
    /// The IANA identifier.
    public let identifier: String
    private let rules: Rules

    /// The offsets of a zone, from its transitions.
    final class Rules: Sendable {
        /// Offset in seconds before the first transition.
        let initialOffset: Int
        /// Instants (ms) at which the offset changes, ascending.
        let transitions: [Int64]
        /// `offsets[i]`: the offset from `transitions[i]` on.
        let offsets: [Int]
        /// Instants at and after this one ask Foundation (past the table).
        let tableEnd: Int64
        let timeZone: TimeZone

        init(_ timeZone: TimeZone) {
            self.timeZone = timeZone
            let start = Date(timeIntervalSince1970: 0)
            tableEnd = Int64(CivilDate.daysFromCivil(year: 2200, month: 1, day: 1)) * 86_400_000
            initialOffset = timeZone.secondsFromGMT(for: start)
            var transitions: [Int64] = []
            var offsets: [Int] = []
            var cursor = start
            while let next = timeZone.nextDaylightSavingTimeTransition(after: cursor) {
                let ms = Int64((next.timeIntervalSince1970 * 1000).rounded())
                if ms >= tableEnd { break }
                transitions.append(ms)
                offsets.append(timeZone.secondsFromGMT(for: next))
                cursor = next
            }
            self.transitions = transitions
            self.offsets = offsets
        }

        func offset(at ms: Int64) -> Int {
            guard ms >= 0, ms < tableEnd else {
                return timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms) / 1000))
            }
            // The last transition at or before `ms`.
            var low = 0
            var high = transitions.count
            while low < high {
                let mid = (low + high) / 2
                if transitions[mid] <= ms { low = mid + 1 } else { high = mid }
            }
            return low == 0 ? initialOffset : offsets[low - 1]
        }

        func nextTransition(after ms: Int64) -> Int64? {
            guard ms >= 0, ms < tableEnd else {
                guard let next = timeZone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: Double(ms) / 1000)) else { return nil }
                return Int64((next.timeIntervalSince1970 * 1000).rounded())
            }
            var low = 0
            var high = transitions.count
            while low < high {
                let mid = (low + high) / 2
                if transitions[mid] <= ms { low = mid + 1 } else { high = mid }
            }
            return low < transitions.count ? transitions[low] : nil
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var shared: [String: Rules] = [:]

    /// The zone, or `nil` for an identifier Foundation does not know. Its rules are read once per process.
    public init?(identifier: String) {
        Zone.lock.lock()
        defer { Zone.lock.unlock() }
        if let rules = Zone.shared[identifier] {
            self.identifier = identifier
            self.rules = rules
            return
        }
        guard let tz = TimeZone(identifier: identifier) else { return nil }
        let rules = Rules(tz)
        Zone.shared[identifier] = rules
        self.identifier = identifier
        self.rules = rules
    }

    /// UTC.
    public static let utc = Zone(identifier: "UTC")!

    /// The zone's table, as values: offsets in seconds, the instants (ms) at which they change, and the end of the
    /// table (past it, ask the zone). For callers that look offsets up in a loop without touching the shared rules.
    var table: (initialOffset: Int, transitions: [Int64], offsets: [Int], end: Int64) {
        (rules.initialOffset, rules.transitions, rules.offsets, rules.tableEnd)
    }

    /// Whether the zone's offset never changes (UTC, `Etc/GMT+5`): then local time is a shift of UTC.
    public var isFixed: Bool { rules.transitions.isEmpty }

    /// The UTC offset in seconds at an instant.
    public func offsetSeconds(at epochMilliseconds: Int64) -> Int {
        rules.transitions.isEmpty ? rules.initialOffset : rules.offset(at: epochMilliseconds)
    }

    /// The first instant after `epochMilliseconds` at which the offset changes, if any.
    public func nextTransition(after epochMilliseconds: Int64) -> Int64? {
        rules.transitions.isEmpty ? nil : rules.nextTransition(after: epochMilliseconds)
    }

    /// The local minute (minutes since 1970-01-01 00:00 on this zone's wall clock) at an instant.
    public func localMinute(at epochMilliseconds: Int64) -> Int {
        let local = epochMilliseconds + Int64(offsetSeconds(at: epochMilliseconds)) * 1000
        return Int(local.quotientAndRemainderFloor(dividingBy: 60_000).0)
    }

    /// The local minute of the week (Monday 00:00 = 0) at an instant.
    public func minuteOfWeek(at epochMilliseconds: Int64) -> Int {
        let (days, minute) = localMinute(at: epochMilliseconds).quotientAndRemainderFloor(dividingBy: 1440)
        return CivilDate.weekday(ofDays: days) * 1440 + minute
    }

    /// The instants in `from ..< to` at which the zone's UTC offset changes.
    public func transitions(from: Int64, to: Int64) -> [Int64] {
        var result: [Int64] = []
        var cursor = from - 1
        while let next = nextTransition(after: cursor), next < to {
            result.append(next)
            cursor = next
        }
        return result
    }

    /// `Mon 2026-11-23 08:00 +01:00`: the local time, as operators read it.
    public func format(_ epochMilliseconds: Int64, withDate: Bool = true) -> String {
        let offset = offsetSeconds(at: epochMilliseconds)
        let local = epochMilliseconds + Int64(offset) * 1000
        let (days, ms) = (local).quotientAndRemainderFloor(dividingBy: 86_400_000)
        let (y, m, d) = CivilDate.civilFromDays(Int(days))
        let weekday = Weekday(rawValue: CivilDate.weekday(ofDays: Int(days)))!.shortName
        let minutes = Int(ms / 60_000)
        let time = "\(two(minutes / 60)):\(two(minutes % 60))"
        let sign = offset < 0 ? "-" : "+"
        let zone = offset == 0 ? "UTC" : "\(sign)\(two(abs(offset) / 3600)):\(two(abs(offset) / 60 % 60))"
        return withDate ? "\(weekday) \(y)-\(two(m))-\(two(d)) \(time) \(zone)" : "\(weekday) \(time) \(zone)"
    }

    /// The instant shown in RFC 3339 with the zone's offset at that instant.
    public func rfc3339(_ epochMilliseconds: Int64) -> String {
        Instant(epochMilliseconds: epochMilliseconds, utcOffsetSeconds: offsetSeconds(at: epochMilliseconds)).description
    }
}

private func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
