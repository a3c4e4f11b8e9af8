import PolicyLang
import Testing

/// The dated and monthly window forms as the checker reads them: what each means, the located diagnostics of the
/// ones no calendar has, the warning that needs `now`, and the formatter's text.
@Suite struct CalendarWindowCheckTests {
    static let head = "policy \"p\" {}\ndetector \"apt\" debian\n"

    func check(_ window: String, now: Int64? = nil) -> CheckResult {
        Checker.check(SourceFile(path: "w.rcl", text: Self.head + window + "\n"), now: now)
    }

    /// The one diagnostic of a window line: its code, the text it underlines and its message.
    func diagnostic(_ window: String, now: Int64? = nil) -> (code: String, subject: String, message: String)? {
        let result = check(window, now: now)
        guard result.diagnostics.count == 1, let d = result.diagnostics.first else { return nil }
        return (d.code.rawValue, result.tree.file.text(d.span), d.message)
    }

    @Test(arguments: [
        ("timezone \"Europe/Berlin\"\nwindow allow \"m\" 2027-03-28 02:10 .. 2027-03-28 02:50",
         "window covers no time: in Europe/Berlin the clocks go from 02:00 to 03:00 that night"),
        ("timezone \"America/New_York\"\nwindow allow \"m\" 2027-03-14 02:00 .. 2027-03-14 03:00",
         "window covers no time: in America/New_York the clocks go from 02:00 to 03:00 that night"),
        // Samoa moved across the date line: 2011-12-30 never happened there.
        ("timezone \"Pacific/Apia\"\nwindow allow \"m\" 2011-12-30 10:00 .. 2011-12-30 12:00",
         "window covers no time: in Pacific/Apia the clocks go from 2011-12-30 00:00 to 2011-12-31 00:00"),
    ])
    func aOneOffWindowInTimeTheClockSkipsIsRefused(_ window: String, _ message: String) {
        let found = check(window).diagnostics.filter { $0.code == .emptyWindow }
        #expect(found.map(\.message) == [message])
    }

    @Test(arguments: [
        "timezone \"Europe/Berlin\"\nwindow allow \"m\" 2027-03-28 01:30 .. 2027-03-28 02:30",
        "timezone \"Europe/Berlin\"\nwindow allow \"m\" 2027-10-31 02:10 .. 2027-10-31 02:50",
        "window allow \"m\" 2027-03-28 02:10 .. 2027-03-28 02:50",
    ])
    func aOneOffWindowPartlyOutsideTheSkippedTimeIsAccepted(_ window: String) {
        #expect(check(window).diagnostics.filter { $0.severity == .error }.isEmpty)
    }

    @Test(arguments: [
        ("Dec 20 .. Jan 6", WindowSchedule.dated(DatedRange(start: .init(year: nil, month: 12, day: 20, minute: 0), end: .init(year: nil, month: 1, day: 6, minute: 1440)))),
        ("Dec 24", .dated(DatedRange(start: .init(year: nil, month: 12, day: 24, minute: 0), end: .init(year: nil, month: 12, day: 24, minute: 1440)))),
        ("december 24 08:00 .. 18:00", .dated(DatedRange(start: .init(year: nil, month: 12, day: 24, minute: 480), end: .init(year: nil, month: 12, day: 24, minute: 1080)))),
        ("Dec 31 22:00 .. 02:00", .dated(DatedRange(start: .init(year: nil, month: 12, day: 31, minute: 1320), end: .init(year: nil, month: 12, day: 31, minute: 1440 + 120)))),
        ("2026-12-18..2027-01-04", .dated(DatedRange(start: .init(year: 2026, month: 12, day: 18, minute: 0), end: .init(year: 2027, month: 1, day: 4, minute: 1440)))),
        ("2026-12-18 18:00 .. 2027-01-04 08:00", .dated(DatedRange(start: .init(year: 2026, month: 12, day: 18, minute: 1080), end: .init(year: 2027, month: 1, day: 4, minute: 480)))),
        ("1st Mon..Wed", .monthly(.weekday(ordinal: 1, weekday: .monday, count: 3), .wholeDay)),
        ("last Fri", .monthly(.weekday(ordinal: -1, weekday: .friday, count: 1), .wholeDay)),
        ("3rd Sat..Tue 01:00 .. 03:00", .monthly(.weekday(ordinal: 3, weekday: .saturday, count: 4), .daily(start: 60, end: 180))),
        ("day 15", .monthly(.days(from: 15, to: 15), .wholeDay)),
        ("day 1 22:00 .. 04:00", .monthly(.days(from: 1, to: 1), .daily(start: 1320, end: 240))),
        ("last day", .monthly(.last(count: 1), .wholeDay)),
        ("last 1 day", .monthly(.last(count: 1), .wholeDay)),
    ])
    func formsMean(_ text: String, _ expected: WindowSchedule) {
        let result = check("window deny \"w\" \(text)")
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.message))")
        #expect(result.policy?.windows.first?.schedule == expected)
        #expect(result.policy?.windows.first?.text == text)
    }

    @Test(arguments: [
        ("window deny \"w\" Feb 30", "RC2020", "Feb 30", "there is no Feb 30"),
        ("window deny \"w\" Apr 31 .. May 2", "RC2020", "Apr 31", "there is no Apr 31"),
        ("window deny \"w\" 2027-02-29", "RC2020", "2027-02-29", "there is no Feb 29, 2027"),
        ("window deny \"w\" Jan 3 .. Feb 30", "RC2020", "Feb 30", "there is no Feb 30"),
        ("window deny \"w\" day 32", "RC2020", "32", "there is no day 32 in any month"),
        ("window deny \"w\" day 0 .. 3", "RC2020", "0", "there is no day 0 in any month"),
        ("window allow \"w\" 5th Tue 22:00 .. 04:00", "RC2021", "5th Tue", "not every month has a 5th Tue"),
        ("window allow \"w\" 6th Fri", "RC2021", "6th Fri", "no month has a 6th Fri"),
        ("window deny \"w\" 2027-01-04 .. 2026-12-18", "RC2022", "2027-01-04 .. 2026-12-18", "the window ends before it starts"),
        ("window deny \"w\" 2026-12-18 10:00 .. 2026-12-18 09:00", "RC2022", "2026-12-18 10:00 .. 2026-12-18 09:00", "the window ends before it starts"),
        ("window deny \"w\" day 31 .. 28", "RC2022", "31 .. 28", "the window ends before it starts"),
        ("window deny \"w\" Dec 20 18:00 .. Jan 6", "RC2023", "Dec 20 18:00 .. Jan 6", "the start has a time and the end has none"),
        ("window deny \"w\" Dec 20 .. Jan 6 08:00", "RC2023", "Dec 20 .. Jan 6 08:00", "the end has a time and the start has none"),
        ("window deny \"w\" Dec 24 08:00", "RC2023", "Dec 24 08:00", "a start time needs an end time"),
        ("window deny \"w\" Dec 20 .. 2027-01-06", "RC2023", "Dec 20 .. 2027-01-06", "one end of the window has a year and the other has none"),
        ("window deny \"w\" day 1 18:00 .. Mon 08:00", "RC2023", "day 1 18:00 .. Mon", "an end day needs a single weekday to start from"),
        ("window deny \"w\" 2026-12-18 08:00 .. 2026-12-18 08:00", "RC2008", "2026-12-18 08:00 .. 2026-12-18 08:00", "window covers no time"),
        ("window deny \"w\" 2nd Tue 22:00 .. 22:00", "RC2008", "22:00 .. 22:00", "window covers no time"),
        ("window deny \"w\" last 29 days", "RC2015", "29", "`last 29 days` is not a part of every month"),
        ("window deny \"w\" Dec Fri", "RC1010", "Fri", "expected a day of the month, as in `Dec 6`"),
    ])
    func refusedWithALocatedDiagnostic(_ window: String, _ code: String, _ subject: String, _ message: String) {
        let d = diagnostic(window)
        #expect(d?.code == code, "\(check(window).diagnostics.map { "\($0.code.rawValue) \($0.message)" })")
        #expect(d?.subject == subject)
        #expect(d?.message.hasPrefix(message) == true, "\(d?.message ?? "no single diagnostic")")
    }

    @Test func aOneOffWindowInThePastIsAWarningOnlyWhenNowIsKnown() {
        let window = "window deny \"w\" 2026-12-18 .. 2027-01-04 in \"America/New_York\""
        let end = Instant.parse("2027-01-05T00:00:00-05:00")
        guard case .success(let over) = end else { Issue.record("bad instant"); return }
        #expect(check(window).diagnostics.isEmpty)  // no now: nothing depends on the date
        #expect(check(window, now: over.epochMilliseconds - 60_000).diagnostics.isEmpty)  // its last minute
        let d = diagnostic(window, now: over.epochMilliseconds)
        #expect(d?.code == "RC3050" && d?.subject == "2026-12-18 .. 2027-01-04")
        #expect(d?.message == "this one-off window ended on 2027-01-04")
        let result = check(window, now: over.epochMilliseconds)
        #expect(result.diagnostics.first?.severity == .warning && result.policy != nil)
        // A yearly window comes back: never in the past.
        #expect(check("window deny \"w\" Dec 20 .. Jan 6", now: over.epochMilliseconds).diagnostics.isEmpty)
    }

    @Test func ordinalsAndDatesAreTokensOnlyWhereTheyFit() {
        // An ordinal or a date in an expression is a located parse error, never a crash.
        let rule = Checker.check(SourceFile(path: "r.rcl", text: Self.head + "rule \"r\" { deny when cluster.size < 2nd }\n"))
        #expect(rule.diagnostics.first?.code == .unexpectedToken)
        let date = Checker.check(SourceFile(path: "r.rcl", text: Self.head + "rule \"r\" { deny when now < 2026-12-18 }\n"))
        #expect(date.diagnostics.first?.code == .unexpectedToken)
        #expect(rule.tree.file.text(rule.diagnostics.first!.span) == "2nd")
    }

    @Test func theFormatterWritesTheFormsCanonically() {
        let input = Self.head + """
            window deny "a"   december  20 ..  Jan 6
            window deny "b" 2026-12-18..2027-01-04
            window allow "c"  2nd   Tue 22:00 ..  04:00
            window deny "d" last   3 days
            window deny "e" day 28..31 in "Europe/Berlin"
            window deny "f" last fri..mon

            """
        let out = Formatter.format(Parser.parse(SourceFile(path: "f.rcl", text: input)))
        #expect(out.contains("window deny \"a\" Dec 20 .. Jan 6\n"))
        #expect(out.contains("window deny \"b\" 2026-12-18 .. 2027-01-04\n"))
        #expect(out.contains("window allow \"c\" 2nd Tue 22:00 .. 04:00\n"))
        #expect(out.contains("window deny \"d\" last 3 days\n"))
        #expect(out.contains("window deny \"e\" day 28 .. 31 in \"Europe/Berlin\"\n"))
        #expect(out.contains("window deny \"f\" last Fri..Mon\n"))
        #expect(Formatter.format(Parser.parse(SourceFile(path: "f.rcl", text: out))) == out)
        #expect(!Checker.check(SourceFile(path: "f.rcl", text: out)).hasErrors)
    }

    @Test func theLintersQuestionOverTheCalendar() throws {
        // "Is any instant eligible in the next N days?" for the "never eligible" lint.
        let result = check("timezone \"Europe/Berlin\"\nwindow allow \"w\" Dec 24 10:00 .. 12:00\nwindow deny \"x\" 2026-12-01 .. 2026-12-31")
        let policy = try #require(result.policy)
        let calendar = WindowCalendar(policy.windows)
        let dec1: Int64 = 1_796_083_200_000
        #expect(calendar.firstEligible(from: dec1, withinDays: 30) == nil)  // the one opening this year is denied
        let next = calendar.firstEligible(from: dec1, withinDays: 400)
        #expect(next.map { Zone(identifier: "Europe/Berlin")!.rfc3339($0) } == "2027-12-24T10:00:00+01:00")
    }
}
