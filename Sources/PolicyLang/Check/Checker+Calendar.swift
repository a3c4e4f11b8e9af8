/// Monthly and dated windows: the day and date forms are checked against the calendar (`Feb 30`, `5th Tue`, a range
/// that ends before it starts) and turned into a ``WindowSchedule``.
extension Checker {
    mutating func calendarSchedule(_ window: WindowDecl, zone: String) -> WindowSchedule? {
        switch window.days {
        case .monthlyWeekday(let ordinal, let range):
            guard let from = range.from.day else { return nil }
            let to = range.to.map(\.day)
            if let to, to == nil { return nil }
            if ordinal.value == 0 || ordinal.value > 4 {
                report(.invalidOrdinal(ordinal.span.union(range.from.word.span), ordinal.value, from.shortName))
                return nil
            }
            let count = to.flatMap { $0 }.map { ($0.rawValue - from.rawValue + 7) % 7 + 1 } ?? 1
            guard let times = dayTimes(window, endDayAllowed: range.to == nil) else { return nil }
            return .monthly(.weekday(ordinal: ordinal.value, weekday: from, count: count), times)
        case .monthDays(let literal):
            let days: MonthDays
            switch literal {
            case .range(let from, let to, _):
                for n in [from] + (to.map { [$0] } ?? []) where n.value < 1 || n.value > 31 {
                    report(.invalidDayOfMonth(n.span, n.value))
                    return nil
                }
                if let to, to.value < from.value {
                    report(.backwardsDates(from.span.union(to.span), "day \(to.value) comes before day \(from.value)"))
                    return nil
                }
                days = .days(from: Int(from.value), to: Int(to?.value ?? from.value))
            case .last(let count, _):
                if let count, count.value < 1 || count.value > 28 {
                    report(.invalidValue(count.span, "`last \(count.value) days` is not a part of every month", label: "between 1 and 28 days", help: "every month has at least 28 days; `day 1 .. 31` is the whole month"))
                    return nil
                }
                days = .last(count: Int(count?.value ?? 1))
            }
            guard let times = dayTimes(window, endDayAllowed: false) else { return nil }
            return .monthly(days, times)
        case .dated(let dated):
            return datedRange(dated, zone: zone).map(WindowSchedule.dated)
        case .daily, .days:
            return nil
        }
    }

    /// The times of a day-based window: whole days, `START .. END` each day, or `START .. DAY END` for one start day.
    private mutating func dayTimes(_ window: WindowDecl, endDayAllowed: Bool) -> DayTimes? {
        guard let start = window.start, let end = window.end else { return .wholeDay }
        if start.minutes == 1440 {
            report(.invalidValue(start.span, "a window cannot start at 24:00", label: "start at 00:00 of the next day instead"))
            return nil
        }
        if let endDayRef = window.endDay {
            guard let endDay = endDayRef.day else { return nil }
            guard endDayAllowed else {
                report(
                    .windowTimesDoNotFit(
                        window.days.span.union(endDayRef.word.span), "an end day needs a single weekday to start from", label: "no single start weekday",
                        help: "write the times alone (`22:00 .. 04:00`, into the next day), or start from a weekday (`last Fri 18:00 .. Mon 08:00`)"))
                return nil
            }
            return .through(start: start.minutes, endDay: endDay, end: end.minutes)
        }
        if start.minutes == end.minutes {
            report(.emptyWindow(start.span.union(end.span), "it starts and ends at the same time"))
            return nil
        }
        return .daily(start: start.minutes, end: end.minutes)
    }

    /// `Dec 20 .. Jan 6` (every year) or `2026-12-18 .. 2027-01-04` (once): whole days both ends included, or from
    /// the start time to the end time.
    private mutating func datedRange(_ dated: DatedLiteral, zone: String) -> DatedRange? {
        guard validDate(dated.from), dated.to.map({ validDate($0) }) ?? true else { return nil }
        let to = dated.to ?? dated.from
        if (dated.from.year == nil) != (to.year == nil) {
            report(
                .windowTimesDoNotFit(
                    dated.from.span.union(to.span), "one end of the window has a year and the other has none", label: "every year, or once?",
                    help: "write both dates with a year for a window once (`2026-12-18 .. 2027-01-04`), or neither for every year (`Dec 20 .. Jan 6`)"))
            return nil
        }
        let startMinute: Int
        let endMinute: Int
        switch (dated.fromTime, dated.toTime) {
        case (nil, nil):
            // Whole days, both ends included.
            (startMinute, endMinute) = (0, 1440)
        case (let s?, let e?):
            if s.minutes == 1440 {
                report(.invalidValue(s.span, "a window cannot start at 24:00", label: "start at 00:00 of the next day instead"))
                return nil
            }
            (startMinute, endMinute) = (s.minutes, e.minutes)
        case (_?, nil):
            report(
                .windowTimesDoNotFit(
                    dated.span, dated.to == nil ? "a start time needs an end time" : "the start has a time and the end has none",
                    label: "give both ends a time, or neither", help: "`Dec 20 18:00 .. Jan 6 08:00`, or whole days: `Dec 20 .. Jan 6`"))
            return nil
        case (nil, _?):
            report(
                .windowTimesDoNotFit(
                    dated.span, "the end has a time and the start has none", label: "give both ends a time, or neither",
                    help: "`Dec 20 18:00 .. Jan 6 08:00`, or whole days: `Dec 20 .. Jan 6`"))
            return nil
        }
        // `Dec 24 22:00 .. 04:00` (one date, the end time not after the start): into the next day.
        let overnight = dated.to == nil && dated.fromTime != nil && endMinute <= startMinute
        let start = CalendarPoint(year: dated.from.year, month: dated.from.month, day: Int(dated.from.day), minute: startMinute)
        let end = CalendarPoint(year: to.year, month: to.month, day: Int(to.day), minute: endMinute + (overnight ? 1440 : 0))
        if let sy = start.year, let ey = end.year {
            let s = start.localMinute(in: sy)
            let e = end.localMinute(in: ey)
            if e == s {
                report(.emptyWindow(dated.span, "it starts and ends at the same moment"))
                return nil
            }
            if e < s {
                report(.backwardsDates(dated.span, "\(text(of: to)) comes before \(text(of: dated.from))"))
                return nil
            }
            if let skipped = Zone(identifier: zone).flatMap({ Self.skippedHours(s, e, in: $0) }) {
                report(.windowInClockGap(dated.span, skipped.0, zone: zone, skipped.1))
                return nil
            }
            if let now, let zone = Zone(identifier: zone), e <= zone.localMinute(at: now) {
                let (y, m, d) = CivilDate.civilFromDays((e - 1) / 1440)
                report(.windowInThePast(dated.span, ended: "on \(y)-\(pad(m, 2))-\(pad(d, 2))"))
            }
        } else if (end.month, end.day, end.minute) == (start.month, start.day, start.minute) {
            report(.emptyWindow(dated.span, "it starts and ends at the same moment"))
            return nil
        }
        return DatedRange(start: start, end: end)
    }

    /// The wall-clock stretch that a daylight-saving change skips and that holds all of the local minutes
    /// `start ..< end` (so a one-off window there is never open): the gap's start and end as `02:00` and `03:00`,
    /// with their dates when the change skips a day or more (`2011-12-30 00:00`: a zone that moved across the date
    /// line).
    static func skippedHours(_ start: Int, _ end: Int, in zone: Zone) -> (String, String)? {
        guard !zone.isFixed else { return nil }
        // Local minutes are within a day of UTC: look for transitions from a day before to a day after.
        for t in zone.transitions(from: Int64(start - 1440) * 60_000, to: Int64(end + 1440) * 60_000) {
            let before = zone.offsetSeconds(at: t - 1) / 60
            let after = zone.offsetSeconds(at: t) / 60
            guard after > before else { continue }
            let utcMinute = Int(t / 60_000)
            let (gapStart, gapEnd) = (utcMinute + before, utcMinute + after)
            if start >= gapStart, end <= gapEnd {
                let long = gapEnd - gapStart >= 1440
                func clock(_ m: Int) -> String {
                    let (days, r) = m.quotientAndRemainderFloor(dividingBy: 1440)
                    let (y, mo, d) = CivilDate.civilFromDays(days)
                    return (long ? "\(y)-\(pad(mo, 2))-\(pad(d, 2)) " : "") + pad(r / 60, 2) + ":" + pad(r % 60, 2)
                }
                return (clock(gapStart), clock(gapEnd))
            }
        }
        return nil
    }

    /// Reports a date that no month has: `Feb 30`, `Apr 31`, `2027-02-29`.
    private mutating func validDate(_ date: DateLiteral) -> Bool {
        let name = MonthName.shortNames[date.month - 1]
        let days = date.year.map { CivilDate.daysInMonth(year: $0, month: date.month) } ?? (date.month == 2 ? 29 : CivilDate.daysInMonth(year: 2001, month: date.month))
        guard date.day < 1 || date.day > Int64(days) else { return true }
        let shown = date.year.map { "\(name) \(date.day), \($0)" } ?? "\(name) \(date.day)"
        report(.invalidDate(date.span, shown, days: days, month: date.year.map { "\(name) \($0)" } ?? name))
        return false
    }

    private func text(of date: DateLiteral) -> String {
        if let y = date.year { return "\(y)-\(pad(date.month, 2))-\(pad(Int(date.day), 2))" }
        return "\(MonthName.shortNames[date.month - 1]) \(date.day)"
    }
}
