import Evaluator
import Executors
import Foundation
import Logging
import PolicyLang
import RCTestSupport
import Testing

/// Durable fleet membership, the lock's checks around the reboot, one name per node, and a store that went back;
/// against a real etcd on loopback.
@Suite(.serialized) struct FleetSafetyTests {
    /// A checked policy on `endpoints` with `publish_interval` and extra cluster settings.
    func policy(_ endpoints: [String], publish: String = "1s", cluster: String = "", slots: Int = 1, ttl: String = "3s") throws -> (CheckedPolicy, EtcdLockSpec) {
        let list = endpoints.map { "\"\($0)\"" }.joined(separator: ", ")
        let text = """
            policy "f" {}
            detector "apt" debian
            lock etcd {
              endpoints [\(list)]
              key "/fs"
              slots \(slots)
              ttl \(ttl)
              max_reboot_duration 60s
            }
            cluster { publish_interval \(publish) \(cluster) }
            """
        let result = Checker.check(SourceFile(path: "f.rcl", text: text))
        guard let checked = result.policy, case .etcd(let spec) = checked.lock, !result.hasErrors else {
            throw EtcdHarness.HarnessError(description: "policy does not check: \(result.diagnostics.map(\.message))")
        }
        return (checked, spec)
    }

    func ready(_ client: EtcdClient) async throws { try await EtcdTests().ready(client) }

    /// A real etcd, a policy on it and a client once etcd answers (the caller shuts the client down).
    /// `timeout`: seconds a request may take (the client's default is 5).
    func start(publish: String = "1s", cluster: String = "", ttl: String = "3s", timeout: Int64 = 5) async throws -> (EtcdHarness, CheckedPolicy, EtcdLockSpec, EtcdClient) {
        let etcd = try EtcdHarness()
        let (checked, spec) = try policy([etcd.endpoint], publish: publish, cluster: cluster, ttl: ttl)
        let client = try EtcdClient(spec, timeout: timeout)
        try await ready(client)
        return (etcd, checked, spec, client)
    }

    func report(_ node: String, healthy: Bool = true, phase: String? = nil, at: Instant = SystemClock().now()) -> MemberReport {
        MemberReport(node: node, healthy: healthy, reportedAt: at.description, instance: "i-" + node, bootID: "b-" + node, phase: phase)
    }

    func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-fleet-safety-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func info(_ node: String) -> HolderInfo { HolderInfo(node: node, pid: 1, acquiredAt: "2026-12-01T10:00:00Z", phase: "post-lock") }

    // MARK: membership

    @Test func aMemberThatStopsReportingStaysCountedAndIsNotHealthy() async throws {
        // Liveness leases of three publish intervals: 15 s. Its requests may take up to 10 s: the test is about
        // liveness, and a loaded machine running every suite at once once took more than the default 5 s.
        let (etcd, checked, spec, client) = try await start(publish: "5s", timeout: 10)
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        let fleets = ["a", "b", "c"].map { _ in EtcdFleet(client: client, policy: checked, spec: spec, state: nil, logger: Logger(label: "test")) }
        func cluster() async throws -> ClusterFacts { try await fleets[0].cluster(node: "a", fallbackNodes: ["b"], now: SystemClock().now()) }
        /// Refreshes a (only) until b and c are stale, at most 30 s; the members as they were then.
        func untilStale() async throws -> [EtcdFleet.Member] {
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                try await fleets[0].refresh(at: SystemClock().now())
                let members = try await fleets[0].members()
                if !members.contains(where: { $0.node != "a" && $0.fresh }) { return members }
                try await Task.sleep(for: .milliseconds(500))
            }
            return try await fleets[0].members()
        }
        for (fleet, node) in zip(fleets, ["a", "b", "c"]) { try await fleet.publish(report(node, healthy: node == "a")) }
        let first = try await cluster()
        #expect(first.size == 3 && first.healthy == 1, "\(first)")
        // b and c stop reporting (crashed, powered off); a keeps reporting. Their liveness leases run out, and
        // they still count, as not healthy.
        let members = try await untilStale()
        #expect(members.filter(\.fresh).map(\.node) == ["a"])
        let later = try await cluster()
        #expect(later.size == 3 && later.healthy == 1, "stale members still count in cluster.size: \(later)")
        // Two healthy members that go stale are not healthy either.
        try await fleets[0].refresh(at: SystemClock().now())
        try await fleets[1].publish(report("b"))
        try await fleets[2].publish(report("c"))
        let healthy = try await cluster()
        #expect(healthy.size == 3 && healthy.healthy == 3 && healthy.fallbackHealthy == 1, "\(healthy)")
        _ = try await untilStale()
        let stale = try await cluster()
        #expect(stale.size == 3 && stale.healthy == 1 && stale.fallbackHealthy == 0, "\(stale)")
    }

    @Test func aMemberSilentAcrossAnEtcdRestartIsStaleAlthoughEtcdRenewedItsLease() async throws {
        // Liveness leases of 6 s, which an etcd restart renews.
        let (etcd, checked, spec, client) = try await start(publish: "2s")
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        let fleets = ["a", "b", "c"].map { _ in EtcdFleet(client: client, policy: checked, spec: spec, state: nil, logger: Logger(label: "test")) }
        for (fleet, node) in zip(fleets, ["a", "b", "c"]) { try await fleet.publish(report(node)) }
        #expect(try await fleets[0].cluster(node: "a", fallbackNodes: [], now: SystemClock().now()).healthy == 3)
        let silent = ContinuousClock.now
        // b and c go silent; 3 s later etcd restarts, which renews their liveness leases for another 6 s.
        try await Task.sleep(for: .seconds(3))
        etcd.stop()
        try etcd.start()
        try await ready(client)
        try await fleets[0].refresh(at: SystemClock().now())
        try await Task.sleep(until: silent + .seconds(7))
        try await fleets[0].refresh(at: SystemClock().now())
        #expect(try await client.range("/fs/alive/b").kvs.count == 1, "etcd kept b's liveness key alive")
        let cluster = try await fleets[0].cluster(node: "a", fallbackNodes: [], now: SystemClock().now())
        #expect(cluster.size == 3 && cluster.healthy == 1, "b and c reported nothing for 7 s, more than three publish intervals: \(cluster)")
    }

    @Test func aReaderThatStartsAfterAnEtcdRestartDoesNotTakeRenewedLeasesForLife() async throws {
        // Liveness leases of 15 s: long enough that only the term can tell b and c went silent.
        let (etcd, checked, spec, client) = try await start(publish: "5s")
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        func fleet() -> EtcdFleet { EtcdFleet(client: client, policy: checked, spec: spec, state: nil, logger: Logger(label: "test")) }
        let (b, c) = (fleet(), fleet())
        try await b.publish(report("b"))
        try await c.publish(report("c"))
        // A reader that starts on a fleet etcd has not restarted under trusts the leases at once: no waiting.
        let a = fleet()
        try await a.publish(report("a"))
        let before = try await a.cluster(node: "a", fallbackNodes: [], now: SystemClock().now())
        #expect(before.size == 3 && before.healthy == 3, "\(before)")
        // b and c go silent; etcd restarts, which renews their leases; then a daemon starts (or restarts) and reads.
        etcd.stop()
        try etcd.start()
        try await ready(client)
        let d = fleet()
        try await d.publish(report("d"))
        #expect(try await client.range("/fs/alive/b").kvs.count == 1, "etcd kept b's liveness key alive")
        let members = try await d.members()
        #expect(
            members.map { "\($0.node) \($0.freshness)" } == ["a unconfirmed", "b unconfirmed", "c unconfirmed", "d fresh"],
            "only a report written since etcd's election proves its lease")
        let after = try await d.cluster(node: "d", fallbackNodes: [], now: SystemClock().now())
        #expect(after.size == 4 && after.healthy == 1, "\(after)")
        // b reports again: it is fresh to a reader that never saw it before, and to d, which saw it change.
        try await b.refresh(at: SystemClock().now())
        #expect(try await d.cluster(node: "d", fallbackNodes: [], now: SystemClock().now()).healthy == 2)
        #expect(try await fleet().members().filter(\.fresh).map(\.node) == ["b", "d"])
    }

    @Test func aReportWrittenBeforeAnEtcdRestartAndSeenAfterItDoesNotProveItsLease() async throws {
        // Leases of 15 s: only the term can tell that b went silent.
        let (etcd, checked, spec, client) = try await start(publish: "5s")
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        func fleet() -> EtcdFleet { EtcdFleet(client: client, policy: checked, spec: spec, state: nil, logger: Logger(label: "test")) }
        let (a, b) = (fleet(), fleet())
        try await a.publish(report("a"))
        try await b.publish(report("b"))
        #expect(try await a.cluster(node: "a", fallbackNodes: [], now: SystemClock().now()).healthy == 2)
        // b reports once more while a does not read (a was cut off from etcd), then goes silent (SIGSTOP); etcd
        // restarts, which renews b's lease. a reads again: b's record changed since a last saw it, but it was
        // written before the election, so it proves nothing about b now.
        try await b.refresh(at: SystemClock().now())
        etcd.stop()
        try etcd.start()
        try await ready(client)
        try await a.refresh(at: SystemClock().now())
        #expect(try await client.range("/fs/alive/b").kvs.count == 1, "etcd kept b's liveness key alive")
        let members = try await a.members()
        #expect(members.map { "\($0.node) \($0.freshness)" } == ["a fresh", "b unconfirmed"], "\(members.map { "\($0.node) \($0.freshness)" })")
        #expect(try await a.cluster(node: "a", fallbackNodes: [], now: SystemClock().now()).healthy == 1)
    }

    /// A fleet on etcd that stalls once, when this node announces its reboot: a daemon stopped (SIGSTOP, a frozen VM)
    /// between its last read of the fleet and its reboot command.
    actor StallingFleet: Fleet {
        let inner: EtcdFleet
        let stall: @Sendable () async -> Void
        var stalled = false
        init(_ inner: EtcdFleet, stall: @escaping @Sendable () async -> Void) { (self.inner, self.stall) = (inner, stall) }
        nonisolated var publishesHealth: Bool { true }
        nonisolated var factsMaxAge: Int64 { inner.factsMaxAge }
        func cluster(node: String, fallbackNodes: [String], now: Instant, healthy: Bool?) async throws(LockUnavailable) -> ClusterFacts {
            try await inner.cluster(node: node, fallbackNodes: fallbackNodes, now: now, healthy: healthy)
        }
        func killSwitch() async throws(LockUnavailable) -> Bool? { try await inner.killSwitch() }
        func publish(_ report: MemberReport) async throws(LockUnavailable) {
            try await inner.publish(report)
            if report.phase == "rebooting", !stalled {
                stalled = true
                await stall()
            }
        }
        func recordReboot(at: Instant) async throws(LockUnavailable) { try await inner.recordReboot(at: at) }
        func history(_ entry: RebootHistoryEntry) async { await inner.history(entry) }
    }

    /// One pass of node a, in a fleet with b and c, that stalls for `stall` (1 s publish interval) after announcing its
    /// reboot while `meanwhile` runs; whether its reboot command ran, the pass, and the lock's holders after it.
    func passThatStalls(for stall: Duration, meanwhile: @escaping @Sendable ([EtcdFleet]) async throws -> Void) async throws -> (rebooted: Bool, PassResult, [String]) {
        let (etcd, _, spec, client) = try await start(publish: "1s")
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data().write(to: URL(fileURLWithPath: dir + "/flag"))
        let text = """
            policy "f" {}
            detector "flag" file "\(dir)/flag"
            lock etcd {
              endpoints ["\(etcd.endpoint)"]
              key "/fs"
              slots 1
              ttl 3s
              max_reboot_duration 60s
            }
            reboot command ["/usr/bin/touch", "\(dir)/rebooted"]
            cluster { publish_interval 1s }
            rule "keep quorum" { deny when cluster.healthy < 3 }
            """
        let result = Checker.check(SourceFile(path: "f.rcl", text: text))
        let checked = try #require(result.policy, "\(result.diagnostics.map(\.message))")
        let others = ["b", "c"].map { _ in EtcdFleet(client: client, policy: checked, spec: spec, state: nil, logger: Logger(label: "test")) }
        for (fleet, node) in zip(others, ["b", "c"]) { try await fleet.publish(report(node)) }
        let fleet = StallingFleet(EtcdFleet(client: client, policy: checked, spec: spec, state: nil, logger: Logger(label: "test"))) {
            try? await meanwhile(others)
            try? await Task.sleep(for: stall)
        }
        var settings = RunnerSettings(nodeName: "a", dryRun: false, stateDirectory: dir + "/state")
        settings.instance = LockInstance(bootID: "boot-a")
        let runner = Runner(
            settings: settings, lock: EtcdLock(client: client, spec: spec, logger: Logger(label: "test"), instance: settings.instance), fleet: fleet,
            logger: Logger(label: "test"), announce: { _ in })
        let pass = await runner.pass(PreparedPolicy(checked))
        let holders = try await EtcdLock(client: client, spec: spec, logger: Logger(label: "test")).holders().holders.map(\.0.node)
        return (FileManager.default.fileExists(atPath: dir + "/rebooted"), pass, holders)
    }

    @Test func aPassStalledAfterItsLastReadOfTheFleetReadsItAgainBeforeTheRebootCommand() async throws {
        // b and c fail while a is stopped for 1.5 s (its facts may be 1 s old): a reads the fleet again and does
        // not reboot.
        let (rebooted, pass, holders) = try await passThatStalls(for: .milliseconds(1500)) { others in
            for (fleet, node) in zip(others, ["b", "c"]) { try await fleet.publish(report(node, healthy: false)) }
        }
        #expect(!rebooted, "the reboot command ran on a fleet read 1.5 s before")
        #expect(pass.action == .none && pass.decision.outcome == .blocked && pass.decision.blockedBy == .rule && pass.decision.name == "keep quorum", "\(pass.decision)")
        #expect(pass.facts.cluster.healthy == 1)
        #expect(holders.isEmpty, "the slot is given back: \(holders)")
        // A stall that changed nothing: read again, the decision stands.
        let (quiet, calm, _) = try await passThatStalls(for: .milliseconds(1500)) { others in
            for (fleet, node) in zip(others, ["b", "c"]) { try await fleet.refresh(at: SystemClock().now()) }
        }
        #expect(quiet, "\(calm.decision)")
        #expect(calm.decision.outcome == .reboot && calm.facts.cluster.healthy == 3, "\(calm.decision)")
    }

    @Test func theReporterKeepsAHealthyFleetFreshBetweenPasses() async throws {
        let (etcd, checked, spec, client) = try await start(publish: "2s")
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        let fleets = ["a", "b", "c"].map { _ in EtcdFleet(client: client, policy: checked, spec: spec, state: nil, logger: Logger(label: "test")) }
        for (fleet, node) in zip(fleets, ["a", "b", "c"]) { try await fleet.publish(report(node)) }
        // No pass for 9 s (a check_interval longer than three publish intervals): the reporters alone keep the
        // members fresh.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for fleet in fleets {
                group.addTask { try await FleetReporter(fleet: fleet, interval: checked.cluster.publishInterval, clock: SystemClock(), logger: Logger(label: "test")).run() }
            }
            try await Task.sleep(for: .seconds(9))
            let cluster = try await fleets[0].cluster(node: "a", fallbackNodes: [], now: SystemClock().now())
            #expect(cluster.size == 3 && cluster.healthy == 3)
            group.cancelAll()
        }
    }

    /// Which kill switch is active is a fact: the reason names that one, not every switch the policy has.
    @Test func theReasonNamesTheKillSwitchThatIsActive() async throws {
        let etcd = try EtcdHarness()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data().write(to: URL(fileURLWithPath: dir + "/flag"))
        let text = """
            policy "k" {}
            detector "flag" file "\(dir)/flag"
            kill_switch file "\(dir)/stop"
            kill_switch etcd
            lock etcd {
              endpoints ["\(etcd.endpoint)"]
              key "/ks"
            }
            reboot command ["/usr/bin/touch", "\(dir)/rebooted"]
            """
        let result = Checker.check(SourceFile(path: "k.rcl", text: text))
        let checked = try #require(result.policy, "\(result.diagnostics.map(\.message))")
        guard case .etcd(let spec) = checked.lock else { Issue.record("not an etcd lock"); return }
        let client = try EtcdClient(spec)
        try await ready(client)
        defer { withExtendedLifetime(etcd) {}; Task { await client.shutdown() } }
        let settings = RunnerSettings(nodeName: "a", dryRun: true, stateDirectory: dir + "/state")
        let runner = Runner(
            settings: settings, lock: EtcdLock(client: client, spec: spec, logger: Logger(label: "test"), instance: settings.instance),
            fleet: EtcdFleet(client: client, policy: checked, spec: spec, state: nil, logger: Logger(label: "test")), logger: Logger(label: "test"), announce: { _ in })
        _ = try await client.put("/ks/kill_switch", Data("maintenance".utf8))
        let byEtcd = await runner.pass(PreparedPolicy(checked))
        #expect(byEtcd.decision.blockedBy == .killSwitch && byEtcd.facts.activeKillSwitches == ["etcd key /ks/kill_switch"])
        #expect(byEtcd.decision.reasons.first == "the kill switch is active (etcd key /ks/kill_switch)", "\(byEtcd.decision.reasons)")
        try Data().write(to: URL(fileURLWithPath: dir + "/stop"))
        let byBoth = await runner.pass(PreparedPolicy(checked))
        #expect(byBoth.decision.reasons.first == "the kill switch is active (file \(dir)/stop, etcd key /ks/kill_switch)", "\(byBoth.decision.reasons)")
        _ = try await client.delete("/ks/kill_switch")
        let byFile = await runner.pass(PreparedPolicy(checked))
        #expect(byFile.decision.reasons.first == "the kill switch is active (file \(dir)/stop)", "\(byFile.decision.reasons)")
        try FileManager.default.removeItem(atPath: dir + "/stop")
        let none = await runner.pass(PreparedPolicy(checked))
        #expect(none.decision.outcome == .reboot && none.facts.activeKillSwitches == [] && none.facts.killSwitch == false, "\(none.decision)")
    }

    @Test func aRebootingMemberIsNotHealthyAndAForgottenOneIsGone() async throws {
        let (etcd, checked, spec, client) = try await start(publish: "1s", cluster: "forget_after 5s")
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fleet = EtcdFleet(client: client, policy: checked, spec: spec, state: StateStore(directory: dir), logger: Logger(label: "test"))
        try await fleet.publish(report("a"))
        try await fleet.publish(report("r", phase: "rebooting"))
        let old = Instant(epochMilliseconds: SystemClock().now().epochMilliseconds - 3_600_000, utcOffsetSeconds: 0)
        try await client.put("/fs/members/gone", JSONEncoder().encode(report("gone", at: old)))
        try await client.put("/fs/members/quiet", JSONEncoder().encode(report("quiet")))
        let cluster = try await fleet.cluster(node: "a", fallbackNodes: [], now: SystemClock().now())
        // gone stopped reporting an hour ago (forget_after 5s): forgotten. quiet is stale but recent: counted.
        #expect(cluster.size == 3 && cluster.healthy == 1, "\(cluster)")
        #expect(try await client.range("/fs/members/gone").kvs.isEmpty)
        #expect(try await fleet.forget(node: "quiet"))
        #expect(try await !fleet.forget(node: "quiet"))
        #expect(try await fleet.cluster(node: "a", fallbackNodes: [], now: SystemClock().now()).size == 2)
    }

    @Test func theCooldownIsMeasuredByEtcdNotByTheNodesClock() async throws {
        let (etcd, checked, spec, client) = try await start()
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        let fleet = EtcdFleet(client: client, policy: checked, spec: spec, state: nil, logger: Logger(label: "test"))
        let now = SystemClock().now().epochMilliseconds
        // A node whose clock is an hour ahead records the reboot; a node whose clock is an hour behind reads it.
        try await fleet.recordReboot(at: Instant(epochMilliseconds: now + 3_600_000, utcOffsetSeconds: 0))
        try await Task.sleep(for: .seconds(2))
        let behind = Instant(epochMilliseconds: SystemClock().now().epochMilliseconds - 3_600_000, utcOffsetSeconds: 0)
        let last = try #require(try await fleet.cluster(node: "a", fallbackNodes: [], now: behind).lastReboot)
        let age = behind.epochMilliseconds - last.epochMilliseconds
        #expect((1_000...4_000).contains(age), "the reboot was 2 s ago on etcd's clock, whatever the nodes' clocks say: \(age) ms")
    }

    @Test func aStoreThatWentBackBlocksUntilAnOperatorResetsIt() async throws {
        let (etcd, checked, spec, client) = try await start()
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fleet = EtcdFleet(client: client, policy: checked, spec: spec, state: StateStore(directory: dir), logger: Logger(label: "test"))
        func look() async -> String? {
            do {
                _ = try await fleet.cluster(node: "a", fallbackNodes: [], now: SystemClock().now())
                return nil
            } catch {
                return error.description
            }
        }
        #expect(await look() == nil, "a new fleet: the epoch is written")
        try await fleet.publish(report("a"))
        #expect(await look() == nil)
        // The data directory is wiped: a new, empty cluster on the same address.
        etcd.wipe()
        try etcd.start()
        try await ready(client)
        let gone = await look()
        #expect(gone?.contains("the etcd store went back: its epoch key /fs/epoch is gone") == true, "\(gone ?? "no error")")
        #expect(gone?.contains("rc lock reset") == true)
        #expect(await look() != nil, "it stays blocked")
        try await fleet.reset(at: SystemClock().now())
        #expect(await look() == nil, "reset by an operator: the store is taken as it is")
        // Restored from an older snapshot: same epoch, lower revision than this node saw.
        let mark = dir + "/etcd-store.json"
        var saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: mark))) as? [String: Any])
        saved["revision"] = 1_000_000
        try JSONSerialization.data(withJSONObject: saved).write(to: URL(fileURLWithPath: mark))
        let back = await look()
        #expect(back?.contains("its revision is") == true && back?.contains("this node saw 1000000") == true, "\(back ?? "no error")")
    }

    // MARK: the lock

    @Test func theSameNodeNameOnAnotherHostIsRefusedNeverTakenAsHeld() async throws {
        let (etcd, _, spec, client) = try await start()
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        let first = EtcdLock(client: client, spec: spec, logger: Logger(label: "test"), instance: LockInstance(bootID: "host-1"))
        let clone = EtcdLock(client: client, spec: spec, logger: Logger(label: "test"), instance: LockInstance(bootID: "host-2"))
        #expect(try await first.acquire(info("dup")))
        #expect(try await first.status(node: "dup").held == true)
        await #expect {
            _ = try await clone.status(node: "dup")
        } throws: { error in
            "\(error)".contains("another rc instance uses the node name \"dup\"")
        }
        await #expect {
            _ = try await clone.acquire(info("dup"))
        } throws: { error in
            "\(error)".contains("another rc instance uses the node name \"dup\"") && "\(error)".contains(first.instance.id.prefix(8))
        }
        // The clone's release leaves the other host's slot alone.
        try await clone.release(node: "dup")
        #expect(try await client.range("/fs/locks/default/holders/dup").kvs.count == 1)
        try await first.release(node: "dup")
        #expect(try await clone.acquire(info("dup")), "once the other host gave it back, the name is free")
    }

    @Test func aRestartOnTheSameBootTakesOverFromItsDeadProcessAndNeverDeletesAnotherNodesSlot() async throws {
        let (etcd, _, spec, client) = try await start()
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        // A pid that no longer runs: the daemon that took the slot was killed.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let dead = EtcdLock(client: client, spec: spec, logger: Logger(label: "test"), instance: LockInstance(pid: gone.processIdentifier, bootID: "boot-x"))
        #expect(try await dead.acquire(info("a")))
        let old = try #require(try await client.range("/fs/locks/default/holders/a").kvs.first)
        let restarted = EtcdLock(client: client, spec: spec, logger: Logger(label: "test"), instance: LockInstance(bootID: "boot-x"))
        #expect(try await restarted.acquire(info("a")))
        // The dead process's lease ends: nothing of the restarted daemon's goes with it.
        try await client.revoke(old.lease)
        let other = EtcdLock(client: client, spec: spec, logger: Logger(label: "test"), instance: LockInstance(bootID: "boot-y"))
        #expect(try await !other.acquire(info("b")), "the restarted daemon holds the one slot")
        try await restarted.release(node: "a")
        #expect(try await other.acquire(info("b")))
        // A late release by the restarted daemon (its slot long gone) leaves b's keys alone.
        try await restarted.release(node: "a")
        let holders = try await client.range("/fs/locks/default/holders/", prefix: true).kvs
        let slots = try await client.range("/fs/locks/default/slots/", prefix: true).kvs
        #expect(holders.map(\.key) == ["/fs/locks/default/holders/b"] && slots.map { String(decoding: $0.value, as: UTF8.self) } == ["b"])
    }

    @Test func aHolderKeyThatChangedBeforeTheRebootMeansNoReboot() async throws {
        let (etcd, _, spec, client) = try await start()
        defer {
            withExtendedLifetime(etcd) {}
            Task { await client.shutdown() }
        }
        let lock = EtcdLock(client: client, spec: spec, logger: Logger(label: "test"))
        #expect(try await lock.acquire(info("r")))
        // Someone else's record replaces the holder key (a put without this process's lease).
        try await client.put("/fs/locks/default/holders/r", Data(#"{"node":"r","pid":1,"acquired_at":"2026-12-01T10:00:00Z","phase":"post-lock"}"#.utf8))
        await #expect(throws: LockUnavailable.self) { try await lock.prepareForReboot(node: "r") }
        await #expect(throws: LockUnavailable.self) { try await lock.verifyForReboot(node: "r") }
    }

    @Test func aLeaseLostWhileEtcdDidNotAnswerMeansNoReboot() async throws {
        let etcd = try EtcdHarness()
        let (_, spec) = try policy([etcd.endpoint], ttl: "2s")
        let client = try EtcdClient(spec, timeout: 1)
        defer { Task { await client.shutdown() } }
        try await ready(client)
        let lock = EtcdLock(client: client, spec: spec, logger: Logger(label: "test"))
        #expect(try await lock.acquire(info("r")))
        // etcd answers nothing for longer than the lease: no keep-alive is confirmed, so the slot is taken to be
        // lost, whatever etcd says once it answers again.
        etcd.pause()
        try await Task.sleep(for: .milliseconds(2_600))
        etcd.resume()
        await #expect {
            try await lock.prepareForReboot(node: "r")
        } throws: { error in
            "\(error)".contains("ran out") || "\(error)".contains("expired")
        }
    }

    @Test func aSlowGrantOfTheRebootLeaseKeepsTheSlotAliveUntilTheMove() async throws {
        let etcd = try EtcdHarness()
        // etcd takes 4.5 s (under the client's 5 s timeout, over the slot's 3 s lease) to grant the reboot lease
        // (max_reboot_duration 60 s); everything else goes through at once.
        let proxy = try DelayingProxy(upstreamPort: etcd.clientPort) { path, body in
            path == "/v3/lease/grant" && body.contains("60") ? 4500 : 0
        }
        let (_, spec) = try policy([proxy.endpoint], ttl: "3s")
        let (_, direct) = try policy([etcd.endpoint], ttl: "3s")
        let (slow, other) = (try EtcdClient(spec), try EtcdClient(direct))
        defer {
            Task {
                await slow.shutdown()
                await other.shutdown()
            }
        }
        try await ready(slow)
        let a = EtcdLock(client: slow, spec: spec, logger: Logger(label: "test"), instance: LockInstance(bootID: "boot-a"))
        let b = EtcdLock(client: other, spec: direct, logger: Logger(label: "test"), instance: LockInstance(bootID: "boot-b"))
        #expect(try await a.acquire(info("a")))
        let prepared = Task { () async throws in try await a.prepareForReboot(node: "a") }
        // While the grant hangs, b asks for the one slot every 500 ms: a's slot stays alive, b never gets it.
        var taken: [Int] = []
        for attempt in 0..<9 {
            try await Task.sleep(for: .milliseconds(500))
            if try await b.acquire(info("b")) { taken.append(attempt) }
        }
        let outcome = await prepared.result
        #expect(proxy.delayed == 1, "the grant of the reboot lease was held back")
        #expect(taken.isEmpty, "b took the slot while a waited for its reboot lease (attempts \(taken))")
        if case .failure(let error) = outcome { Issue.record("the slot could not be kept for the reboot: \(error)") }
        try await a.verifyForReboot(node: "a")
        let holders = try await other.range("/fs/locks/default/holders/", prefix: true).kvs.map(\.key)
        #expect(holders == ["/fs/locks/default/holders/a"])
    }

    // MARK: the client

    @Test func anEndpointAnswering503HandsTheRequestToTheNext() async throws {
        let etcd = try EtcdHarness()
        let stub = try StubHTTPServer(status: 503, reason: "Service Unavailable", body: #"{"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14}"#)
        let (_, spec) = try policy([stub.endpoint, etcd.endpoint])
        let client = try EtcdClient(spec)
        defer { Task { await client.shutdown() } }
        try await ready(client)
        try await client.put("/fs/x", Data("1".utf8))
        #expect(try await client.range("/fs/x").kvs.first?.value == Data("1".utf8))
        #expect(stub.answered >= 1, "the first endpoint was asked first")
        // A member that answers only 503: every request fails over, and the error names what each said.
        let (_, alone) = try policy([stub.endpoint])
        let lonely = try EtcdClient(alone)
        defer { Task { await lonely.shutdown() } }
        await #expect {
            _ = try await lonely.range("/fs/x")
        } throws: { error in
            "\(error)".contains("unreachable") && "\(error)".contains("answered 503: etcdserver: no leader")
        }
    }

    @Test func aWatchThatEtcdCancelsForACompactedRevisionEndsAtOnce() async throws {
        let etcd = try EtcdHarness()
        let (spec, _) = try (policy([etcd.endpoint]).1, 0)
        let client = try EtcdClient(spec)
        defer { Task { await client.shutdown() } }
        try await ready(client)
        for i in 0..<5 { try await client.put("/fs/w", Data("\(i)".utf8)) }
        let revision = try await client.range("/fs/w").revision
        // Compact the history: a watch from an older revision is cancelled by etcd with `compact_revision`.
        let compact = Process()
        compact.executableURL = URL(fileURLWithPath: "/usr/bin/etcdctl")
        compact.arguments = ["--endpoints=\(etcd.endpoint)", "compact", "\(revision)"]
        compact.environment = ["ETCDCTL_API": "3"]
        compact.standardOutput = FileHandle.nullDevice
        try compact.run()
        compact.waitUntilExit()
        try #require(compact.terminationStatus == 0)
        let started = ContinuousClock.now
        let events = try await client.waitForChange(prefix: "/fs/", after: 1, milliseconds: 10_000)
        #expect(events == [], "a cancelled watch returns no events, so the caller looks again")
        #expect(ContinuousClock.now - started < .seconds(5), "it does not wait out its deadline")
    }
}
