import Foundation
import Testing

/// `rc explain`, `rc test` and `rc simulate` end to end: golden explain output for every blocking reason and for a
/// reboot, exit codes, JSON shapes and the errors of bad input. `RC_UPDATE_GOLDEN=1` rewrites the golden files.
@Suite struct EvaluationCommandTests {
    let cli = CLITests()
    static let dir = "Tests/CLITests/Explain/"
    static let cases = ((try? FileManager.default.contentsOfDirectory(atPath: CLITests.root.appendingPathComponent(dir).path)) ?? [])
        .filter { $0.hasSuffix(".facts.yaml") }.map { String($0.dropLast(".facts.yaml".count)) }.sorted()

    /// The exit code each golden case must give (DESIGN.md).
    static let expectedStatus: [String: Int32] = [
        "reboot": 0, "no-reboot-needed": 0, "post-lock-cleared": 0, "health": 3, "post-boot": 3, "lock": 4, "kill-switch": 5,
        "detector-error": 6, "window": 7, "rule": 8, "cooldown": 8, "threshold": 3,
    ]

    /// The policy of a golden case: `NAME.rcl` when the case has its own, else `fleet.rcl`.
    static func policy(_ name: String) -> String {
        FileManager.default.fileExists(atPath: CLITests.root.appendingPathComponent(dir + name + ".rcl").path) ? dir + name + ".rcl" : dir + "fleet.rcl"
    }

    @Test func everyBlockingReasonHasAGoldenCase() {
        #expect(Set(Self.cases) == Set(Self.expectedStatus.keys))
    }

    @Test(arguments: cases)
    func explainGolden(_ name: String) throws {
        let run = try cli.rc(["explain", Self.policy(name), "--facts", Self.dir + name + ".facts.yaml", "--color", "never"])
        #expect(run.status == Self.expectedStatus[name], "\(name): \(run.stderr)")
        #expect(run.stderr.isEmpty, "\(run.stderr)")
        let url = CLITests.root.appendingPathComponent(Self.dir + name + ".explain.txt")
        if ProcessInfo.processInfo.environment["RC_UPDATE_GOLDEN"] == "1" {
            try run.stdout.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        #expect(run.stdout == (try String(contentsOf: url, encoding: .utf8)))
    }

    /// Dated and monthly windows: a Christmas freeze (Europe/Berlin) and a Patch-Tuesday night (America/New_York),
    /// explained and simulated over 60 days.
    static let calendarDir = "Tests/CLITests/Calendar/"

    @Test(arguments: ["christmas", "patch-tuesday"])
    func calendarGolden(_ name: String) throws {
        let policy = Self.calendarDir + name + ".rcl"
        let facts = Self.calendarDir + name + ".facts.yaml"
        let explain = try cli.rc(["explain", policy, "--facts", facts, "--color", "never"])
        #expect(explain.status == 7, "\(explain.stderr)")
        let simulate = try cli.rc(["simulate", policy, "--facts", facts, "--days", "60", "--step", "1h"])
        #expect(simulate.status == 0, "\(simulate.stderr)")
        for (run, suffix) in [(explain, ".explain.txt"), (simulate, ".simulate.txt")] {
            let url = CLITests.root.appendingPathComponent(Self.calendarDir + name + suffix)
            if ProcessInfo.processInfo.environment["RC_UPDATE_GOLDEN"] == "1" {
                try run.stdout.write(to: url, atomically: true, encoding: .utf8)
                continue
            }
            #expect(run.stdout == (try String(contentsOf: url, encoding: .utf8)), "\(name)\(suffix)")
        }
    }

    @Test func checkWarnsAboutAOneOffWindowThatIsOver() throws {
        try cli.withTemporaryDirectory { dir in
            let policy = dir.appendingPathComponent("freeze.rcl")
            try "policy \"p\" {}\ndetector \"apt\" debian\nwindow deny \"freeze\" 2026-12-18 .. 2027-01-04\n".write(to: policy, atomically: true, encoding: .utf8)
            let during = try cli.rc(["check", "--strict", "--now", "2027-01-04T23:59:00Z", policy.path])
            #expect(during.status == 0, "\(during.stdout)")
            let after = try cli.rc(["check", "--strict", "--now", "2027-01-05T00:00:00Z", "--color", "never", policy.path])
            #expect(after.status == 1)
            #expect(after.stdout.contains("warning[RC3050]: this one-off window ended on 2027-01-04"))
            let bad = try cli.rc(["check", "--now", "soon", policy.path])
            #expect(bad.status == 64 && bad.stderr.contains("--now: invalid instant"))
        }
    }

    @Test func explainJSONHasTheDocumentedFields() throws {
        let run = try cli.rc(["explain", Self.dir + "fleet.rcl", "--facts", Self.dir + "window.facts.yaml", "--format", "json"])
        #expect(run.status == 7)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        for key in ["outcome", "blocked_by", "name", "exit_code", "next_eligible", "reasons", "would_change", "trace"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        #expect(json["outcome"] as? String == "blocked")
        #expect(json["blocked_by"] as? String == "window")
        #expect(json["name"] as? String == "weekend-freeze")
        #expect(json["exit_code"] as? Int == 7)
        #expect(json["next_eligible"] as? String == "2026-11-23T22:00:00+01:00")
        let trace = try #require(json["trace"] as? [[String: Any]])
        let window = try #require(trace.first { ($0["clause"] as? String)?.hasPrefix("window deny \"weekend-freeze\"") == true })
        #expect(window["result"] as? String == "block")
        #expect(window["line"] as? Int == 12 && window["column"] as? Int == 1)
        #expect(window["file"] as? String == Self.dir + "fleet.rcl")
    }

    @Test func explainPicksThePolicyOfTheNodeFromADirectory() throws {
        try cli.withTemporaryDirectory { dir in
            let facts = dir.appendingPathComponent("facts.yaml")
            try "node: {name: web-3, labels: {os: suse}}\nnow: \"2026-11-28T03:00:00+01:00\"\ndetectors: {apt: fired}\n".write(to: facts, atomically: true, encoding: .utf8)
            let run = try cli.rc(["explain", "policies/", "--facts", facts.path, "--format", "json"])
            // web-3 matches the web policy's applies_to; the suse policy matches too by its label: ambiguous.
            #expect(run.status == 2)
            #expect(run.stderr.contains("2 policies apply to node \"web-3\""))
            try "node: {name: web-3}\nnow: \"2026-11-28T03:00:00+01:00\"\ndetectors: {apt: fired}\n".write(to: facts, atomically: true, encoding: .utf8)
            let web = try cli.rc(["explain", "policies/", "--facts", facts.path, "--format", "json"])
            #expect(web.stdout.contains("\"policy\": \"web\""), "\(web.stderr)")
            try "node: {name: db-9.example.org}\nnow: \"2026-11-28T03:00:00+01:00\"\ndetectors: {apt: fired}\n".write(to: facts, atomically: true, encoding: .utf8)
            let fallback = try cli.rc(["explain", "policies/", "--facts", facts.path, "--format", "json"])
            #expect(fallback.stdout.contains("\"policy\": \"default\""), "\(fallback.stderr)")
        }
    }

    @Test func badFactsAreLocated() throws {
        try cli.withTemporaryDirectory { dir in
            let facts = dir.appendingPathComponent("facts.yaml")
            try "now: \"2026-11-21 10:00\"\nnode: {name: web-1, uptme: 3h}\ndetectors: {aptt: fired}\n".write(to: facts, atomically: true, encoding: .utf8)
            let run = try cli.rc(["explain", Self.dir + "fleet.rcl", "--facts", facts.path, "--color", "never"])
            #expect(run.status == 2)
            #expect(run.stderr.contains("facts.yaml:1:6: error[RC4003]: `now`: expected an RFC 3339 instant"), "\(run.stderr)")
            #expect(run.stderr.contains("facts.yaml:2:21: error[RC4002]: unknown field `uptme` in `node`"), "\(run.stderr)")
            #expect(run.stderr.contains("did you mean `uptime`?"))
            try "now: \"2026-11-21T10:00:00Z\"\ndetectors: {aptt: fired}\n".write(to: facts, atomically: true, encoding: .utf8)
            let names = try cli.rc(["explain", Self.dir + "fleet.rcl", "--facts", facts.path, "--color", "never"])
            #expect(names.status == 2)
            #expect(names.stderr.contains("facts.yaml:2:13: error[RC4002]: unknown detector \"aptt\""), "\(names.stderr)")
            #expect(names.stderr.contains("did you mean \"apt\"?"))
            try "now: [1, 2\n".write(to: facts, atomically: true, encoding: .utf8)
            let yaml = try cli.rc(["explain", Self.dir + "fleet.rcl", "--facts", facts.path])
            #expect(yaml.status == 2 && yaml.stderr.contains("error[RC4001]: invalid YAML"))
        }
        let missing = try cli.rc(["explain", Self.dir + "fleet.rcl", "--facts", "/nonexistent/facts.yaml"])
        #expect(missing.status == 64 && missing.stderr == "error: /nonexistent/facts.yaml: cannot read the file: No such file or directory\n", "\(missing.stderr)")
        let directory = try cli.rc(["explain", Self.dir + "fleet.rcl", "--facts", "/tmp"])
        #expect(directory.status == 64 && directory.stderr == "error: /tmp: cannot read the file: it is a directory\n", "\(directory.stderr)")
    }

    @Test func factsAreReadFromAPipeByItsPath() throws {
        // `--facts /dev/stdin` and a shell's `<(ssh node cat …)` are pipes, which have no size to read up to.
        let facts = "now: 2026-11-24T12:00:00+01:00\ndetectors: {apt: fired}\n"
        let run = try cli.run("/bin/sh", ["-c", "printf '\(facts)' | \"$0\" explain \"$1\" --facts /dev/stdin --color never", CLITests.binary.path, Self.dir + "fleet.rcl"])
        let same = try cli.rc(["explain", Self.dir + "fleet.rcl", "--facts", "-", "--color", "never"], stdin: facts)
        #expect(run.stdout == same.stdout && run.status == same.status && same.stdout.contains("detector \"apt\" fired"), "\(run.stdout)\(run.stderr)")
    }

    @Test func explainWithoutNowUsesTheCurrentTimeAndSaysSo() throws {
        let run = try cli.rc(["explain", Self.dir + "fleet.rcl", "--facts", "-", "--color", "never"], stdin: "detectors: {apt: clear}\n")
        #expect(run.status == 0)
        #expect(run.stdout.contains("(the current time)"))
    }

    @Test func testCommandPassesTheExamplesWithFullCoverage() throws {
        let run = try cli.rc(["test", "--min-coverage", "100", "policies/", "--color", "never"])
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.contains("0 failed"))
        let json = try cli.rc(["test", "--coverage", "--format", "json", "policies/examples/web.rcl"])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let policy = try #require((parsed["policies"] as? [[String: Any]])?.first)
        let coverage = try #require(policy["coverage"] as? [String: Any])
        #expect(coverage["covered"] as? Int == coverage["total"] as? Int)
        #expect((policy["tests"] as? [Any])?.count ?? 0 >= 10)
    }

    @Test func aFailingTestShowsExpectedActualAndTrace() throws {
        try cli.withTemporaryDirectory { dir in
            let policy = dir.appendingPathComponent("p.rcl")
            try """
                policy "p" {}
                detector "apt" debian
                rule "small" { deny when cluster.size < 3 }
                test "wrong" {
                  given { detector "apt" fired  cluster.size 5 }
                  expect blocked by rule "small"
                }
                test "needs the time" {
                  given { detector "apt" fired  cluster.size 1 }
                  expect blocked by rule "small"
                }
                """.write(to: policy, atomically: true, encoding: .utf8)
            let run = try cli.rc(["test", policy.path, "--color", "never", "--coverage"])
            #expect(run.status == 1)
            #expect(run.stdout.contains("✗ wrong"))
            #expect(run.stdout.contains("expected  blocked by rule \"small\""))
            #expect(run.stdout.contains("actual    reboot (exit 0)"))
            #expect(run.stdout.contains("cluster.size < 3  → 5 < 3 is false, with cluster.size = 5"))
            #expect(run.stdout.contains("✓ needs the time"))
            #expect(run.stdout.contains("1 passed, 1 failed"))
            let junit = try cli.rc(["test", policy.path, "--format", "junit"])
            #expect(junit.status == 1)
            #expect(junit.stdout.contains("<testsuites name=\"rc test\" tests=\"2\" failures=\"1\">"))
            #expect(junit.stdout.contains("<failure message=\"expected blocked by rule &quot;small&quot;, got reboot (exit 0)\">"))
            let low = try cli.rc(["test", policy.path, "--min-coverage", "100"])
            #expect(low.status == 1)
        }
    }

    @Test func testsThatDependOnTheTimeMustGiveIt() throws {
        try cli.withTemporaryDirectory { dir in
            let policy = dir.appendingPathComponent("p.rcl")
            try """
                policy "p" {}
                detector "apt" debian
                window deny "day" daily 08:00 .. 20:00
                test "no time" {
                  given { detector "apt" fired }
                  expect reboot
                }
                """.write(to: policy, atomically: true, encoding: .utf8)
            let run = try cli.rc(["test", policy.path, "--color", "never"])
            #expect(run.status == 1)
            #expect(run.stdout.contains("the decision depends on the time, but the test gives no `now`"))
        }
    }

    @Test func simulateDrawsACalendar() throws {
        let run = try cli.rc(["simulate", Self.dir + "fleet.rcl", "--facts", Self.dir + "window.facts.yaml", "--days", "3", "--step", "1h"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        // Sat from 10:00, Sun, Mon, and Tue until 10:00; the freeze ends Mon 08:00, the night opens Mon 22:00.
        #expect(lines.contains("Sat 2026-11-21            wwwwwwwwwwwwww"))
        #expect(lines.contains("Mon 2026-11-23  wwwwwwwwWWWWWWWWWWWWWW##"))
        #expect(lines.contains("Tue 2026-11-24  #####WWWWW              "))
        #expect(run.stdout.contains("w  blocked by window \"weekend-freeze\""))
        #expect(run.stdout.contains("#  eligible: reboot"))
        let json = try cli.rc(["simulate", Self.dir + "fleet.rcl", "--facts", Self.dir + "window.facts.yaml", "--days", "3", "--format", "json"])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let intervals = try #require(parsed["intervals"] as? [[String: Any]])
        #expect(intervals.first?["name"] as? String == "weekend-freeze")
        #expect(intervals.first?["to"] as? String == "2026-11-23T08:00:00+01:00")
        #expect(intervals.contains { $0["outcome"] as? String == "reboot" && $0["from"] as? String == "2026-11-23T22:00:00+01:00" })
        let bad = try cli.rc(["simulate", Self.dir + "fleet.rcl", "--facts", Self.dir + "window.facts.yaml", "--step", "7m"])
        #expect(bad.status == 64 && bad.stderr.contains("--step must be whole minutes that divide a day"))
    }

    // MARK: - Measured health values (threshold.rcl: a prometheus error rate and an http endpoint's JSON)

    /// `rc explain` of the threshold policy with `health` facts given on standard input.
    func explainThreshold(_ health: String, format: String = "text") throws -> CLITests.Run {
        let facts = "now: \"2026-11-24T23:00:00+01:00\"\nnode: {name: web-3}\ndetectors: {apt: fired}\nlock: {held: false, available: true}\nhealth:\n" + health
        return try cli.rc(["explain", Self.dir + "threshold.rcl", "--facts", "-", "--color", "never", "--format", format], stdin: facts)
    }

    @Test func explainJSONCarriesTheMeasuredValueTheThresholdAndTheClause() throws {
        let run = try explainThreshold("  errors: {value: 0.034}\n  lag: {status: 200, json: {replication: {lag_seconds: 2}}}\n", format: "json")
        #expect(run.status == 3, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["blocked_by"] as? String == "health" && json["name"] as? String == "errors")
        let changes = try #require(json["would_change"] as? [[String: Any]])
        #expect(changes.contains { ($0["text"] as? String) == "health \"errors\" needs value < 0.01, was 0.034" }, "\(changes)")
        let trace = try #require(json["trace"] as? [[String: Any]])
        let errors = try #require(trace.first { ($0["clause"] as? String) == "prometheus \"errors\"" }, "\(trace)")
        #expect(errors["result"] as? String == "block")
        #expect((errors["value"] as? String)?.contains("0.034 < 0.01 is false") == true, "\(errors)")
        #expect(errors["line"] as? Int == 9 && errors["column"] as? Int == 11)
    }

    @Test func explainReplaysMeasuredValuesEitherWay() throws {
        let passing = try explainThreshold("  errors: {value: 0.002}\n  lag: {status: 200, json: {replication: {lag_seconds: 2}}}\n")
        #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
        #expect(passing.stdout.contains("✓ prometheus \"errors\"  → ok: 0.002 < 0.01 is true"), "\(passing.stdout)")
        let lagging = try explainThreshold("  errors: {value: 0.002}\n  lag: {status: 200, json: {replication: {lag_seconds: 7.5}}}\n")
        #expect(lagging.status == 3)
        #expect(lagging.stdout.contains("health \"lag\" needs json.replication.lag_seconds < 5, was 7.5"), "\(lagging.stdout)")
        // Every operand of the `and` that failed is named: changing one alone would not let the node reboot.
        let both = try explainThreshold("  errors: {value: 0.002}\n  lag: {status: 503, json: {replication: {lag_seconds: 7.5}}}\n")
        #expect(both.stdout.contains("health \"lag\" needs status == 200, was 503; and json.replication.lag_seconds < 5, was 7.5\n"), "\(both.stdout)")
        let missing = try explainThreshold("  errors: {value: 0.002}\n  lag: {status: 200, json: {replication: {}}}\n")
        #expect(missing.status == 3)
        #expect(missing.stdout.contains("json.replication.lag_seconds: the response has no field `lag_seconds`"), "\(missing.stdout)")
        // A value the check does not measure is refused at its place, not ignored.
        let wrong = try explainThreshold("  errors: {json: {value: 0.002}}\n")
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("<stdin>:6:12: error[RC4002]: health \"errors\" is a prometheus check: it measures no `json`"), "\(wrong.stderr)")
    }

    @Test func simulateReplaysAMeasuredValue() throws {
        func simulate(_ value: String) throws -> [[String: Any]] {
            let facts = "now: \"2026-11-24T23:00:00+01:00\"\nnode: {name: web-3}\ndetectors: {apt: fired}\nhealth:\n  errors: {value: \(value)}\n  lag: {status: 200, json: {replication: {lag_seconds: 1}}}\n"
            let run = try cli.rc(["simulate", Self.dir + "threshold.rcl", "--facts", "-", "--days", "1", "--step", "1h", "--format", "json"], stdin: facts)
            #expect(run.status == 0, "\(run.stderr)")
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            return try #require(parsed["intervals"] as? [[String: Any]])
        }
        let blocked = try simulate("0.034")
        #expect(blocked.count == 1 && blocked.first?["blocked_by"] as? String == "health" && blocked.first?["name"] as? String == "errors", "\(blocked)")
        let open = try simulate("0.002")
        #expect(open.count == 1 && open.first?["outcome"] as? String == "reboot", "\(open)")
    }

    /// `rc test` of a policy with a prometheus check "errors" (`value < 0.01`) and `rest`.
    func testWithErrorRate(_ rest: String) throws -> CLITests.Run {
        let dir = try cli.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let policy = dir.appendingPathComponent("p.rcl")
        try """
            policy "p" {}
            detector "apt" debian
            health "errors" prometheus "http://127.0.0.1:9090" query "sum(rate(e[5m]))" { ok when value < 0.01 }

            """.appending(rest).write(to: policy, atomically: true, encoding: .utf8)
        return try cli.rc(["test", policy.path, "--color", "never"])
    }

    @Test func testCommandJudgesGivenValuesWithTheThreshold() throws {
        let run = try testWithErrorRate(
            """
            health "lag" http "https://127.0.0.1:8080/status" { ok when status == 200 and json.replication.lag_seconds < 5 }
            test "a high error rate blocks" {
              given { detector "apt" fired  health "errors" value 0.034 }
              expect blocked by health "errors"
            }
            test "a low error rate and a small lag let it through" {
              given { detector "apt" fired  health "errors" value 0.002  health "lag" status 200 json {"replication": {"lag_seconds": 2}} }
              expect reboot
            }
            test "a lag over the threshold blocks (keys written as names, as in a facts file)" {
              given { detector "apt" fired  health "errors" value 0.002  health "lag" status 200 json {replication: {lag_seconds: 9}} }
              expect blocked by health "lag"
            }
            test "wrong: this error rate blocks" {
              given { detector "apt" fired  health "errors" value 0.5 }
              expect reboot
            }
            """)
        #expect(run.status == 1, "\(run.stdout)")
        #expect(run.stdout.contains("3 passed, 1 failed"), "\(run.stdout)")
        #expect(run.stdout.contains("✗ wrong: this error rate blocks"))
        #expect(run.stdout.contains("health check \"errors\" failed pre-lock: 0.5 < 0.01 is false"), "\(run.stdout)")
    }

    @Test func testCommandGivesAnAlertsCheckItsActiveAlerts() throws {
        let run = try testWithErrorRate(
            """
            health "pages" alerts "http://127.0.0.1:9093" { block_on {severity: "critical"} }
            test "an active alert blocks" {
              given { detector "apt" fired  health "errors" value 0.002  health "pages" alerts ["HighErrorRate", "DiskFull"] }
              expect blocked by health "pages"
            }
            test "no active alert lets it through" {
              given { detector "apt" fired  health "errors" value 0.002  health "pages" alerts [] }
              expect reboot
            }
            test "wrong: an active alert lets it through" {
              given { detector "apt" fired  health "errors" value 0.002  health "pages" alerts ["HighErrorRate"] }
              expect reboot
            }
            """)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("2 passed, 1 failed"), "\(run.stdout)")
        #expect(run.stdout.contains("✗ wrong: an active alert lets it through"), "\(run.stdout)")
        #expect(run.stdout.contains(#"1 active alert matches {severity: "critical"}: "HighErrorRate""#), "\(run.stdout)")
    }

    @Test func aGivenAlertListOfTheWrongShapeIsALocatedError() throws {
        let run = try testWithErrorRate(
            """
            health "pages" alerts "http://127.0.0.1:9093" { block_on {severity: "critical"} }
            test "a string" {
              given { detector "apt" fired  health "pages" alerts "HighErrorRate" }
              expect blocked by health "pages"
            }
            test "a value" {
              given { detector "apt" fired  health "pages" value 1 }
              expect blocked by health "pages"
            }
            test "alerts of a prometheus check" {
              given { detector "apt" fired  health "errors" alerts ["HighErrorRate"] }
              expect blocked by health "errors"
            }
            """)
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        let output = run.stdout + run.stderr
        #expect(output.contains("p.rcl:6:55: error[RC2002]: expected a list<string>, found string"), "\(output)")
        #expect(output.contains(#"p.rcl:10:48: error[RC2033]: alerts check "pages" measures active alerts, not `value`"#), "\(output)")
        #expect(output.contains(#"p.rcl:14:49: error[RC2033]: prometheus check "errors" measures `value`, `result` and `empty`, not `alerts`"#), "\(output)")
    }

    @Test func aGivenValueOfTheWrongTypeIsALocatedError() throws {
        let run = try testWithErrorRate(
            """
            test "high" {
              given { detector "apt" fired  health "errors" value "high" }
              expect blocked by health "errors"
            }
            test "status" {
              given { detector "apt" fired  health "errors" status 500 }
              expect blocked by health "errors"
            }
            health "lag" http "https://127.0.0.1:8080/status" { ok when status == 200 }
            test "computed json" {
              given { detector "apt" fired  health "lag" json {replication: {lag_seconds: node.uptime}} }
              expect reboot
            }
            """)
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        let output = run.stdout + run.stderr
        #expect(output.contains("p.rcl:5:55: error[RC2002]: expected a number, found string"), "\(output)")
        #expect(output.contains("p.rcl:9:49: error[RC2033]: prometheus check \"errors\" measures `value`, `result` and `empty`, not `status`"), "\(output)")
        #expect(output.contains("p.rcl:14:79: error[RC2015]: `json` takes a literal value"), "\(output)")
    }
}
