/// When a window is open, in local wall-clock terms of its time zone. The checker builds it; the window calendar
/// (``WindowCalendar``) turns it into instants.
///
/// Local times are counted in *local minutes*: minutes since 1970-01-01 00:00 on the zone's wall clock, so a day
/// `D` (days since 1970-01-01) runs from `D * 1440` to `D * 1440 + 1440`.
public enum WindowSchedule: Sendable, Hashable {
    /// Stretches of every week (`Fri 18:00 .. Mon 08:00`, `Tue..Thu 22:00 .. 04:00`, `daily 02:00 .. 03:00`).
    case weekly([WeeklyInterval])
    /// Days picked from every month, each open as `times` says (`2nd Tue 22:00 .. 04:00`, `last 3 days`).
    case monthly(MonthDays, DayTimes)
    /// One stretch of the calendar, every year (`Dec 20 .. Jan 6`) or once (`2026-12-18 .. 2027-01-04`).
    case dated(DatedRange)
}

/// The days of a month a monthly window picks.
public enum MonthDays: Sendable, Hashable {
    /// `ordinal` 1…4, or -1 for `last`; the run starts on that weekday of the month and lasts `count` days
    /// (`1st Mon..Wed` is 3 days from the first Monday; it may run into the next month).
    case weekday(ordinal: Int, weekday: Weekday, count: Int)
    /// `day 28 .. 31`: days of the month `from` through `to` (1…31), each clamped to the month's length.
    case days(from: Int, to: Int)
    /// `last 3 days`: the last `count` days of the month.
    case last(count: Int)
}

/// How long a picked day is open.
public enum DayTimes: Sendable, Hashable {
    /// The whole day.
    case wholeDay
    /// From `start` to `end` minutes of the day; into the next day when `end ≤ start`.
    case daily(start: Int, end: Int)
    /// From `start` on the picked day to `end` on the next `endDay` after it (`last Fri 18:00 .. Mon 08:00`).
    case through(start: Int, endDay: Weekday, end: Int)

    /// The most days after its start day a picked day's opening reaches into.
    var reach: Int {
        switch self {
        case .wholeDay: 0
        case .daily: 1
        case .through: 7
        }
    }

    /// The local-minute stretch opened by picked day `day` (days since 1970-01-01).
    func opening(of day: Int) -> (start: Int, end: Int) {
        switch self {
        case .wholeDay:
            return (day * 1440, day * 1440 + 1440)
        case .daily(let s, let e):
            return (day * 1440 + s, day * 1440 + (e > s ? e : e + 1440))
        case .through(let s, let endDay, let e):
            var k = (endDay.rawValue - CivilDate.weekday(ofDays: day) + 7) % 7
            if k == 0, e <= s { k = 7 }
            return (day * 1440 + s, (day + k) * 1440 + e)
        }
    }
}

/// A month and day with a time of day, and a year for a one-off window.
public struct CalendarPoint: Sendable, Hashable {
    /// `nil` in a yearly window.
    public var year: Int?
    public var month: Int
    public var day: Int
    /// Minutes from the day's start: 1440 is the end of the day, and more runs into the next day.
    public var minute: Int

    /// Creates a point.
    public init(year: Int?, month: Int, day: Int, minute: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.minute = minute
    }

    /// The local minute of this point in `year`, the day clamped to the month's length (Feb 29 is Feb 28 in a
    /// year that is not a leap year).
    public func localMinute(in year: Int) -> Int {
        let d = min(day, CivilDate.daysInMonth(year: year, month: month))
        return CivilDate.daysFromCivil(year: year, month: month, day: d) * 1440 + minute
    }

    /// Whether this point comes after `other` within a year (month, day, then minute).
    func isAfterInYear(_ other: CalendarPoint) -> Bool {
        (month, day, minute) > (other.month, other.day, other.minute)
    }
}

/// `start ..< end`: both points with a year (once) or neither (every year; an end before the start in the year is in
/// the next year).
public struct DatedRange: Sendable, Hashable {
    public var start: CalendarPoint
    public var end: CalendarPoint

    /// Creates a range.
    public init(start: CalendarPoint, end: CalendarPoint) {
        self.start = start
        self.end = end
    }

    /// Whether the range comes back every year.
    public var isYearly: Bool { start.year == nil }

    /// The local-minute stretch of the occurrence that starts in `year` (the only one for a one-off window).
    func occurrence(startingIn year: Int) -> (start: Int, end: Int) {
        if let y = start.year, let ey = end.year { return (start.localMinute(in: y), end.localMinute(in: ey)) }
        let endYear = end.isAfterInYear(start) ? year : year + 1
        return (start.localMinute(in: year), end.localMinute(in: endYear))
    }
}

extension WindowSchedule {
    /// Whether the schedule covers local minute `m`.
    public func contains(localMinute m: Int) -> Bool {
        let (day, minute) = m.quotientAndRemainderFloor(dividingBy: 1440)
        switch self {
        case .weekly(let intervals):
            let mow = CivilDate.weekday(ofDays: day) * 1440 + minute
            for interval in intervals where interval.contains(minuteOfWeek: mow) { return true }
            return false
        case .monthly(let days, let times):
            var d = day - times.reach
            while d <= day {
                if days.picks(day: d) {
                    let o = times.opening(of: d)
                    if m >= o.start, m < o.end { return true }
                }
                d += 1
            }
            return false
        case .dated(let range):
            if !range.isYearly {
                let o = range.occurrence(startingIn: 0)
                return m >= o.start && m < o.end
            }
            let year = CivilDate.civilFromDays(day).year
            for y in year - 1...year {
                let o = range.occurrence(startingIn: y)
                if m >= o.start, m < o.end { return true }
            }
            return false
        }
    }

    /// The first local minute after `m`, up to `limit`, at which the schedule opens or closes (an adjacent close and
    /// open may both count); `nil` when none comes by `limit`.
    public func nextBoundary(after m: Int, limit: Int) -> Int? {
        let day = m.quotientAndRemainderFloor(dividingBy: 1440).quotient
        switch self {
        case .weekly(let intervals):
            let weekStart = (day - CivilDate.weekday(ofDays: day)) * 1440
            var best = Int.max
            func consider(_ edge: Int) {
                var t = weekStart + edge % WeeklyInterval.week - WeeklyInterval.week
                while t <= m { t += WeeklyInterval.week }
                if t < best { best = t }
            }
            for interval in intervals {
                consider(interval.start)
                consider(interval.end)
            }
            return best <= limit ? best : nil
        case .monthly(let days, let times):
            var best: Int?
            var d = day - times.reach
            while d * 1440 <= min(limit, best ?? .max) {
                if days.picks(day: d) {
                    let o = times.opening(of: d)
                    if o.start > m { best = min(best ?? .max, o.start) } else if o.end > m { best = min(best ?? .max, o.end) }
                }
                d += 1
            }
            return best.flatMap { $0 <= limit ? $0 : nil }
        case .dated(let range):
            let year = CivilDate.civilFromDays(day).year
            var best = Int.max
            for y in range.isYearly ? year - 1...year + 1 : 0...0 {
                let o = range.occurrence(startingIn: y)
                if o.start > m, o.start < best { best = o.start }
                if o.end > m, o.end < best { best = o.end }
            }
            return best <= limit ? best : nil
        }
    }
}

extension MonthDays {
    /// Whether day `d` (days since 1970-01-01) is picked.
    func picks(day d: Int) -> Bool {
        let (y, m, dom) = CivilDate.civilFromDays(d)
        let length = CivilDate.daysInMonth(year: y, month: m)
        switch self {
        case .days(let from, let to):
            return dom >= min(from, length) && dom <= min(to, length)
        case .last(let count):
            return dom > length - count
        case .weekday(let ordinal, let weekday, let count):
            // The run starts in this month or, running over its end, in the previous one.
            let first = d - dom + 1
            for monthStart in [first, first - CivilDate.daysInMonth(year: m == 1 ? y - 1 : y, month: m == 1 ? 12 : m - 1)] {
                let start = MonthDays.anchor(monthStart: monthStart, ordinal: ordinal, weekday: weekday)
                if d >= start, d < start + count { return true }
            }
            return false
        }
    }

    /// The day of the month starting on `monthStart` that is its `ordinal`'th `weekday` (-1: the last).
    static func anchor(monthStart: Int, ordinal: Int, weekday: Weekday) -> Int {
        let firstWeekday = monthStart + (weekday.rawValue - CivilDate.weekday(ofDays: monthStart) + 7) % 7
        if ordinal > 0 { return firstWeekday + 7 * (ordinal - 1) }
        let (y, m, _) = CivilDate.civilFromDays(monthStart)
        var last = firstWeekday + 28
        if last >= monthStart + CivilDate.daysInMonth(year: y, month: m) { last -= 7 }
        return last
    }

}

/// Month names as windows write them (`Jan` … `Dec`; full English names, any case, also read).
public enum MonthName {
    /// `Jan` … `Dec`.
    public static let shortNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let longNames = [
        "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
    ]

    /// 1…12 for a month's name, `nil` otherwise.
    public static func number(_ word: String) -> Int? {
        let lower = word.lowercased()
        if let i = shortNames.firstIndex(where: { $0.lowercased() == lower }) ?? longNames.firstIndex(of: lower) { return i + 1 }
        return nil
    }
}
