import struct Foundation.Date
import struct Foundation.TimeZone
import PolicyLang

/// Wall-clock arithmetic in one IANA time zone. Foundation supplies the zone's rules (offsets and daylight-saving
/// transitions); everything else is integer arithmetic on milliseconds.
struct Zone: Sendable {
    let identifier: String
    private let timeZone: TimeZone

    init?(identifier: String) {
        guard let tz = TimeZone(identifier: identifier) else { return nil }
        self.identifier = identifier
        self.timeZone = tz
    }

    static let utc = Zone(identifier: "UTC")!

    /// The UTC offset in seconds at an instant.
    func offsetSeconds(at epochMilliseconds: Int64) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(epochMilliseconds) / 1000))
    }

    /// The local minute of the week (Monday 00:00 = 0) at an instant.
    func minuteOfWeek(at epochMilliseconds: Int64) -> Int {
        let local = epochMilliseconds + Int64(offsetSeconds(at: epochMilliseconds)) * 1000
        let (days, ms) = (local).quotientAndRemainderFloor(dividingBy: 86_400_000)
        return CivilDate.weekday(ofDays: Int(days)) * 1440 + Int(ms / 60_000)
    }

    /// The instants in `from ..< to` at which the zone's UTC offset changes.
    func transitions(from: Int64, to: Int64) -> [Int64] {
        var result: [Int64] = []
        var cursor = Date(timeIntervalSince1970: Double(from) / 1000 - 0.001)
        while let next = timeZone.nextDaylightSavingTimeTransition(after: cursor) {
            let ms = Int64((next.timeIntervalSince1970 * 1000).rounded())
            if ms >= to || result.count > 64 { break }
            if ms >= from { result.append(ms) }
            cursor = next
        }
        return result
    }

    /// Every instant in `from ..< to` whose local wall-clock minute of the week is `minute`: usually one per week,
    /// none when a daylight-saving change skips it, two when one repeats it.
    func instants(ofMinuteOfWeek minute: Int, from: Int64, to: Int64) -> [Int64] {
        var offsets = Set([offsetSeconds(at: from), offsetSeconds(at: to)])
        for t in transitions(from: from, to: to) { offsets.insert(offsetSeconds(at: t)) }
        let week: Int64 = 7 * 86_400_000
        // Local Monday 00:00 of the week holding `from` (with the smallest offset, to start early enough).
        let earliestLocal = from + Int64(offsets.min() ?? 0) * 1000
        let (days, _) = (earliestLocal).quotientAndRemainderFloor(dividingBy: 86_400_000)
        let monday = (days - Int64(CivilDate.weekday(ofDays: Int(days)))) * 86_400_000
        var result: [Int64] = []
        var weekStart = monday - week
        while weekStart + Int64(minute) * 60_000 - Int64(offsets.max() ?? 0) * 1000 < to {
            let local = weekStart + Int64(minute) * 60_000
            for offset in offsets {
                let instant = local - Int64(offset) * 1000
                if instant >= from, instant < to, offsetSeconds(at: instant) == offset { result.append(instant) }
            }
            weekStart += week
        }
        return result
    }

    /// `Mon 2026-11-23 08:00 +01:00`: the local time, as operators read it.
    func format(_ epochMilliseconds: Int64, withDate: Bool = true) -> String {
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
    func rfc3339(_ epochMilliseconds: Int64) -> String {
        Instant(epochMilliseconds: epochMilliseconds, utcOffsetSeconds: offsetSeconds(at: epochMilliseconds)).description
    }
}

private func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
