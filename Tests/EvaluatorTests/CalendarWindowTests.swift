import Evaluator
import PolicyLang
import Testing

/// Dated and monthly windows with an injected `now`: every yearly, one-off, monthly-by-weekday and monthly-by-day
/// form in Europe/Berlin and America/New_York, across daylight-saving changes, year ends and Feb 29 2028.
@Suite struct CalendarWindowTests {
    func eligible(_ p: PreparedPolicy, _ t: String) -> Bool { p.calendar.isEligible(at: ms(t)) }
    func next(_ p: PreparedPolicy, _ t: String) -> Int64? { p.calendar.nextEligible(from: ms(t)) }
    func decide(_ p: PreparedPolicy, _ t: String) -> Decision {
        p.decide(Facts(now: at(t), detectors: ["apt": DetectorObservation(.fired)]))
    }

    // MARK: every year

    @Test func anAllowWindowThatIsOverIsNotCalledTheNextOne() {
        let over = windows("window allow \"migration\" 2026-11-01 22:00 .. 2026-11-02 04:00", timezone: "Europe/Berlin")
        #expect(decide(over, "2026-12-02T13:00:00+01:00").reasons.first
            == "no allow window is open at Wed 2026-12-02 13:00 +01:00 (none opens within 400 days); not eligible within 400 days")
        let both = windows("window allow \"migration\" 2026-11-01 22:00 .. 2026-11-02 04:00\nwindow allow \"night\" Sat 22:00 .. Sun 04:00", timezone: "Europe/Berlin")
        #expect(decide(both, "2026-12-02T13:00:00+01:00").reasons.first
            == "no allow window is open at Wed 2026-12-02 13:00 +01:00 (next: \"night\" Sat 22:00 .. Sun 04:00); eligible at Sat 2026-12-05 22:00 +01:00")
    }

    @Test func simulatedIntervalsChangeAtTheMinuteTheDecisionDoesWhateverTheStepAndTheStart() {
        let p = windows("window allow \"night\" daily 22:10 .. 04:50\nwindow deny \"xmas\" Dec 20 .. Jan 6", timezone: "America/New_York")
        let facts = Facts(now: at("2026-12-18T12:07:00-05:00"), detectors: ["apt": DetectorObservation(.fired)])
        let simulation = Simulation(policy: p, facts: facts, duration: 3 * 86_400_000, step: 3_600_000)
        #expect(simulation.intervals.map { "\($0.from) \($0.state.outcome)" } == [
            "2026-12-18T12:07:00-05:00 blocked", "2026-12-18T22:10:00-05:00 reboot", "2026-12-19T04:50:00-05:00 blocked",
            "2026-12-19T22:10:00-05:00 reboot", "2026-12-20T00:00:00-05:00 blocked",
        ])
        #expect(simulation.intervals.last?.to == at("2026-12-21T12:07:00-05:00"))
        // Steps after the first are on the local clock's hours.
        #expect(simulation.samples.dropFirst().allSatisfy { (at: Int64, _) in (at / 60_000) % 60 == 0 })
        // A start with seconds (the clock's now): the boundaries are still whole minutes.
        let late = Simulation(policy: p, facts: Facts(now: at("2026-12-18T22:07:30.250-05:00"), detectors: ["apt": DetectorObservation(.fired)]), duration: 86_400_000, step: 900_000)
        #expect(late.intervals.map { "\($0.from)" }.prefix(3) == ["2026-12-18T22:07:30.250-05:00", "2026-12-18T22:10:00-05:00", "2026-12-19T04:50:00-05:00"])
    }

    @Test func christmasFreezeOverTheYearEndInBerlin() {
        let p = windows("window deny \"christmas\" Dec 20 .. Jan 6", timezone: "Europe/Berlin")
        #expect(eligible(p, "2026-12-19T23:59:00+01:00"))
        #expect(!eligible(p, "2026-12-20T00:00:00+01:00"))  // both ends whole days
        #expect(!eligible(p, "2026-12-31T23:59:00+01:00"))
        #expect(!eligible(p, "2027-01-01T00:00:00+01:00"))  // Dec 31 → Jan 1
        #expect(!eligible(p, "2027-01-06T23:59:00+01:00"))
        #expect(eligible(p, "2027-01-07T00:00:00+01:00"))
        #expect(!eligible(p, "2027-12-25T12:00:00+01:00"))  // every year
        #expect(!eligible(p, "2026-01-03T12:00:00+01:00"))  // the freeze that started in 2025
        let d = decide(p, "2026-12-24T12:00:00+01:00")
        #expect(d.blockedBy == .window && d.name == "christmas" && d.exitCode == 7)
        #expect(d.nextEligible == at("2027-01-07T00:00:00+01:00"))
        #expect(d.reasons.first == "deny window \"christmas\" (Dec 20 .. Jan 6) is open at Thu 2026-12-24 12:00 +01:00; eligible at Thu 2027-01-07 00:00 +01:00")
    }

    @Test func yearlyWithTimesInNewYork() {
        let p = windows("window deny \"holidays\" Dec 20 18:00 .. Jan 6 08:00", timezone: "America/New_York")
        #expect(eligible(p, "2026-12-20T17:59:00-05:00"))
        #expect(!eligible(p, "2026-12-20T18:00:00-05:00"))
        #expect(!eligible(p, "2027-01-06T07:59:00-05:00"))
        #expect(eligible(p, "2027-01-06T08:00:00-05:00"))
        #expect(next(p, "2026-12-31T23:30:00-05:00") == ms("2027-01-06T08:00:00-05:00"))
    }

    @Test func yearlyOvernightCrossesTheYearEnd() {
        let p = windows("window allow \"new year\" Dec 31 22:00 .. 02:00", timezone: "America/New_York")
        #expect(!eligible(p, "2026-12-31T21:59:00-05:00"))
        #expect(eligible(p, "2026-12-31T22:00:00-05:00"))
        #expect(eligible(p, "2027-01-01T01:59:00-05:00"))
        #expect(!eligible(p, "2027-01-01T02:00:00-05:00"))
        #expect(next(p, "2027-01-01T02:00:00-05:00") == ms("2027-12-31T22:00:00-05:00"))
        let d = decide(p, "2027-06-01T12:00:00-04:00")
        #expect(d.blockedBy == .window && d.name == "new year")
        #expect(d.nextEligible == at("2027-12-31T22:00:00-05:00"))  // 213 days ahead: within the horizon
    }

    @Test func yearlyFebruary29IsFebruary28InOtherYears() {
        let p = windows("window deny \"leap\" Feb 29", timezone: "Europe/Berlin")
        #expect(!eligible(p, "2028-02-29T12:00:00+01:00"))
        #expect(eligible(p, "2028-02-28T12:00:00+01:00"))
        #expect(eligible(p, "2028-03-01T00:00:00+01:00"))
        #expect(!eligible(p, "2027-02-28T12:00:00+01:00"))  // clamped to the month's length
        #expect(eligible(p, "2027-03-01T00:00:00+01:00"))
    }

    @Test func yearlyAcrossSpringForwardInBerlin() {
        // 2027-03-28: 02:00 CET becomes 03:00 CEST.
        let p = windows("window deny \"spring\" Mar 28 02:30 .. Mar 28 05:00", timezone: "Europe/Berlin")
        #expect(eligible(p, "2027-03-28T01:59:00+01:00"))
        #expect(!eligible(p, "2027-03-28T03:00:00+02:00"))  // 02:30 never happened; the window is open from 03:00
        #expect(!eligible(p, "2027-03-28T04:59:00+02:00"))
        #expect(eligible(p, "2027-03-28T05:00:00+02:00"))
        #expect(next(p, "2027-03-28T01:30:00+01:00") == ms("2027-03-28T01:30:00+01:00"))
        #expect(next(p, "2027-03-28T03:10:00+02:00") == ms("2027-03-28T05:00:00+02:00"))
    }

    // MARK: once

    @Test func oneOffReleaseFreeze() {
        let p = windows("window deny \"release-freeze\" 2026-12-18 .. 2027-01-04", timezone: "America/New_York")
        #expect(eligible(p, "2026-12-17T23:59:00-05:00"))
        #expect(!eligible(p, "2026-12-18T00:00:00-05:00"))
        #expect(!eligible(p, "2027-01-01T00:00:00-05:00"))
        #expect(!eligible(p, "2027-01-04T23:59:00-05:00"))
        #expect(eligible(p, "2027-01-05T00:00:00-05:00"))
        #expect(eligible(p, "2027-12-20T00:00:00-05:00"))  // once only
        #expect(next(p, "2026-12-25T00:00:00-05:00") == ms("2027-01-05T00:00:00-05:00"))
    }

    @Test func oneOffWithTimesAcrossSpringForwardInNewYork() {
        // 2027-03-14: 02:00 EST becomes 03:00 EDT (07:00Z).
        let p = windows("window allow \"migration\" 2027-03-13 22:00 .. 2027-03-14 06:00", timezone: "America/New_York")
        #expect(!eligible(p, "2027-03-13T21:59:00-05:00"))
        #expect(eligible(p, "2027-03-14T03:00:00Z"))  // 22:00 EST
        #expect(eligible(p, "2027-03-14T07:00:00Z"))  // 03:00 EDT
        #expect(eligible(p, "2027-03-14T09:59:00Z"))  // 05:59 EDT
        #expect(!eligible(p, "2027-03-14T10:00:00Z"))  // 06:00 EDT: seven hours in all
        #expect(next(p, "2027-03-01T00:00:00Z") == ms("2027-03-14T03:00:00Z"))
        #expect(next(p, "2027-03-14T10:00:00Z") == nil)  // over
    }

    @Test func oneOffSingleDayAndOvernight() {
        let p = windows("window deny \"day\" 2028-02-29\nwindow deny \"night\" 2028-12-31 23:00 .. 01:00", timezone: "Europe/Berlin")
        #expect(!eligible(p, "2028-02-29T00:00:00+01:00"))
        #expect(eligible(p, "2028-03-01T00:00:00+01:00"))
        #expect(!eligible(p, "2029-01-01T00:30:00+01:00"))
        #expect(eligible(p, "2029-01-01T01:00:00+01:00"))
    }

    // MARK: monthly by weekday

    @Test func patchTuesdayNight() {
        let p = windows("window allow \"patch-night\" 2nd Tue 22:00 .. 04:00", timezone: "Europe/Berlin")
        // December 2026 starts on a Tuesday: the 2nd is the 8th.
        #expect(eligible(p, "2026-12-08T22:00:00+01:00"))
        #expect(eligible(p, "2026-12-09T03:59:00+01:00"))
        #expect(!eligible(p, "2026-12-09T04:00:00+01:00"))
        #expect(!eligible(p, "2026-12-01T23:00:00+01:00"))  // the 1st Tuesday
        #expect(next(p, "2026-12-09T04:00:00+01:00") == ms("2027-01-12T22:00:00+01:00"))
        let d = decide(p, "2026-12-20T10:00:00+01:00")
        #expect(d.blockedBy == .window && d.name == "patch-night")
        #expect(d.nextEligible == at("2027-01-12T22:00:00+01:00"))
    }

    @Test func patchTuesdayAfterSpringForwardInNewYork() {
        // 2026-03-08 changes to EDT; the 2nd Tuesday is the 10th.
        let p = windows("window allow \"patch-night\" 2nd Tue 22:00 .. 04:00", timezone: "America/New_York")
        #expect(next(p, "2026-03-01T00:00:00-05:00") == ms("2026-03-10T22:00:00-04:00"))
        #expect(!eligible(p, "2026-03-11T04:00:00-04:00"))
        #expect(eligible(p, "2026-03-11T03:59:00-04:00"))
    }

    @Test func lastSundayOverFallBackInBerlin() {
        // 2026-10-25 is the last Sunday of October: 03:00 CEST becomes 02:00 CET.
        let p = windows("window allow \"late\" last Sun 02:00 .. 04:00", timezone: "Europe/Berlin")
        #expect(eligible(p, "2026-10-25T00:00:00Z"))  // 02:00 CEST
        #expect(eligible(p, "2026-10-25T01:30:00Z"))  // 02:30 CET, the second time
        #expect(eligible(p, "2026-10-25T02:59:00Z"))  // 03:59 CET
        #expect(!eligible(p, "2026-10-25T03:00:00Z"))  // 04:00 CET: three hours that night
        #expect(!eligible(p, "2026-10-18T00:30:00Z"))
        // 2027-03-28, the last Sunday of March, has no 02:00: open from 03:00 CEST.
        #expect(next(p, "2027-03-20T00:00:00Z") == ms("2027-03-28T01:00:00Z"))
        #expect(!eligible(p, "2027-03-28T02:00:00Z"))  // 04:00 CEST
    }

    @Test func firstSundayOverFallBackInNewYork() {
        // 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00Z).
        let p = windows("window deny \"early\" 1st Sun 01:00 .. 03:00", timezone: "America/New_York")
        #expect(!eligible(p, "2026-11-01T05:00:00Z"))  // 01:00 EDT
        #expect(!eligible(p, "2026-11-01T07:30:00Z"))  // 02:30 EST
        #expect(eligible(p, "2026-11-01T08:00:00Z"))  // 03:00 EST
        #expect(next(p, "2026-11-01T05:30:00Z") == ms("2026-11-01T08:00:00Z"))
    }

    @Test func lastFridayAndARunOfWeekdays() {
        let p = windows("window deny \"month-end\" last Fri", timezone: "Europe/Berlin")
        #expect(!eligible(p, "2026-12-25T12:00:00+01:00"))
        #expect(eligible(p, "2026-12-18T12:00:00+01:00"))
        #expect(!eligible(p, "2027-01-29T00:00:00+01:00"))
        let run = windows("window allow \"first days\" 1st Mon..Wed", timezone: "America/New_York")
        // December 2026 starts on a Tuesday: the first Monday is the 7th, so the 7th to the 9th.
        #expect(!eligible(run, "2026-12-01T12:00:00-05:00"))
        #expect(eligible(run, "2026-12-07T00:00:00-05:00"))
        #expect(eligible(run, "2026-12-09T23:59:00-05:00"))
        #expect(!eligible(run, "2026-12-10T00:00:00-05:00"))
        // February 2028 starts on a Tuesday too.
        #expect(next(run, "2028-02-01T00:00:00-05:00") == ms("2028-02-07T00:00:00-05:00"))
        // `last Fri..Mon` runs into the next month: January 29 2027 to February 1.
        let spill = windows("window deny \"long\" last Fri..Mon", timezone: "Europe/Berlin")
        #expect(!eligible(spill, "2027-02-01T12:00:00+01:00"))
        #expect(eligible(spill, "2027-02-02T00:00:00+01:00"))
    }

    @Test func lastFridayEveningThroughMonday() {
        let p = windows("window deny \"closing\" last Fri 18:00 .. Mon 08:00", timezone: "America/New_York")
        #expect(eligible(p, "2026-12-25T17:59:00-05:00"))
        #expect(!eligible(p, "2026-12-25T18:00:00-05:00"))
        #expect(!eligible(p, "2026-12-28T07:59:00-05:00"))
        #expect(eligible(p, "2026-12-28T08:00:00-05:00"))
        #expect(eligible(p, "2026-12-19T12:00:00-05:00"))  // not the last Friday's weekend
    }

    // MARK: monthly by day

    @Test func lastDaysOfTheMonthAroundFebruary29() {
        let p = windows("window deny \"month-end\" last 3 days", timezone: "Europe/Berlin")
        #expect(eligible(p, "2028-02-26T23:59:00+01:00"))
        #expect(!eligible(p, "2028-02-27T00:00:00+01:00"))
        #expect(!eligible(p, "2028-02-29T23:59:00+01:00"))
        #expect(eligible(p, "2028-03-01T00:00:00+01:00"))
        #expect(!eligible(p, "2027-02-26T00:00:00+01:00"))  // 2027: the 26th to the 28th
        #expect(!eligible(p, "2026-12-31T23:59:00+01:00"))
        #expect(eligible(p, "2027-01-01T00:00:00+01:00"))  // Dec 31 → Jan 1
        #expect(next(p, "2028-02-28T12:00:00+01:00") == ms("2028-03-01T00:00:00+01:00"))
    }

    @Test func daysClampedToTheMonthsLength() {
        let p = windows("window allow \"late\" day 28 .. 31", timezone: "America/New_York")
        #expect(eligible(p, "2028-02-29T12:00:00-05:00"))
        #expect(!eligible(p, "2028-03-01T00:00:00-05:00"))
        #expect(eligible(p, "2027-02-28T12:00:00-05:00"))
        #expect(eligible(p, "2026-04-30T12:00:00-04:00"))
        #expect(next(p, "2027-03-01T00:00:00-05:00") == ms("2027-03-28T00:00:00-04:00"))  // after spring forward
        let last = windows("window allow \"last\" last day 22:00 .. 02:00", timezone: "Europe/Berlin")
        #expect(eligible(last, "2026-12-31T23:00:00+01:00"))
        #expect(eligible(last, "2027-01-01T01:59:00+01:00"))  // into the next year
        #expect(!eligible(last, "2027-01-01T02:00:00+01:00"))
        #expect(next(last, "2028-02-10T00:00:00+01:00") == ms("2028-02-29T22:00:00+01:00"))
    }

    // MARK: composed with weekly windows

    @Test func denyWinsAndAllowWindowsOfAnyKindAreAlternatives() {
        let p = windows(
            """
            window allow "night" Tue..Thu 22:00 .. 04:00
            window allow "patch-night" 2nd Sat 10:00 .. 14:00
            window deny "christmas" Dec 20 .. Jan 6
            """, timezone: "Europe/Berlin")
        #expect(eligible(p, "2026-12-15T23:00:00+01:00"))  // a Tuesday night
        #expect(eligible(p, "2026-12-12T11:00:00+01:00"))  // the 2nd Saturday
        #expect(!eligible(p, "2026-12-22T23:00:00+01:00"))  // a Tuesday night in the freeze
        #expect(eligible(p, "2027-01-09T11:00:00+01:00"))  // January's 2nd Saturday, after the freeze
        let d = decide(p, "2026-12-21T12:00:00+01:00")
        #expect(d.blockedBy == .window && d.name == "christmas")
        // The freeze ends Thu Jan 7 00:00, inside Wednesday's night (until 04:00).
        #expect(d.nextEligible == at("2027-01-07T00:00:00+01:00"))
        let closed = decide(p, "2027-01-08T12:00:00+01:00")  // a Friday
        #expect(closed.blockedBy == .window && closed.name == "patch-night")  // Sat Jan 9 opens before Tue Jan 12
        #expect(closed.nextEligible == at("2027-01-09T10:00:00+01:00"))
    }

    // MARK: brute force

    @Test func nextEligibleIsEligibleAndNothingEarlierIsOverTwoYears() {
        let p = windows(
            """
            window deny "christmas" Dec 20 .. Jan 6
            window deny "backups" daily 02:30 .. 03:00
            window deny "month-end" last 2 days
            window allow "night" Mon..Fri 22:00 .. 05:00
            window allow "patch-night" 2nd Tue 12:00 .. 16:00
            """, timezone: "Europe/Berlin")
        let step: Int64 = 15 * 60_000
        let start = ms("2026-06-01T00:00:00Z")
        let count = Int(2 * 366 * 86_400_000 / step)
        let grid = (0..<count).map { p.calendar.isEligible(at: start + Int64($0) * step) }
        // The next eligible grid point at or after each index.
        var nextGrid = [Int?](repeating: nil, count: count)
        var upcoming: Int?
        for i in stride(from: count - 1, through: 0, by: -1) {
            if grid[i] { upcoming = i }
            nextGrid[i] = upcoming
        }
        var failures = 0
        for i in 0..<count where failures < 5 {
            let t = start + Int64(i) * step
            guard let n = p.calendar.nextEligible(from: t) else {
                failures += 1
                Issue.record("nothing eligible after \(t)")
                continue
            }
            var ok = n >= t && p.calendar.isEligible(at: n)
            // Nothing on the grid between t and n, nor the minute before n, is eligible.
            if let g = nextGrid[i] { ok = ok && start + Int64(g) * step >= n }
            if n - 60_000 >= t { ok = ok && !p.calendar.isEligible(at: n - 60_000) }
            if !ok {
                failures += 1
                Issue.record("from \(Zone.utc.rfc3339(t)): next eligible \(Zone.utc.rfc3339(n))")
            }
        }
        #expect(grid.contains(true) && grid.contains(false))
    }
}
