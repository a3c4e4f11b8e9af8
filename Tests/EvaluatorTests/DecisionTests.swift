import Evaluator
import Foundation
import PolicyLang
import Testing

/// The decision steps of DESIGN.md, expression semantics, what-would-change and the purity of the evaluator.
@Suite struct DecisionTests {
    static let policy = prepare(
        """
        policy "p" { applies_to node.name matches /^web-/ }
        detector "apt" debian
        detector "dnf" command ["/usr/bin/needs-restarting", "-r"] { reboot_when exit == 1 }
        health "gate" script "/usr/local/bin/gate" { run pre_lock, post_lock, post_boot }
        lock etcd { endpoints ["https://127.0.0.1:2379"]  slots 2 }
        kill_switch file "/etc/rc/disable"
        rule "quorum" { deny when cluster.healthy < max(3, 60% of cluster.size) }
        rule "soak" {
          deny when node.labels["tier"] == "canary" and node.uptime < 24h
          deny when now - cluster.last_reboot < 15m
        }
        """)

    let now = at("2026-11-24T23:00:00+01:00")
    var fired: Facts {
        Facts(now: now, nodeName: "web-1", detectors: ["apt": DetectorObservation(.fired)], cluster: ClusterFacts(size: 5, healthy: 5))
    }

    @Test func theKillSwitchReasonNamesTheActiveSwitchOrSaysItIsOneOfThem() {
        let policy = prepare("policy \"p\" {}\ndetector \"apt\" debian\nlock etcd { endpoints [\"https://127.0.0.1:2379\"] }\nkill_switch file \"/etc/rc/disable\"\nkill_switch etcd\n")
        var f = fired
        f.killSwitch = true
        #expect(policy.decide(f).reasons.first == "the kill switch is active (one of file /etc/rc/disable, etcd key /rc/kill_switch)")
        f.activeKillSwitches = ["etcd key /rc/kill_switch"]
        #expect(policy.decide(f).reasons.first == "the kill switch is active (etcd key /rc/kill_switch)")
        #expect(Self.policy.decide(Facts(now: now, nodeName: "web-1", killSwitch: true, detectors: ["apt": DetectorObservation(.fired)])).reasons.first
            == "the kill switch is active (file /etc/rc/disable)")
    }

    @Test func rebootWhenEveryGatePasses() {
        let d = Self.policy.decide(fired)
        #expect(d.outcome == .reboot && d.exitCode == 0 && d.blockedBy == nil)
        #expect(d.applies == true)
        #expect(d.trace.isEmpty, "no trace unless asked for")
        #expect(!d.reasons.isEmpty)
    }

    @Test func aFullLockNamesTheLineAndThisNodesPlace() {
        var f = fired
        f.health["gate"] = HealthObservation(ok: true)
        for (place, word) in [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"), (21, "21st"), (22, "22nd"), (103, "103rd"), (111, "111th")] {
            var line = (1...place + 1).map { "web-\($0 + 100)" }
            line[place - 1] = "web-1"
            f.lock = LockFacts(held: false, available: false, slots: 2, waiting: line)
            let d = Self.policy.decide(f)
            #expect(d.blockedBy == .lock)
            #expect(d.reasons.joined().contains("in line: \(line.joined(separator: ", ")) (this node is \(word))"), "\(d.reasons)")
        }
        // Only the first of a longer line is listed; a node not among them is not placed.
        f.lock = LockFacts(held: false, available: false, slots: 2, waiting: ["web-7", "web-8"], waitingCount: 5)
        let d = Self.policy.decide(f)
        #expect(d.reasons.joined().contains("in line: web-7, web-8 and 3 more") && !d.reasons.joined().contains("this node is"))
    }

    @Test func stepsBlockInOrder() {
        var f = fired
        f.killSwitch = true
        f.health["gate"] = HealthObservation(ok: false, exitCode: 1)
        f.cluster.healthy = 1
        // Kill switch comes before rules and health.
        #expect(Self.policy.decide(f).blockedBy == .killSwitch)
        f.killSwitch = false
        #expect(Self.policy.decide(f).blockedBy == .rule)
        #expect(Self.policy.decide(f).name == "quorum")
        f.cluster.healthy = 5
        let health = Self.policy.decide(f)
        #expect(health.blockedBy == .health && health.name == "gate" && health.exitCode == 3)
        f.health["gate"] = HealthObservation(ok: true)
        f.lock = LockFacts(available: false, holders: [LockHolder(node: "web-2"), LockHolder(node: "web-3")])
        let lock = Self.policy.decide(f)
        #expect(lock.blockedBy == .lock && lock.exitCode == 4)
        #expect(lock.reasons.first?.contains("all 2 slots held by web-2, web-3") == true)
        f.lock.held = true
        #expect(Self.policy.decide(f).outcome == .reboot, "a node holding a slot may go on")
    }

    @Test func detectorsDecideTheNeed() {
        var f = fired
        f.detectors = [:]
        #expect(Self.policy.decide(f).outcome == .noRebootNeeded)
        f.detectors["dnf"] = DetectorObservation(.error("not found"))
        let error = Self.policy.decide(f)
        #expect(error.blockedBy == .detectorError && error.name == "dnf" && error.exitCode == 6)
        f.detectors["apt"] = DetectorObservation(.fired)
        #expect(Self.policy.decide(f).outcome == .reboot, "a detector that fired settles the need despite another's error")
        f.killSwitch = true
        f.detectors = ["apt": DetectorObservation(.clear)]
        #expect(Self.policy.decide(f).outcome == .noRebootNeeded, "no need, so the kill switch does not matter")
    }

    @Test func commandDetectorConditions() {
        #expect(Self.policy.commandDetectorState("dnf", exitCode: 1, stdout: "") == .fired)
        #expect(Self.policy.commandDetectorState("dnf", exitCode: 0, stdout: "") == .clear)
        #expect(Self.policy.commandDetectorState("dnf", exitCode: 127, stdout: "") == .error("unexpected exit 127"))
        #expect(Self.policy.commandDetectorState("apt", exitCode: 1, stdout: "") == nil)
    }

    @Test func phases() {
        var f = fired
        f.phase = .postLock
        #expect(Self.policy.decide(f).outcome == .reboot, "under the lock the slot is assumed held")
        f.lock.held = false
        #expect(Self.policy.decide(f).blockedBy == .lock)
        f.lock.held = true
        f.detectors = [:]
        let cleared = Self.policy.decide(f)
        #expect(cleared.outcome == .noRebootNeeded && cleared.reasons.first?.contains("release the lock slot") == true)
        let boot = Self.policy.decide(Facts(phase: .postBoot, health: ["gate": HealthObservation(ok: false)]))
        #expect(boot.blockedBy == .health && boot.phase == .postBoot)
        #expect(Self.policy.decide(Facts(phase: .postBoot)).outcome == .noRebootNeeded)
        #expect(Self.policy.decide(fired, phase: .postBoot).outcome == .noRebootNeeded, "--phase overrides the facts")
    }

    @Test func assumptionsAreReported() {
        let d = Self.policy.decide(Facts(now: now, detectors: ["apt": DetectorObservation(.fired)]), trace: true)
        let assumed = Set(d.assumed.map(\.fact))
        #expect(assumed.isSuperset(of: ["kill_switch", "cluster.healthy", "cluster.size", "node.name", "detector \"dnf\""]))
        #expect(!assumed.contains("health \"gate\""), "the health step was not reached")
        #expect(!assumed.contains("now"))
        // The assumed cluster (this node alone) fails the quorum rule: unknown cluster state never lets a reboot through.
        #expect(d.blockedBy == .rule)
    }

    @Test func expressionSemantics() {
        func denies(_ condition: String, _ facts: Facts) -> Bool {
            let p = prepare("policy \"e\" {}\ndetector \"apt\" debian\nrule \"r\" { deny when \(condition) }")
            var f = facts
            f.detectors["apt"] = DetectorObservation(.fired)
            return p.decide(f).blockedBy == .rule
        }
        let five = Facts(cluster: ClusterFacts(size: 5, healthy: 3))
        #expect(!denies("cluster.healthy < 60% of cluster.size", five), "60% of 5 is 3")
        #expect(denies("cluster.healthy < 61% of cluster.size", five), "61% of 5 rounds up to 4")
        #expect(!denies("cluster.healthy < 70% of 10 - 4", five), "70% of 10 is exactly 7, not 8")
        #expect(!denies("node.labels[\"tier\"] == \"canary\"", Facts()), "a missing label reads as \"\"")
        #expect(denies("not (\"tier\" in node.labels)", Facts()))
        #expect(denies("\"eb\" in node.name", Facts(nodeName: "web-1")))
        #expect(denies("len(node.labels) == 2", Facts(nodeLabels: ["a": "1", "b": "2"])))
        #expect(denies("min(cluster.size, 2) == 2 and max(1h, 30m) == 60m", five))
        #expect(denies("node.name == \"${node.name}\"", Facts(nodeName: "web-1")))
        #expect(denies("now - 1h > 2026-11-24T21:59:00+01:00", Facts(now: now)))
        // Overflow at run time: the rule cannot be evaluated, so it denies (fail safe) instead of crashing.
        let overflow = prepare("policy \"o\" {}\ndetector \"apt\" debian\nrule \"big\" { deny when cluster.size * 9223372036854775807 > 1 }")
        let d = overflow.decide(Facts(detectors: ["apt": DetectorObservation(.fired)], cluster: ClusterFacts(size: 5)))
        #expect(d.blockedBy == .rule && d.reasons.first?.contains("could not be evaluated (the result is too large") == true)
    }

    @Test func wouldChangeLeadsToAReboot() {
        var f = fired
        f.cluster.healthy = 2
        f.nodeLabels = ["tier": "canary"]
        f.nodeUptime = 3_600_000
        f.cluster.lastReboot = at("2026-11-24T22:55:00+01:00")
        f.health["gate"] = HealthObservation(ok: false)
        let (changes, complete) = Self.policy.wouldChange(f)
        #expect(complete)
        #expect(changes.map(\.text) == ["cluster.healthy ≥ 3", "node.uptime ≥ 1d", "now ≥ Tue 2026-11-24 22:10 UTC", "health \"gate\" ok"])
        var changed = f
        changed.cluster.healthy = 3
        changed.nodeUptime = 86_400_000
        changed.now = at("2026-11-24T23:10:00+01:00")
        changed.health["gate"] = HealthObservation(ok: true)
        #expect(Self.policy.decide(changed).outcome == .reboot)
        #expect(Self.policy.wouldChange(fired).changes.isEmpty)
    }

    @Test func wouldChangeNeverTurnsTimeBack() {
        // A freeze written as a rule on `now` (how operators worked before dated windows): the window lets the node
        // through at 22:00, then the rule holds it until Jan 10. Moving `now` before the freeze would be going back in
        // time; the answer is the freeze's end.
        let p = prepare(
            """
            policy "p" {}
            detector "apt" debian
            timezone "Europe/Berlin"
            window allow "night" daily 22:00 .. 04:00
            rule "freeze" { deny when now >= 2026-12-19T00:00:00+01:00 and now < 2027-01-10T00:00:00+01:00 }
            """)
        var f = Facts(now: at("2026-12-20T10:00:00+01:00"), detectors: ["apt": DetectorObservation(.fired)])
        let (changes, complete) = p.wouldChange(f)
        #expect(complete)
        #expect(changes.map(\.text) == ["now ≥ Sun 2027-01-10 00:00 +01:00"])
        // The same at 04:30 on a day the freeze started at 03:00: `now ≥ 03:00` is already true, so it is no change.
        let early = prepare(
            """
            policy "p" {}
            detector "apt" debian
            rule "soak" { deny when now >= 2026-12-20T03:00:00Z and node.uptime < 24h }
            """)
        f = Facts(now: at("2026-12-20T04:00:00Z"), nodeUptime: 3_600_000, detectors: ["apt": DetectorObservation(.fired)])
        let answer = early.wouldChange(f)
        #expect(answer.complete)
        #expect(answer.changes.map(\.text) == ["node.uptime ≥ 1d"])
    }

    @Test func selectionByAppliesTo() {
        let web = prepare("policy \"web\" { applies_to node.name matches /^web-/ }\ndetector \"apt\" debian")
        let canary = prepare("policy \"canary\" { applies_to node.labels[\"tier\"] == \"canary\" }\ndetector \"apt\" debian")
        let fallback = prepare("policy \"default\" {}\ndetector \"apt\" debian")
        let all = [web, canary, fallback]
        #expect((try? PolicySelection.select(all, for: Facts(nodeName: "web-1")).get())?.policy.name == "web")
        #expect((try? PolicySelection.select(all, for: Facts(nodeName: "db-1")).get())?.policy.name == "default")
        guard case .failure(.ambiguous(_, let both)) = PolicySelection.select(all, for: Facts(nodeName: "web-1", nodeLabels: ["tier": "canary"])) else {
            Issue.record("two matching policies must be an error")
            return
        }
        #expect(both.map(\.policy.name) == ["web", "canary"])
        guard case .failure(.none) = PolicySelection.select([web, canary], for: Facts(nodeName: "db-1")) else {
            Issue.record("no matching policy must be an error")
            return
        }
    }

    @Test func aDecisionDependsOnlyOnPolicyAndFacts() async throws {
        let first = Self.policy.decide(fired, trace: true)
        try await Task.sleep(for: .milliseconds(20))
        let second = Self.policy.decide(fired, trace: true)
        #expect(first.outcome == second.outcome && first.reasons == second.reasons)
        #expect(first.trace.lines.map(\.value) == second.trace.lines.map(\.value))
    }

    /// The evaluator and the language import no I/O and read no clock: only `TimeZone` rules (and `Date` to ask
    /// for them) come from Foundation, by scoped import.
    @Test(arguments: ["Sources/Evaluator", "Sources/PolicyLang"])
    func pureModulesUseNoIO(_ directory: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent(directory)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".swift") }
        let allowedImports: Set<String> = ["import PolicyLang", "import CPCRE2", "import struct Foundation.TimeZone", "import struct Foundation.Date", "import class Foundation.NSLock"]
        let forbidden = [
            "FileManager", "FileHandle", "Process(", "ProcessInfo", "Date()", "Date.now", "ContinuousClock", "SuspendingClock",
            "DispatchTime", "clock_gettime", "gettimeofday", "time(nil)", "fopen", "open(", "read(", "getenv", "URLSession", "Socket",
        ]
        var subdirectories = [dir]
        var sources: [URL] = files.map { dir.appendingPathComponent($0) }
        while let d = subdirectories.popLast() {
            for item in (try? FileManager.default.contentsOfDirectory(atPath: d.path)) ?? [] {
                let url = d.appendingPathComponent(item)
                var isDirectory: ObjCBool = false
                FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
                if isDirectory.boolValue { subdirectories.append(url) } else if item.hasSuffix(".swift"), !sources.contains(url) { sources.append(url) }
            }
        }
        #expect(!sources.isEmpty)
        for source in sources {
            let text = try String(contentsOf: source, encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("import ") {
                #expect(allowedImports.contains(String(line)), "\(source.lastPathComponent): \(line)")
            }
            for word in forbidden {
                #expect(!text.contains(word), "\(source.lastPathComponent) uses \(word)")
            }
        }
    }
}
