import Evaluator
import Executors
import Foundation
import PolicyLang
import Testing

/// Facts files: the documented example reads completely, JSON works as well as YAML, mistakes are located.
@Suite struct FactsFileTests {
    @Test func theDocumentedExample() throws {
        let file = FactsFile.read(
            SourceFile(
                path: "facts.yaml",
                text: """
                    now: "2026-11-21T10:00:00+01:00"        # RFC 3339 instant
                    phase: pre-lock                          # pre-lock | post-lock | post-boot
                    node: {name: web-1, labels: {tier: canary}, uptime: 36h}
                    kill_switch: false
                    detectors:
                      debian: {fired: true}
                      rhel: {error: "needs-restarting: not found"}
                    health:
                      cluster: {ok: false, exit: 1, output: "quorum at risk", duration: 2.5s}
                    lock: {held: false, available: true, slots: 1, holders: [{node: web-2, pid: 4121, since: "2026-11-21T09:58:00+01:00"}], waiting: [web-7]}
                    cluster: {size: 5, healthy: 4, fallback_healthy: 1, last_reboot: "2026-11-21T09:50:00+01:00"}
                    """))
        #expect(file.diagnostics.isEmpty, "\(file.diagnostics.map(\.message))")
        let f = file.facts
        #expect(f.now?.epochMilliseconds == 1_795_251_600_000)
        #expect(f.phase == .preLock)
        #expect(f.nodeName == "web-1" && f.nodeLabels == ["tier": "canary"] && f.nodeUptime == 36 * 3_600_000)
        #expect(f.killSwitch == false)
        #expect(f.detectors["debian"] == DetectorObservation(.fired))
        #expect(f.detectors["rhel"] == DetectorObservation(.error("needs-restarting: not found")))
        #expect(f.health["cluster"] == HealthObservation(ok: false, exitCode: 1, output: "quorum at risk", duration: 2500))
        #expect(f.lock.held == false && f.lock.available == true && f.lock.slots == 1)
        #expect(f.lock.holders?.first?.node == "web-2" && f.lock.holders?.first?.pid == 4121)
        #expect(f.lock.waiting == ["web-7"] && f.lock.waitingCount == nil)
        #expect(f.cluster.size == 5 && f.cluster.healthy == 4 && f.cluster.fallbackHealthy == 1)
        #expect(f.cluster.lastReboot?.description == "2026-11-21T09:50:00+01:00")
    }

    @Test func theLineOfWaitersGoesOutAndComesBack() throws {
        var facts = Facts(nodeName: "web-3")
        facts.lock = LockFacts(held: false, available: false, slots: 1, waiting: ["web-7", "web-3"], waitingCount: 12)
        let text = FactsFile.json(facts).serialized(indent: 2)
        let back = FactsFile.read(SourceFile(path: "last-decision.json", text: text))
        #expect(back.diagnostics.isEmpty, "\(back.diagnostics.map(\.message))")
        #expect(back.facts.lock.waiting == ["web-7", "web-3"] && back.facts.lock.waitingCount == 12)
        let wrong = FactsFile.read(SourceFile(path: "f.yaml", text: "lock: {waiting: web-7, waiting_count: -1}\n"))
        #expect(wrong.diagnostics.map(\.message) == ["`lock.waiting` must be a list of strings", "`lock.waiting_count` must be at least 0"])
    }

    @Test func jsonIsAcceptedAndEverythingIsOptional() {
        let json = FactsFile.read(SourceFile(path: "f.json", text: #"{"node": {"name": "db-1"}, "health": {"db": "fails"}, "lock": {"holders": 2}}"#))
        #expect(json.diagnostics.isEmpty)
        #expect(json.facts.nodeName == "db-1" && json.facts.health["db"]?.ok == false && json.facts.lock.count == 2)
        #expect(json.facts.now == nil)
    }

    @Test func mistakesAreLocated() {
        let file = FactsFile.read(
            SourceFile(path: "f.yaml", text: "phase: during\ncluster: {size: 3, healthy: 4}\nhealth: {gate: {ok: true, exit: 2}}\ndetectors: {apt: maybe}\nkil_switch: true\n"))
        #expect(file.diagnostics.count == 5, "\(file.diagnostics.map(\.message))")
        #expect(file.diagnostics.contains { $0.message == "unknown phase \"during\"" })
        #expect(file.diagnostics.contains { $0.message.contains("`cluster.healthy` (4) is larger than `cluster.size` (3)") })
        #expect(file.diagnostics.contains { $0.message.contains("`ok: true` contradicts `exit: 2`") })
        #expect(file.diagnostics.contains { $0.message.contains("\"maybe\" is not a detector state") })
        #expect(file.diagnostics.contains { $0.code == .importUnknownField && $0.help == "did you mean `kill_switch`?" })
    }

    @Test func namesAreCheckedAgainstThePolicy() throws {
        let policy = try #require(Checker.check(SourceFile(path: "p.rcl", text: "policy \"p\" {}\ndetector \"apt\" debian\n")).policy)
        let file = FactsFile.read(SourceFile(path: "f.yaml", text: "detectors: {atp: fired}\nhealth: {gate: ok}\n"))
        let problems = file.diagnostics(against: policy)
        #expect(problems.map(\.message) == ["unknown detector \"atp\"", "unknown health check \"gate\""])
        #expect(problems.first?.help == "did you mean \"apt\"?")
    }

    @Test func measuredValuesGoOutAndComeBack() throws {
        var facts = Facts(nodeName: "web-3")
        facts.health = [
            "errors": HealthObservation(ok: false, output: "0.034 < 0.01 is false", duration: 120, measurement: HealthMeasurement(status: 200, value: 0.034)),
            "by-job": HealthObservation(ok: true, measurement: HealthMeasurement(status: 200, samples: [HealthSample(value: 2, labels: ["job": "web"]), HealthSample(value: 0.5)])),
            "bad-query": HealthObservation(ok: false, measurement: HealthMeasurement(status: 400, queryError: "bad_data: parse error")),
            "lag": HealthObservation(
                ok: true, measurement: HealthMeasurement(status: 200, json: .map(["replication": .map(["lag_seconds": .int(2), "ok": .bool(true), "rate": .number(0.5)])]))),
            "page": HealthObservation(ok: false, measurement: HealthMeasurement(status: 503, bodyError: "the response body is empty, not JSON")),
            "pages": HealthObservation(ok: false, measurement: HealthMeasurement(status: 200, blockingAlerts: ["ErrorsHigh"])),
        ]
        let text = FactsFile.json(facts).serialized(indent: 2)
        let back = FactsFile.read(SourceFile(path: "last-decision.json", text: text))
        #expect(back.diagnostics.isEmpty, "\(back.diagnostics.map(\.message))")
        for (name, observation) in facts.health {
            #expect(back.facts.health[name]?.measurement == observation.measurement, "\(name): \(text)")
        }
        #expect(back.facts.health["errors"]?.duration == 120)
        let health = try #require((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["health"] as? [String: [String: Any]])
        #expect(health.values.allSatisfy { $0["ok"] == nil }, "the values decide a measuring check, not the judgement of the day: \(text)")
    }

    @Test func measuredValuesAsAnOperatorWritesThem() throws {
        let file = FactsFile.read(
            SourceFile(
                path: "f.yaml",
                text: """
                    health:
                      errors: {value: 0.034}
                      lag: {status: 200, json: {replication: {lag_seconds: 2.5, region: eu}, ready: true}}
                      by-job: {result: [1, {value: 0.5, labels: {job: web}}]}

                    """))
        #expect(file.diagnostics.isEmpty, "\(file.diagnostics.map(\.message))")
        #expect(file.facts.health["errors"]?.measurement == HealthMeasurement(value: 0.034))
        #expect(file.facts.health["errors"]?.ok == true, "the policy's `ok when` judges the value")
        #expect(file.facts.health["lag"]?.measurement?.json == .map(["replication": .map(["lag_seconds": .number(2.5), "region": .string("eu")]), "ready": .bool(true)]))
        #expect(file.facts.health["by-job"]?.measurement?.samples == [HealthSample(value: 1), HealthSample(value: 0.5, labels: ["job": "web"])])
    }

    @Test func measuredValuesThatAreWrongOrNotMeasuredAreLocated() throws {
        let wrong = FactsFile.read(SourceFile(path: "f.yaml", text: "health:\n  errors: {value: high}\n  by-job: {result: [{labels: {}}]}\n"))
        #expect(wrong.diagnostics.map(\.message) == ["`value` must be a number", "a sample needs a numeric `value`"])
        #expect(wrong.diagnostics.map { wrong.file.location(of: $0.span.start).line } == [2, 3])
        let policy = try #require(
            Checker.check(
                SourceFile(
                    path: "p.rcl",
                    text: """
                        policy "p" {}
                        detector "apt" debian
                        health "cluster" script "/bin/true"
                        health "errors" prometheus "http://127.0.0.1:9090" query "up" { ok when value < 0.01 }
                        health "pages" alerts "http://127.0.0.1:9093" { block_on {} }

                        """)
            ).policy)
        let file = FactsFile.read(SourceFile(path: "f.yaml", text: "health:\n  cluster: {value: 0.5}\n  errors: {status: 200, json: {a: 1}}\n  pages: {alerts: [X]}\n"))
        let problems = file.diagnostics(against: policy)
        #expect(problems.map(\.message) == ["health \"cluster\" is a script: it measures no `value`", "health \"errors\" is a prometheus check: it measures no `json`"])
        #expect(problems.map { file.file.location(of: $0.span.start).line } == [2, 3])
        #expect(problems.last?.help == "its measured values are `status`, `value`, `result`, `empty`, `query_error`")
    }
}

/// Which kill switches were active goes out with the facts and comes back, and is checked against the policy.
@Suite struct FactsFileKillSwitchTests {
    static let policy = Checker.check(
        SourceFile(
            path: "p.rcl",
            text: "policy \"p\" {}\ndetector \"apt\" debian\nlock etcd { endpoints [\"https://127.0.0.1:2379\"] }\nkill_switch file \"/run/rc/stop\"\nkill_switch etcd\n")
    ).policy

    @Test func theActiveSwitchesGoOutAndComeBack() throws {
        let facts = Facts(killSwitch: true)
        var withActive = facts
        withActive.activeKillSwitches = ["file /run/rc/stop"]
        let back = FactsFile.read(SourceFile(path: "last-decision.json", text: FactsFile.json(withActive).serialized(indent: 2)))
        #expect(back.diagnostics.isEmpty)
        #expect(back.facts.killSwitch == true && back.facts.activeKillSwitches == ["file /run/rc/stop"])
    }

    @Test func unknownOrContradictedSwitchesAreRefused() throws {
        let policy = try #require(Self.policy)
        let unknown = FactsFile.read(SourceFile(path: "f.yaml", text: "kill_switches_active: [\"file /run/rc/stopp\"]\n"))
        #expect(unknown.diagnostics(against: policy).map(\.message) == ["unknown kill switch \"file /run/rc/stopp\""])
        #expect(unknown.facts.killSwitch == true)
        let contradicted = FactsFile.read(SourceFile(path: "f.yaml", text: "kill_switch: false\nkill_switches_active: [\"file /run/rc/stop\"]\n"))
        #expect(contradicted.diagnostics.map(\.message) == ["`kill_switches_active` contradicts `kill_switch: false`"])
        let none = FactsFile.read(SourceFile(path: "f.yaml", text: "kill_switch: true\nkill_switches_active: []\n"))
        #expect(none.diagnostics.map(\.message) == ["`kill_switches_active` contradicts `kill_switch: true`"])
    }
}

/// A facts file's measured values decide a measuring check; what contradicts them, or gives none, is refused.
@Suite struct FactsFileMeasurementAgreementTests {
    static let policy = PreparedPolicy(
        Checker.check(
            SourceFile(
                path: "p.rcl",
                text: """
                    policy "p" {}
                    detector "apt" debian
                    health "errors" prometheus "http://127.0.0.1:9090" query "up" { ok when value < 0.01 }
                    health "pages" alerts "http://127.0.0.1:9093" { block_on {} }

                    """)
        ).policy!)

    func problems(_ health: String) -> [String] {
        let file = FactsFile.read(SourceFile(path: "f.yaml", text: "health:\n" + health))
        return (file.diagnostics + file.diagnostics(against: Self.policy)).map(\.message)
    }

    @Test func anOkThatTheValuesContradictIsRefused() {
        #expect(problems("  errors: {ok: false, value: 0.002}\n") == ["health \"errors\": `ok: false` contradicts its measured values, which pass under this policy (0.002 < 0.01 is true)"])
        #expect(problems("  errors: {ok: true, value: 0.034}\n") == ["health \"errors\": `ok: true` contradicts its measured values, which fail under this policy (0.034 < 0.01 is false)"])
        #expect(problems("  pages: {ok: true, alerts: [HighErrorRate]}\n") == ["health \"pages\": `ok: true` contradicts its measured values, which fail under this policy (1 active alert matches {}: \"HighErrorRate\")"])
    }

    @Test func anOkThatTheValuesAgreeWithIsAccepted() {
        // As the daemon writes its facts: the judgement beside the values it judged.
        #expect(problems("  errors: {ok: false, value: 0.034}\n  pages: {ok: true, alerts: []}\n").isEmpty)
    }

    @Test func theDaemonsFactsReplayUnderAChangedThreshold() throws {
        var facts = Facts()
        facts.health["errors"] = HealthObservation(ok: false, output: "0.034 < 0.01 is false", measurement: HealthMeasurement(status: 200, value: 0.034))
        let written = FactsFile.read(SourceFile(path: "last-decision.json", text: FactsFile.json(facts).serialized(indent: 2)))
        let looser = PreparedPolicy(
            try #require(
                Checker.check(
                    SourceFile(path: "p.rcl", text: "policy \"p\" {}\ndetector \"apt\" debian\nhealth \"errors\" prometheus \"http://127.0.0.1:9090\" query \"up\" { ok when value < 0.05 }\n")
                ).policy))
        #expect(written.diagnostics.isEmpty && written.diagnostics(against: looser).isEmpty)
        let observation = try #require(written.facts.health["errors"])
        #expect(looser.judgeHealth("errors", observation)?.ok == true)
        #expect(Self.policy.judgeHealth("errors", observation)?.ok == false)
    }

    @Test func aCheckGivenNoResultIsRefusedNotTakenAsPassing() {
        #expect(problems("  errors: {status: 500}\n") == ["health \"errors\" gives no query result"])
        #expect(problems("  pages: {status: 500}\n") == ["health \"pages\" gives no list of active alerts"])
    }

    @Test func emptyIsAQueryWithNoSample() {
        let file = FactsFile.read(SourceFile(path: "f.yaml", text: "health:\n  errors: {empty: true}\n"))
        #expect(file.diagnostics.isEmpty && file.diagnostics(against: Self.policy).isEmpty)
        #expect(file.facts.health["errors"]?.measurement?.samples == [])
        #expect(problems("  errors: {empty: true, value: 3}\n") == ["`empty: true` contradicts the `value` given beside it"])
        #expect(problems("  errors: {empty: false}\n").first == "`empty: false` needs the sample the query returned")
    }
}
