import Evaluator
import PolicyLang
import Testing

/// Window shapes with an injected `now`: openness, the decision, and the next eligible instant, including the
/// daylight-saving changes of Europe/Berlin and America/New_York.
@Suite struct WindowCalendarTests {
    func eligible(_ p: PreparedPolicy, _ t: String) -> Bool { p.calendar.isEligible(at: ms(t)) }
    func next(_ p: PreparedPolicy, _ t: String) -> Int64? { p.calendar.nextEligible(from: ms(t)) }

    @Test(arguments: ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Etc/GMT+5"])
    func theCalendarsLocalMinutesAreTheZones(_ identifier: String) throws {
        let zone = try #require(Zone(identifier: identifier))
        let calendar = windows("window deny \"w\" Sat..Sun", timezone: identifier).calendar
        // Every 7 h 13 min from before 1970 to past the end of the zone's table (2200), and the minute around each
        // transition of 2027.
        var instants = Array(stride(from: Int64(-86_400_000), to: 7_400_000_000_000, by: 26_000_000))
        for t in zone.transitions(from: ms("2027-01-01T00:00:00Z"), to: ms("2028-01-01T00:00:00Z")) { instants += [t - 60_000, t - 1, t, t + 1, t + 60_000] }
        for t in instants { #expect(calendar.localMinutes(at: t)[0] == zone.localMinute(at: t), "\(identifier) at \(t)") }
    }

    @Test func singleDay() {
        let p = windows("window allow \"tue\" Tue 10:00 .. 12:00")
        #expect(eligible(p, "2026-11-24T10:00:00Z"))  // Tuesday
        #expect(eligible(p, "2026-11-24T11:59:59Z"))
        #expect(!eligible(p, "2026-11-24T12:00:00Z"))  // the end is exclusive
        #expect(!eligible(p, "2026-11-23T11:00:00Z"))  // Monday
        #expect(next(p, "2026-11-24T12:00:00Z") == ms("2026-12-01T10:00:00Z"))
        #expect(next(p, "2026-11-24T10:30:00Z") == ms("2026-11-24T10:30:00Z"))
    }

    @Test func weekdayRange() {
        let p = windows("window deny \"business\" Mon..Fri 08:00 .. 18:00")
        #expect(!eligible(p, "2026-11-25T12:00:00Z"))  // Wednesday
        #expect(eligible(p, "2026-11-28T12:00:00Z"))  // Saturday
        #expect(eligible(p, "2026-11-25T07:59:00Z"))
        #expect(next(p, "2026-11-27T17:00:00Z") == ms("2026-11-27T18:00:00Z"))
    }

    @Test func daily() {
        let p = windows("window deny \"backups\" daily 02:00 .. 03:00")
        for day in 22...28 {
            #expect(!eligible(p, "2026-11-\(day)T02:30:00Z"))
            #expect(eligible(p, "2026-11-\(day)T03:00:00Z"))
        }
        #expect(next(p, "2026-11-26T02:10:00Z") == ms("2026-11-26T03:00:00Z"))
    }

    @Test func crossingMidnight() {
        let p = windows("window allow \"night\" Tue..Thu 22:00 .. 04:00")
        #expect(eligible(p, "2026-11-24T23:00:00Z"))  // Tue 23:00
        #expect(eligible(p, "2026-11-25T03:00:00Z"))  // Wed 03:00, from Tuesday
        #expect(eligible(p, "2026-11-27T03:59:00Z"))  // Fri 03:59, from Thursday
        #expect(!eligible(p, "2026-11-24T03:00:00Z"))  // Tue 03:00: Monday has no night
        #expect(!eligible(p, "2026-11-27T04:00:00Z"))
        #expect(next(p, "2026-11-27T05:00:00Z") == ms("2026-12-01T22:00:00Z"))
    }

    @Test func crossingSundayToMonday() {
        let p = windows("window deny \"weekend\" Fri 18:00 .. Mon 08:00")
        #expect(!eligible(p, "2026-11-27T18:00:00Z"))  // Fri 18:00
        #expect(!eligible(p, "2026-11-29T23:59:00Z"))  // Sun 23:59
        #expect(!eligible(p, "2026-11-30T07:59:00Z"))  // Mon 07:59
        #expect(eligible(p, "2026-11-30T08:00:00Z"))
        #expect(eligible(p, "2026-11-27T17:59:00Z"))
        #expect(next(p, "2026-11-28T12:00:00Z") == ms("2026-11-30T08:00:00Z"))
    }

    @Test func denyWinsOverAllow() {
        let p = windows("window allow \"early\" daily 00:00 .. 06:00\nwindow deny \"maintenance\" Wed 03:00 .. 04:00")
        #expect(eligible(p, "2026-11-25T02:59:00Z"))
        #expect(!eligible(p, "2026-11-25T03:30:00Z"))
        #expect(eligible(p, "2026-11-24T03:30:00Z"))  // Tuesday: no deny
        #expect(next(p, "2026-11-25T03:30:00Z") == ms("2026-11-25T04:00:00Z"))
        let d = p.decide(Facts(now: at("2026-11-25T03:30:00Z"), detectors: ["apt": DetectorObservation(.fired)]))
        #expect(d.blockedBy == .window && d.name == "maintenance" && d.exitCode == 7)
        #expect(d.nextEligible == at("2026-11-25T04:00:00Z"))
        let closed = p.decide(Facts(now: at("2026-11-25T07:00:00Z"), detectors: ["apt": DetectorObservation(.fired)]))
        #expect(closed.blockedBy == .window && closed.name == "early")
        #expect(closed.nextEligible == at("2026-11-26T00:00:00Z"))
    }

    @Test func windowsInTheirOwnZone() {
        let p = windows("window allow \"ny night\" daily 01:00 .. 02:00 in \"America/New_York\"", timezone: "Europe/Berlin")
        #expect(eligible(p, "2026-11-24T06:30:00Z"))  // 01:30 EST
        #expect(!eligible(p, "2026-11-24T01:30:00Z"))  // 01:30 in Berlin is not 01:30 in New York
    }

    // MARK: daylight saving time

    @Test func berlinSpringForwardSkipsAnHour() {
        // 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00Z).
        let p = windows("window allow \"late night\" daily 02:30 .. 05:00", timezone: "Europe/Berlin")
        #expect(!eligible(p, "2026-03-29T00:59:00Z"))  // 01:59 CET
        #expect(eligible(p, "2026-03-29T01:00:00Z"))  // 03:00 CEST: 02:30 never happened, the window is open
        #expect(next(p, "2026-03-29T00:30:00+01:00") == ms("2026-03-29T01:00:00Z"))
        #expect(!eligible(p, "2026-03-29T03:00:00Z"))  // 05:00 CEST
        let skipped = windows("window allow \"skipped\" daily 02:00 .. 03:00", timezone: "Europe/Berlin")
        // That day has no 02:00–03:00; the next one is Monday 02:00 CEST.
        #expect(next(skipped, "2026-03-29T00:30:00Z") == ms("2026-03-30T02:00:00+02:00"))
    }

    @Test func berlinFallBackRepeatsAnHour() {
        // 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00Z); 02:00–03:00 happens twice.
        let p = windows("window deny \"backups\" daily 02:00 .. 03:00", timezone: "Europe/Berlin")
        #expect(!eligible(p, "2026-10-25T00:30:00Z"))  // 02:30 CEST
        #expect(!eligible(p, "2026-10-25T01:30:00Z"))  // 02:30 CET
        #expect(eligible(p, "2026-10-25T02:00:00Z"))  // 03:00 CET
        #expect(next(p, "2026-10-25T00:30:00Z") == ms("2026-10-25T02:00:00Z"))
        let decision = p.decide(Facts(now: at("2026-10-25T02:30:00+02:00"), detectors: ["apt": DetectorObservation(.fired)]))
        #expect(decision.nextEligible == at("2026-10-25T03:00:00+01:00"))
        #expect(decision.nextEligible?.utcOffsetSeconds == 3600)
    }

    @Test func newYorkSpringForward() {
        // 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z).
        let p = windows("window deny \"early\" daily 01:00 .. 03:00", timezone: "America/New_York")
        #expect(!eligible(p, "2026-03-08T06:30:00Z"))  // 01:30 EST
        #expect(eligible(p, "2026-03-08T07:00:00Z"))  // 03:00 EDT: the window lasted one hour that night
        #expect(next(p, "2026-03-08T06:30:00Z") == ms("2026-03-08T07:00:00Z"))
    }

    @Test func newYorkFallBack() {
        // 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00Z); 01:00–02:00 happens twice.
        let p = windows("window allow \"one\" Sun 01:00 .. 01:30", timezone: "America/New_York")
        #expect(eligible(p, "2026-11-01T05:15:00Z"))  // 01:15 EDT
        #expect(!eligible(p, "2026-11-01T05:45:00Z"))  // 01:45 EDT
        #expect(eligible(p, "2026-11-01T06:15:00Z"))  // 01:15 EST, the second time
        #expect(next(p, "2026-11-01T05:30:00Z") == ms("2026-11-01T06:00:00Z"))
        #expect(next(p, "2026-11-01T06:30:00Z") == ms("2026-11-08T06:00:00Z"))  // next Sunday, 01:00 EST
    }

    @Test func nothingEligibleWithinTheHorizon() {
        let p = windows("window deny \"always\" daily 00:00 .. 24:00")
        #expect(next(p, "2026-11-24T00:00:00Z") == nil)
        let d = p.decide(Facts(now: at("2026-11-24T00:00:00Z"), detectors: ["apt": DetectorObservation(.fired)]))
        #expect(d.blockedBy == .window && d.nextEligible == nil)
        #expect(d.reasons.first?.contains("not eligible within 400 days") == true)
    }

    @Test func nextEligibleIsAlwaysEligibleAndNothingEarlierIs() {
        // Brute force over a fortnight in 5-minute steps around both Berlin changes.
        let p = windows(
            "window deny \"weekend\" Fri 18:00 .. Mon 08:00\nwindow deny \"backups\" daily 02:00 .. 03:00\nwindow allow \"night\" Tue..Thu 22:00 .. 04:00",
            timezone: "Europe/Berlin")
        for start in ["2026-03-25T12:00:00Z", "2026-10-21T12:00:00Z", "2026-11-20T12:00:00Z"] {
            var t = ms(start)
            for _ in 0..<60 {
                let n = p.calendar.nextEligible(from: t)
                if let n {
                    #expect(p.calendar.isEligible(at: n))
                    var probe = t
                    while probe < n {
                        #expect(!p.calendar.isEligible(at: probe), "eligible at \(probe) before \(n)")
                        probe += 300_000
                    }
                }
                t += 3 * 3_600_000 + 17 * 60_000
            }
        }
    }
}
