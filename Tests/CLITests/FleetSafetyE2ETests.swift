import Foundation
import RCTestSupport
import Testing

/// The fleet-safety failures measured with several daemons on one real etcd, each replayed end to end.
@Suite(.serialized) struct FleetSafetyE2ETests {
    func waitFor(_ seconds: Double, _ done: () -> Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        while !done(), Date() < deadline { usleep(50_000) }
    }

    /// A quorum rule over a 3-node fleet: 60 % of the members must be healthy.
    static let quorum = #"rule "keep quorum" { deny when cluster.healthy < 60% of cluster.size }"#

    @Test func unhealthyMembersThatGoQuietKeepBlockingTheQuorum() throws {
        // b and c are unhealthy; a needs a reboot and is held by the quorum. Then b and c stop reporting for good.
        let fleet = try FleetHarness(["a", "b", "c"], extra: { _ in Self.quorum }, health: { $0 == "a" ? "exit 0" : "exit 1" })
        for quiet in ["b", "c"] { try FileManager.default.removeItem(atPath: fleet.dir + "/\(quiet)/flag") }
        try fleet.startAll()
        // Every node has reported (its first decision) and a is held.
        waitFor(20) { ["a", "b", "c"].allSatisfy { fleet.log($0).contains("decision:") } && fleet.log("a").contains("blocked by rule \"keep quorum\"") }
        #expect(["a", "b", "c"].allSatisfy { fleet.log($0).contains("decision:") })
        #expect(fleet.log("a").contains("blocked by rule \"keep quorum\""))
        fleet.kill9("b")
        fleet.kill9("c")
        let killed = fleet.log("a").count
        // Their liveness leases end after 3 s; nine seconds later they still count, as not healthy.
        try fleet.supervise(seconds: 9)
        // What an operator sees: b and c stale, a healthy and held by the quorum.
        let cli = CLITests()
        let policy = fleet.dir + "/a/policy.rcl"
        let json = try cli.rc(["fleet", "status", policy, "--format", "json", "--node-name", "a"])
        let text = try cli.rc(["fleet", "status", policy, "--node-name", "a"])
        let status = (try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8))) as? [String: Any] ?? [:]
        let nodes = (status["nodes"] as? [[String: Any]]) ?? []
        #expect(json.status == 0 && status["members"] as? Int == 3 && status["healthy"] as? Int == 1 && status["stale"] as? Int == 2, "\(json.stdout)\(json.stderr)")
        #expect(nodes.compactMap { $0["node"] as? String } == ["a", "b", "c"] && nodes.compactMap { $0["state"] as? String } == ["healthy", "stale", "stale"])
        let decision = nodes.first?["decision"] as? [String: Any]
        #expect(decision?["blocked_by"] as? String == "rule" && decision?["name"] as? String == "keep quorum", "\(json.stdout)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "fleet etcd /fleet: 3 members, 1 healthy, 2 stale", "\(text.stdout)")
        #expect(lines.count == 5 && lines[1].hasPrefix("  a  healthy  reported ") && lines[1].hasSuffix("last: blocked by rule \"keep quorum\""), "\(text.stdout)")
        #expect(lines.count == 5 && lines[2].hasPrefix("  b  stale  reported "), "\(text.stdout)")
        // Forgetting a decommissioned member; forgetting it twice is an error.
        let forget = try cli.rc(["fleet", "forget", policy, "b", "--node-name", "a"])
        #expect(forget.status == 0 && forget.stdout == "forgot b\n", "\(forget.stdout)\(forget.stderr)")
        let again = try cli.rc(["fleet", "forget", policy, "b", "--node-name", "a"])
        #expect(again.status == 1 && again.stderr.contains("\"b\" is no member of the fleet"))
        let after = try cli.rc(["fleet", "status", policy, "--node-name", "a"])
        fleet.stopAll()
        #expect(after.stdout.hasPrefix("fleet etcd /fleet: 2 members, 1 healthy, 1 stale"), "\(after.stdout)")
        #expect(!fleet.rebooted("a"), "a rebooted with 1 of 3 members healthy")
        #expect(fleet.reboots.isEmpty)
        // a kept to its decision (logged once while it stays the same): nothing but "blocked by rule" since.
        let since = String(fleet.log("a").dropFirst(killed))
        #expect(!since.contains("decision: reboot") && !since.contains("rebooting:") && !since.contains("decision: blocked by lock"), "\(since)")
    }

    @Test func fleetStatusShowsTheValueAMeasuringCheckBlockedOn() throws {
        // Answers as Prometheus's /api/v1/query does for a scalar (HealthGateE2ETests runs the real one).
        let server = try ScriptedHTTPServer { _ in
            .respond(status: 200, contentType: "application/json", body: #"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.034"]}}"#)
        }
        defer { server.stop() }
        let check = #"health "errors" prometheus "\#(server.url)" query "sum(rate(e[5m]))" { ok when value < 0.01  timeout 2s }"#
        let fleet = try FleetHarness(["a", "b"], extra: { $0 == "a" ? check : "" })
        try FileManager.default.removeItem(atPath: fleet.dir + "/b/flag")
        try fleet.startAll()
        waitFor(20) { fleet.log("a").contains(#"blocked by health "errors""#) && fleet.log("b").contains("decision:") }
        // The report of a's decision is published with the decision.
        try fleet.supervise(seconds: 2)
        let cli = CLITests()
        let policy = fleet.dir + "/a/policy.rcl"
        let text = try cli.rc(["fleet", "status", policy, "--node-name", "a"])
        let json = try cli.rc(["fleet", "status", policy, "--format", "json", "--node-name", "a"])
        fleet.stopAll()
        #expect(fleet.reboots.isEmpty)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.count == 4 && lines[1].hasPrefix("  a  ") && lines[1].hasSuffix(#"last: blocked by health "errors"  needs value < 0.01, was 0.034"#),
            "\(text.stdout)\(text.stderr)")
        // A decision no measuring check blocked shows none.
        #expect(lines.count == 4 && lines[2].hasPrefix("  b  ") && lines[2].hasSuffix("last: no_reboot_needed"), "\(text.stdout)")
        let status = (try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8))) as? [String: Any] ?? [:]
        let decisions = ((status["nodes"] as? [[String: Any]]) ?? []).map { $0["decision"] as? [String: Any] ?? [:] }
        #expect(decisions.count == 2 && decisions[0]["value"] as? Double == 0.034 && decisions[0]["needs"] as? String == "needs value < 0.01, was 0.034", "\(json.stdout)")
        #expect(decisions.count == 2 && decisions[1]["value"] is NSNull && decisions[1]["needs"] is NSNull, "\(json.stdout)")
    }

    @Test func aHealthyFleetWithALongCheckIntervalIsNotBlockedByTiming() throws {
        // Passes every 20 s, reports every second: between passes only the reporter keeps b and c fresh.
        let fleet = try FleetHarness(
            ["a", "b", "c"], cluster: "check_interval 20s  backoff 500ms .. 2s  publish_interval 1s",
            extra: { _ in #"rule "all up" { deny when cluster.healthy < 3 }"# }, health: { _ in "exit 0" })
        for other in ["b", "c"] { try FileManager.default.removeItem(atPath: fleet.dir + "/\(other)/flag") }
        try fleet.start("b")
        try fleet.start("c")
        waitFor(10) { fleet.log("b").contains("decision:") && fleet.log("c").contains("decision:") }
        // Long enough after b's and c's first pass that a report made only by the passes would have expired.
        usleep(5_000_000)
        try fleet.start("a")
        try fleet.supervise(seconds: 12) { fleet.rebooted("a") }
        fleet.stopAll()
        #expect(fleet.rebooted("a"), "a was held although all 3 members are healthy: \(fleet.log("a"))")
        #expect(!fleet.log("a").contains("blocked by rule \"all up\""))
    }

    @Test func twoHostsWithOneNameRebootOneAtATime() throws {
        // The holder takes 1.5 s under the lock, so the other host's passes (every second) meet its slot.
        let fleet = try FleetHarness(["h1", "h2"], health: { _ in "[ \"$RC_PHASE\" = post-lock ] && sleep 1.5; exit 0" })
        fleet.nodeNames = ["h1": "twin", "h2": "twin"]
        try fleet.startAll()
        let refusal = "uses the node name \"twin\""
        try fleet.supervise(seconds: 40) { fleet.rebooted("h1") && fleet.rebooted("h2") }
        fleet.stopAll()
        #expect(fleet.maxOverlap <= 1, "two hosts of one name rebooted at once: \(fleet.reboots)")
        #expect(fleet.log("h1").contains(refusal) || fleet.log("h2").contains(refusal), "the second host was told why it waits")
        #expect(fleet.rebooted("h1") && fleet.rebooted("h2"), "each gets its turn: \(fleet.log("h1").suffix(3000))\n---\n\(fleet.log("h2").suffix(3000))")
    }

    @Test func aDaemonKilledInTheRebootCommandKeepsTheSlotAndDoesNotRebootAgain() throws {
        let fleet = try FleetHarness(["k", "m"], maxReboot: "6s")
        // The first reboot command of k kills its daemon and returns without a reboot (as a `shutdown -r +1`
        // whose daemon was then killed): the boot id stays the same.
        let script = """
            #!/bin/sh
            n=$1
            if [ "$n" = k ] && [ ! -f \(fleet.dir)/k/killed ]; then
              touch \(fleet.dir)/k/killed
              echo "start $n $(date +%s%3N)" >> \(fleet.dir)/events
              echo "end $n $(date +%s%3N)" >> \(fleet.dir)/events
              kill -9 $PPID
              exit 0
            fi
            echo "start $n $(date +%s%3N)" >> \(fleet.dir)/events
            sleep 0.4
            rm -f \(fleet.dir)/$n/flag
            echo "boot-$(date +%s%N)" > \(fleet.dir)/$n/boot_id
            echo "end $n $(date +%s%3N)" >> \(fleet.dir)/events
            kill -TERM $PPID
            """
        try fleet.write(fleet.dir + "/reboot.sh", script, mode: 0o755)
        try FileManager.default.removeItem(atPath: fleet.dir + "/m/flag")
        try fleet.start("k")
        waitFor(20) { fleet.reboots.contains { $0.node == "k" } }
        let first = try #require(fleet.reboots.first { $0.node == "k" })
        FileManager.default.createFile(atPath: fleet.dir + "/m/flag", contents: Data())
        try fleet.start("m")
        try fleet.supervise(seconds: 30) { fleet.rebooted("m") && fleet.reboots.filter { $0.node == "k" }.count >= 2 }
        fleet.stopAll()
        // While k's reboot lease (6 s) lasts, nobody else reboots and k does not run its command again.
        let during = fleet.reboots.filter { $0.start > first.start && $0.start < first.start + 5_500 }
        #expect(during.isEmpty, "rebooted while k's slot was kept for its reboot: \(during.map(\.node))")
        #expect(fleet.log("k").contains("has not happened (boot id unchanged)"))
        #expect(fleet.rebooted("m"), "m gets the slot once k's reboot lease ended")
        #expect(fleet.maxOverlap <= 1)
    }

    @Test func aHolderKeyReplacedUnderTheLockMeansNoReboot() throws {
        let fleet = try FleetHarness(["solo"], health: { _ in "exit 0" })
        // Under the lock, someone else's record takes the place of this node's holder key.
        let replace = """
            #!/bin/sh
            if [ "$RC_PHASE" = post-lock ]; then
              ETCDCTL_API=3 etcdctl --endpoints=\(fleet.etcd.endpoint) put /fleet/locks/default/holders/solo \
                '{"node":"solo","pid":1,"acquired_at":"2026-12-01T10:00:00Z","phase":"post-lock"}' >/dev/null
            fi
            exit 0
            """
        try fleet.write(fleet.dir + "/solo/health.sh", replace, mode: 0o755)
        let cli = CLITests()
        let d = fleet.dir + "/solo"
        let run = try cli.rc(["run", d + "/policy.rcl", "--once", "--state-dir", d + "/state", "--node-name", "solo", "--boot-id-file", d + "/boot_id"])
        #expect(run.status == 4, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("the lock slot cannot be kept for the reboot"), "\(run.stdout)")
        #expect(fleet.reboots.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: d + "/state/rebooting.json"))
    }
}
