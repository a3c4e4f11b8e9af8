import Foundation
import PolicyLang
import RCTestSupport
import Testing

/// End-to-end runs of several daemons on one real etcd (FleetHarness).
@Suite(.serialized) struct FleetTests {
    @Test(arguments: [1, 2])
    func e2e1SlotsBoundTheRebootsInProgressAndEveryNodeReboots(_ slots: Int) throws {
        let names = (1...5).map { "node-\($0)" }
        let fleet = try FleetHarness(names, slots: slots)
        try fleet.startAll()
        let released = "the post-boot gate passed and the lock slot is released"
        try fleet.supervise(seconds: 90) { names.allSatisfy { fleet.rebooted($0) && fleet.log($0).contains(released) } }
        fleet.stopAll()
        #expect(names.allSatisfy(fleet.rebooted), "rebooted: \(fleet.reboots.map(\.node))")
        #expect(fleet.reboots.count == 5, "each node rebooted once")
        #expect(fleet.maxOverlap <= slots, "at most \(slots) at once, saw \(fleet.maxOverlap)")
        #expect(fleet.crashed.isEmpty, "crashed: \(fleet.crashed)")
        // After the boot each node ran its post-boot gate and gave the slot back.
        for name in names { #expect(fleet.log(name).contains(released)) }
        // The fleet's history has each reboot, how it ended and how long the node was away.
        let history = try CLITests().rc(["fleet", "history", fleet.dir + "/node-1/policy.rcl", "--format", "json", "--node-name", "node-1"])
        let entries = (try? JSONSerialization.jsonObject(with: Data(history.stdout.utf8))) as? [[String: Any]] ?? []
        #expect(history.status == 0 && entries.count == 5, "\(history.stdout)\(history.stderr)")
        #expect(Set(entries.compactMap { $0["node"] as? String }) == Set(names))
        #expect(entries.allSatisfy { $0["outcome"] as? String == "rebooted" && ($0["duration_ms"] as? Int ?? -1) >= 0 && $0["finished"] is String }, "\(history.stdout)")
        // RFC 3339 text does not sort as text ("…:04Z" after "…:04.601Z"): compare the instants.
        let starts = entries.compactMap { ($0["started"] as? String).flatMap { try? Instant.parse($0).get().epochMilliseconds } }
        #expect(starts.count == 5 && starts == starts.sorted(), "oldest first: \(history.stdout)")
        let text = try CLITests().rc(["fleet", "history", fleet.dir + "/node-1/policy.rcl", "--last", "2", "--node-name", "node-1"])
        #expect(text.stdout.split(separator: "\n").count == 2 && text.stdout.contains("  rebooted  until "), "\(text.stdout)")
    }

    @Test func e2e2AFailingHealthCheckStopsEveryone() throws {
        let names = ["a", "b", "c"]
        let fleet = try FleetHarness(names, health: { _ in "echo unhealthy; exit 1" })
        try fleet.startAll()
        try fleet.supervise(seconds: 6)
        fleet.stopAll()
        #expect(fleet.reboots.isEmpty)
        #expect(fleet.log("a").contains("blocked by health \"gate\""))
    }

    @Test func e2e3TheLastHealthyFallbackStaysUpWhileTheOthersProceed() throws {
        let names = ["cp-a", "cp-b", "w1", "w2"]
        let rule = """
            cluster { fallback_nodes ["cp-a", "cp-b"] }
            rule "keep a fallback" { deny when node.name in ["cp-a", "cp-b"] and cluster.fallback_healthy < 2 }
            """
        // cp-b is unhealthy: it publishes so, and its own gate holds it.
        let fleet = try FleetHarness(names, extra: { _ in rule }, health: { $0 == "cp-b" ? "exit 1" : "exit 0" })
        // `cluster { }` may appear once: fold the settings into one block.
        for name in names {
            let path = fleet.dir + "/" + name + "/policy.rcl"
            var text = try String(contentsOfFile: path, encoding: .utf8)
            text = text.replacingOccurrences(of: "cluster { check_interval 1s  backoff 500ms .. 2s  publish_interval 1s }\n", with: "")
            text = text.replacingOccurrences(of: "cluster { fallback_nodes [\"cp-a\", \"cp-b\"] }", with: "cluster { check_interval 1s  backoff 500ms .. 2s  publish_interval 1s  fallback_nodes [\"cp-a\", \"cp-b\"] }")
            try fleet.write(path, text)
        }
        try fleet.startAll()
        try fleet.supervise(seconds: 60) { fleet.rebooted("w1") && fleet.rebooted("w2") }
        try fleet.supervise(seconds: 3)
        fleet.stopAll()
        #expect(fleet.rebooted("w1") && fleet.rebooted("w2"))
        #expect(!fleet.rebooted("cp-a") && !fleet.rebooted("cp-b"))
        #expect(fleet.log("cp-a").contains("blocked by rule \"keep a fallback\""))
    }

    @Test func e2e4AKilledHolderFreesItsSlotAfterTheLeaseAndTheNextProceeds() throws {
        let names = ["first", "second"]
        // The first node holds the slot in a slow check under the lock, and is killed there.
        let fleet = try FleetHarness(names, health: { name in
            name == "first" ? "[ \"$RC_PHASE\" = post-lock ] && sleep 10; exit 0" : "exit 0"
        })
        // Only the first node needs a reboot at first.
        try FileManager.default.removeItem(atPath: fleet.dir + "/second/flag")
        try fleet.start("first")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !fleet.log("first").contains("took a lock slot") { usleep(50_000) }
        #expect(fleet.log("first").contains("took a lock slot"))
        fleet.kill9("first")
        let killedAt = Date()
        FileManager.default.createFile(atPath: fleet.dir + "/second/flag", contents: Data())
        try fleet.start("second")
        try fleet.supervise(seconds: 30) { fleet.rebooted("second") }
        fleet.stopAll()
        #expect(fleet.rebooted("second"))
        #expect(!fleet.rebooted("first"))
        let waited = (fleet.reboots.first { $0.node == "second" }.map { Double($0.start) / 1000 } ?? 0) - killedAt.timeIntervalSince1970
        #expect(waited >= 1, "the slot stayed held until the lease ran out (waited \(waited) s)")
        #expect(fleet.log("second").contains("blocked by lock"))
    }

    @Test func e2e5ADetectorThatClearsUnderTheLockMeansNoRebootAndAFreeSlot() throws {
        let fleet = try FleetHarness(["solo"], health: { _ in "exit 0" })
        // The check under the lock clears the flag: the detection after it finds nothing to do.
        try fleet.write(fleet.dir + "/solo/health.sh", "#!/bin/sh\n[ \"$RC_PHASE\" = post-lock ] && rm -f \(fleet.dir)/solo/flag\nexit 0\n", mode: 0o755)
        let cli = CLITests()
        let d = fleet.dir + "/solo"
        let run = try cli.rc(["run", d + "/policy.rcl", "--once", "--state-dir", d + "/state", "--node-name", "solo", "--boot-id-file", d + "/boot_id"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("no reboot needed"), "\(run.stdout)")
        #expect(fleet.reboots.isEmpty)
        let status = try cli.rc(["lock", "status", d + "/policy.rcl", "--format", "json", "--state-dir", d + "/state"])
        #expect(status.status == 0 && status.stdout.contains("\"holders\": []"), "\(status.stdout)\(status.stderr)")
    }

    @Test func lockStatusListsTheNodesWaitingInLineInOrder() throws {
        let fleet = try FleetHarness(["a", "b", "c"])
        let cli = CLITests()
        let policy = fleet.dir + "/a/policy.rcl"
        func status() throws -> [String: Any] {
            let run = try cli.rc(["lock", "status", policy, "--format", "json", "--state-dir", fleet.dir + "/a/state"])
            return (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any] ?? [:]
        }
        func waiting() throws -> [String] { ((try status()["waiting"] as? [[String: Any]]) ?? []).compactMap { $0["node"] as? String } }
        func wait(_ seconds: Double, until done: () throws -> Bool) throws {
            let deadline = Date().addingTimeInterval(seconds)
            while try !done(), Date() < deadline { usleep(100_000) }
        }
        // a reboots and is not restarted: its slot stays held (phase rebooting) until its reboot lease ends.
        try fleet.start("a")
        try wait(15) { fleet.reboots.contains { $0.node == "a" && $0.end != nil } }
        try fleet.start("b")
        try wait(15) { try waiting() == ["b"] }
        try fleet.start("c")
        try wait(15) { try waiting() == ["b", "c"] }
        let json = try status()
        let text = try cli.rc(["lock", "status", policy, "--state-dir", fleet.dir + "/a/state"])
        // `rc status` on a waiting node says where it stands.
        let c = fleet.dir + "/c"
        let mine = try cli.rc(["status", c + "/policy.rcl", "--node-name", "c", "--state-dir", c + "/state", "--boot-id-file", c + "/boot_id"])
        fleet.stopAll()
        #expect(mine.status == 4 && mine.stdout.contains("; in line: b, c (this node is 2nd)"), "\(mine.stdout)\(mine.stderr)")
        #expect((json["holders"] as? [[String: Any]])?.compactMap { $0["node"] as? String } == ["a"])
        let queue = (json["waiting"] as? [[String: Any]]) ?? []
        #expect(queue.compactMap { $0["node"] as? String } == ["b", "c"] && queue.compactMap { $0["position"] as? Int } == [1, 2])
        #expect(queue.allSatisfy { ($0["lease_ttl_seconds"] as? Int ?? -1) > 0 })
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(text.status == 0 && lines.first == "lock etcd /fleet/locks/default: 1 of 1 slot held", "\(text.stdout)")
        #expect(lines.count == 5 && lines[1].hasPrefix("  a  pid ") && lines[1].contains("rebooting  lease "), "\(text.stdout)")
        #expect(lines.count == 5 && lines[2] == "2 waiting in line:" && lines[3].hasPrefix("  1. b  lease ") && lines[4].hasPrefix("  2. c  lease "))
    }

    @Test func e2e6NothingRebootsWhileEtcdIsDownAndProgressResumes() throws {
        let names = ["x", "y", "z"]
        let fleet = try FleetHarness(names)
        try fleet.startAll()
        try fleet.supervise(seconds: 30) { !fleet.reboots.isEmpty && fleet.reboots.allSatisfy { $0.end != nil } }
        fleet.etcd.stop()
        let down = Int64(Date().timeIntervalSince1970 * 1000)
        try fleet.supervise(seconds: 4)
        let up = Int64(Date().timeIntervalSince1970 * 1000)
        try fleet.etcd.start()
        try fleet.supervise(seconds: 60) { names.allSatisfy(fleet.rebooted) }
        fleet.stopAll()
        #expect(!fleet.reboots.contains { $0.start > down && $0.start < up }, "a reboot started while etcd was down")
        #expect(names.allSatisfy(fleet.rebooted), "progress resumed: \(fleet.reboots.map(\.node))")
        #expect(fleet.crashed.isEmpty, "crashed: \(fleet.crashed)")
        #expect(names.contains { fleet.log($0).contains("etcd is unreachable") })
    }
}
