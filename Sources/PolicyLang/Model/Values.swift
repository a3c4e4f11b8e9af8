/// An instant on the time line, with the UTC offset it was written with (kept for display only).
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var epochMilliseconds: Int64
    /// The UTC offset of the written form, in seconds; does not take part in equality.
    public var utcOffsetSeconds: Int

    /// Creates an instant.
    public init(epochMilliseconds: Int64, utcOffsetSeconds: Int = 0) {
        self.epochMilliseconds = epochMilliseconds
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    public static func == (lhs: Instant, rhs: Instant) -> Bool { lhs.epochMilliseconds == rhs.epochMilliseconds }
    public func hash(into hasher: inout Hasher) { hasher.combine(epochMilliseconds) }
    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.epochMilliseconds < rhs.epochMilliseconds }

    /// Parses an RFC 3339 instant such as `2026-11-21T10:00:00+01:00` or `2026-11-21T09:00:00.250Z`.
    /// Returns `nil` and a reason when the text is not one.
    public static func parse(_ text: String) -> Result<Instant, InstantParseError> {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var value = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48, c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            i += n
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2) else {
            return .failure(.shape)
        }
        guard i < b.count, b[i] == 84 || b[i] == 116 || b[i] == 32 else { return .failure(.shape) }
        i += 1
        guard let hour = digits(2), expect(58), let minute = digits(2), expect(58), let second = digits(2) else {
            return .failure(.shape)
        }
        var millis = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 100
            var count = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                millis += Int(b[i] - 48) * scale
                scale /= 10
                count += 1
                i += 1
            }
            if count == 0 { return .failure(.shape) }
        }
        var offset = 0
        guard i < b.count else { return .failure(.missingOffset) }
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            let sign = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = digits(2), expect(58), let om = digits(2), oh <= 23, om <= 59 else { return .failure(.shape) }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return .failure(.missingOffset)
        }
        guard i == b.count else { return .failure(.shape) }
        guard (1...12).contains(month) else { return .failure(.range("month \(month)")) }
        guard day >= 1, day <= CivilDate.daysInMonth(year: year, month: month) else {
            return .failure(.range("day \(day) of \(year)-\(month < 10 ? "0" : "")\(month)"))
        }
        guard hour <= 23 else { return .failure(.range("hour \(hour)")) }
        guard minute <= 59 else { return .failure(.range("minute \(minute)")) }
        guard second <= 60 else { return .failure(.range("second \(second)")) }
        let days = CivilDate.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offset)
        return .success(Instant(epochMilliseconds: seconds * 1000 + Int64(millis), utcOffsetSeconds: offset))
    }

    /// RFC 3339 text in the instant's own UTC offset.
    public var description: String { rfc3339(offsetSeconds: utcOffsetSeconds) }

    /// RFC 3339 text shown at the given UTC offset.
    public func rfc3339(offsetSeconds: Int) -> String {
        let local = epochMilliseconds + Int64(offsetSeconds) * 1000
        let (daysPart, msOfDay) = local.quotientAndRemainderFloor(dividingBy: 86_400_000)
        let (y, m, d) = CivilDate.civilFromDays(Int(daysPart))
        let secondsOfDay = Int(msOfDay / 1000)
        let ms = Int(msOfDay % 1000)
        var text = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondsOfDay / 3600, 2)):\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2))"
        if ms != 0 { text += ".\(pad(ms, 3))" }
        if offsetSeconds == 0 {
            text += "Z"
        } else {
            let a = abs(offsetSeconds)
            text += "\(offsetSeconds < 0 ? "-" : "+")\(pad(a / 3600, 2)):\(pad(a / 60 % 60, 2))"
        }
        return text
    }
}

/// Why a piece of text is not an RFC 3339 instant.
public enum InstantParseError: Error, Sendable, Equatable {
    case shape
    case missingOffset
    case range(String)

    /// A human-readable reason.
    public var reason: String {
        switch self {
        case .shape: "expected an RFC 3339 instant such as 2026-11-21T10:00:00+01:00"
        case .missingOffset: "an instant needs a UTC offset (`Z` or `+01:00`)"
        case .range(let what): "\(what) is out of range"
        }
    }
}

func pad(_ value: Int, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

extension BinaryInteger {
    /// Division rounding towards negative infinity, with a non-negative remainder.
    @inlinable
    public func quotientAndRemainderFloor(dividingBy d: Self) -> (quotient: Self, remainder: Self) {
        var q = self / d
        var r = self % d
        if r < 0 {
            q -= 1
            r += d
        }
        return (q, r)
    }
}

/// Proleptic Gregorian calendar arithmetic without Foundation (H. Hinnant's algorithms).
public enum CivilDate {
    /// Days since 1970-01-01 for a civil date.
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day count since 1970-01-01.
    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Days in a month of the Gregorian calendar.
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// ISO weekday (Monday = 0 … Sunday = 6) of a day count since 1970-01-01 (a Thursday).
    public static func weekday(ofDays days: Int) -> Int {
        ((days % 7) + 7 + 3) % 7
    }
}

/// Formats a duration in milliseconds the way the language writes it (`1h30m`, `500ms`).
public func formatDuration(milliseconds: Int64) -> String {
    if milliseconds == 0 { return "0s" }
    var rest = milliseconds.magnitude
    var text = milliseconds < 0 ? "-" : ""
    let units: [(String, UInt64)] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)]
    for (name, size) in units where rest >= size {
        text += "\(rest / size)\(name)"
        rest %= size
    }
    return text
}

/// A weekday, Monday first as in ISO 8601.
public enum Weekday: Int, Sendable, CaseIterable, Hashable, Comparable {
    case monday = 0, tuesday, wednesday, thursday, friday, saturday, sunday

    /// The three-letter name used in policies (`Mon` … `Sun`).
    public var shortName: String {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][rawValue]
    }

    /// Parses `Mon` … `Sun` (also full English names, any case).
    public init?(name: String) {
        let lower = name.lowercased()
        let shorts = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        let longs = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        if let i = shorts.firstIndex(of: lower) ?? longs.firstIndex(of: lower) {
            self.init(rawValue: i)
        } else {
            return nil
        }
    }

    public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// 1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, 21st.
public func ordinal(_ n: Int) -> String {
    let suffix = (11...13).contains(n % 100) ? "th" : [1: "st", 2: "nd", 3: "rd"][n % 10] ?? "th"
    return "\(n)\(suffix)"
}
