import Foundation
import RCTestSupport
import Testing

/// The chaos suite (docs/reliability.md): six `rc run` daemons on a real etcd with simulated reboots, a seeded
/// schedule of faults (kill -9 in every phase, SIGSTOP past the lease, etcd stopped, members and the leader killed,
/// failing health scripts), then a quiet time to settle; `ChaosChecker` judges the recorded history.
///
/// `swift test` runs one short seed per configuration. `RC_CHAOS_MINUTES=10` (`make chaos`) runs seeds until the
/// time is used; `RC_CHAOS_SEED=<seed>` replays one seed (with `RC_CHAOS_FAULT_SECONDS` as it was printed).
@Suite(.serialized) struct ChaosTests {
    static let environment = ProcessInfo.processInfo.environment
    static let replaySeed = environment["RC_CHAOS_SEED"].flatMap(ChaosConfig.parseSeed)
    static let minutes = environment["RC_CHAOS_MINUTES"].flatMap(Double.init)
    static let faultSeconds = environment["RC_CHAOS_FAULT_SECONDS"].flatMap(Int.init)
    static let short = replaySeed == nil && minutes == nil
    /// Where a run with violations leaves its history and logs.
    static let artifacts = CLITests.root.appendingPathComponent(".build/chaos").path

    // MARK: the checker on hand-written histories

    /// A history of nodes n1…n6 from time 0, with events at seconds.
    static func history(_ events: [(Double, String?, ChaosEvent.Kind)], slots: Int = 1, threshold: Int = 4, etcdMembers: Int = 1, up: Bool = true)
        -> ChaosHistory
    {
        let nodes = (1...6).map { "n\($0)" }
        var all: [ChaosEvent] = up ? nodes.map { ChaosEvent(0, $0, .daemonUp) } : []
        all += events.map { ChaosEvent(Int64($0.0 * 1000), $0.1, $0.2) }
        let setup = ChaosSetup(
            seed: 42, nodes: nodes, slots: slots, threshold: threshold, toleranceMs: 4000, settleBoundMs: 60_000, etcdMembers: etcdMembers, start: 0)
        return ChaosHistory(setup: setup, events: all)
    }

    /// A reboot of `node` at `at` seconds: the script runs 1.5 s, the node is back 2 s after.
    static func reboot(_ node: String, at: Double) -> [(Double, String?, ChaosEvent.Kind)] {
        [(at, node, .rebootStart), (at + 1.5, node, .rebootEnd), (at + 1.5, node, .daemonDown(.reboot)), (at + 3.5, node, .daemonUp)]
    }

    static func violations(_ h: ChaosHistory) -> [ChaosViolation] { ChaosChecker(history: h).check() }

    @Test func checkerPassesACleanHistory() {
        var events: [(Double, String?, ChaosEvent.Kind)] = [(0, "n1", .needsReboot), (0, "n2", .needsReboot), (0, "n3", .needsReboot)]
        events += Self.reboot("n1", at: 5) + Self.reboot("n2", at: 10)
        // n4 is killed and back 3 s later, n5 stopped past its lease: neither overlaps a reboot's decision window.
        events += [(12, "n4", .daemonDown(.killed(phase: "idle"))), (15, "n4", .daemonUp), (13, "n5", .stopped), (17, "n5", .continued)]
        events += [(14, "n6", .healthFailing), (22, "n6", .healthPassing), (2, nil, .etcdDown(member: 0, leader: true)), (4, nil, .etcdUp(member: 0))]
        events += [(20, nil, .faultsEnd)] + Self.reboot("n3", at: 25) + [(30, nil, .settledHolders([]))]
        events += [(31, "n1", .daemonDown(.endOfRun))]
        #expect(Self.violations(Self.history(events)).isEmpty, "\(Self.violations(Self.history(events)))")
        // Two at once is fine with two slots.
        let two = Self.reboot("n1", at: 5) + Self.reboot("n2", at: 6) + [(0, "n1", .needsReboot), (0, "n2", .needsReboot)]
        #expect(Self.violations(Self.history(two, slots: 2, threshold: 4)).isEmpty)
    }

    @Test func checkerCatchesAnOverlap() {
        // n2 starts while n1 has finished its reboot command but is not up again: two reboots with one slot.
        let events = Self.reboot("n1", at: 5) + [(6, "n2", .rebootStart), (0, "n1", .needsReboot), (0, "n2", .needsReboot)]
        let found = Self.violations(Self.history(events))
        #expect(found.map(\.rule) == [.overlap], "\(found)")
        let message = found.first?.message ?? ""
        #expect(message.contains("seed 42") && message.contains("+6.000 s") && message.contains("n1") && message.contains("n2"), "\(message)")
        // With the node up again before n2 starts, nothing overlaps.
        let after = Self.reboot("n1", at: 5) + [(8.6, "n2", .rebootStart), (0, "n1", .needsReboot), (0, "n2", .needsReboot)]
        #expect(Self.violations(Self.history(after)).isEmpty)
        // Three at once with two slots.
        let three = Self.reboot("n1", at: 5) + Self.reboot("n2", at: 5.5) + Self.reboot("n3", at: 6) + (1...3).map { (0, "n\($0)", .needsReboot) }
        #expect(Self.violations(Self.history(three, slots: 2, threshold: 3)).map(\.rule) == [.overlap])
    }

    @Test func checkerCatchesARestartedNodeRebootingAgain() {
        // n1 is killed in its reboot command, restarted, and starts a second reboot while the first still runs.
        let events: [(Double, String?, ChaosEvent.Kind)] = [
            (0, "n1", .needsReboot), (5, "n1", .rebootStart), (5.5, "n1", .daemonDown(.killed(phase: "in the reboot command"))), (5.8, "n1", .daemonUp),
            (6.2, "n1", .rebootStart), (6.5, "n1", .rebootEnd), (7.7, "n1", .rebootEnd),
        ]
        let found = Self.violations(Self.history(events))
        #expect(found.map(\.rule) == [.doubleReboot], "\(found)")
        #expect(found.first?.message.contains("+6.200 s") == true)
    }

    @Test func checkerCatchesARebootUnderQuorum() {
        // n2 and n3 fail their health checks from 1 s, n4 is killed at 2 s: at 7 s all three are certainly
        // unhealthy, so at most 3 of 6 are healthy and the rule (healthy < 4) denies.
        let faults: [(Double, String?, ChaosEvent.Kind)] = [
            (0, "n1", .needsReboot), (1, "n2", .healthFailing), (1, "n3", .healthFailing), (2, "n4", .daemonDown(.killed(phase: "waiting for a slot"))),
        ]
        let found = Self.violations(Self.history(faults + Self.reboot("n1", at: 7)))
        #expect(found.map(\.rule) == [.quorum], "\(found)")
        // From 6 s (n4 down at 2 s, plus the tolerance) three are certainly unhealthy: the rule holds every node
        // until the history ends at 10.5 s.
        #expect(ChaosChecker(history: Self.history(faults + Self.reboot("n1", at: 7))).quorumPressureMs() == 4500)
        let message = found.first?.message ?? ""
        #expect(message.contains("seed 42") && message.contains("+7.000 s") && ["n1", "n2", "n3", "n4"].allSatisfy(message.contains), "\(message)")
        #expect(found.first?.nodes.sorted() == ["n1", "n2", "n3", "n4"])
        // A stopped node and a rebooting one count as well.
        let stopped: [(Double, String?, ChaosEvent.Kind)] = [(0, "n1", .needsReboot), (1, "n2", .healthFailing), (1, "n3", .healthFailing), (2, "n4", .stopped)]
        #expect(Self.violations(Self.history(stopped + Self.reboot("n1", at: 7))).map(\.rule) == [.quorum])
        // Its own failing health check too.
        let own: [(Double, String?, ChaosEvent.Kind)] = [(0, "n1", .needsReboot), (1, "n1", .healthFailing)]
        #expect(Self.violations(Self.history(own + Self.reboot("n1", at: 6))).map(\.rule) == [.ownHealth])
    }

    @Test func checkerAllowsTheDetectionLag() {
        // At 5.5 s n4 has been down 3.5 s, less than the tolerance (4 s): it may still have looked healthy.
        let faults: [(Double, String?, ChaosEvent.Kind)] = [
            (0, "n1", .needsReboot), (1, "n2", .healthFailing), (1, "n3", .healthFailing), (2, "n4", .daemonDown(.killed(phase: "idle"))),
        ]
        #expect(Self.violations(Self.history(faults + Self.reboot("n1", at: 5.5))).isEmpty)
        // Back up before the reboot: healthy again at once.
        #expect(Self.violations(Self.history(faults + [(6.5, "n4", .daemonUp)] + Self.reboot("n1", at: 7))).isEmpty)
        // Two members failing with the rule at 4: 4 of 6 may be healthy, which the rule allows.
        let two: [(Double, String?, ChaosEvent.Kind)] = [(0, "n1", .needsReboot), (1, "n2", .healthFailing), (1, "n3", .healthFailing)]
        #expect(Self.violations(Self.history(two + Self.reboot("n1", at: 9))).isEmpty)
    }

    @Test func checkerCatchesALateNode() {
        // The faults stop at 10 s; the bound is 60 s. n5 never reboots, n6 is back only at 75.5 s.
        var events: [(Double, String?, ChaosEvent.Kind)] = [(0, "n5", .needsReboot), (0, "n6", .needsReboot), (10, nil, .faultsEnd)]
        events += Self.reboot("n6", at: 72) + [(80, "n1", .daemonDown(.endOfRun))]
        let found = Self.violations(Self.history(events))
        #expect(found.map(\.rule) == [.late, .late], "\(found)")
        #expect(Set(found.map(\.nodes)) == [["n5"], ["n6"]])
        #expect(found.allSatisfy { $0.message.contains("seed 42") && $0.message.contains("+70.000 s") })
        // Back within the bound: fine.
        let fine = [(0, "n6", .needsReboot), (10, nil, .faultsEnd)] + Self.reboot("n6", at: 60)
        #expect(Self.violations(Self.history(fine)).isEmpty)
    }

    @Test func checkerCatchesEtcdOutagesCrashesUnneededRebootsAndStuckSlots() {
        // A reboot that starts long after the single etcd member stopped.
        let down: [(Double, String?, ChaosEvent.Kind)] = [(0, "n1", .needsReboot), (2, nil, .etcdDown(member: 0, leader: true))]
        #expect(Self.violations(Self.history(down + Self.reboot("n1", at: 7))).map(\.rule) == [.etcd])
        // One of three members down keeps the quorum; two do not.
        let one: [(Double, String?, ChaosEvent.Kind)] = [(0, "n1", .needsReboot), (2, nil, .etcdDown(member: 1, leader: true))]
        #expect(Self.violations(Self.history(one + Self.reboot("n1", at: 7), etcdMembers: 3)).isEmpty)
        let two = one + [(2.5, nil, .etcdDown(member: 2, leader: false))]
        #expect(Self.violations(Self.history(two + Self.reboot("n1", at: 7), etcdMembers: 3)).map(\.rule) == [.etcd])
        // A daemon that exits by itself.
        let crash: [(Double, String?, ChaosEvent.Kind)] = [(3, "n2", .daemonDown(.crashed("signal 11")))]
        let found = Self.violations(Self.history(crash))
        #expect(found.map(\.rule) == [.crash] && found[0].message.contains("n2") && found[0].message.contains("signal 11"))
        // A reboot without the flag.
        #expect(Self.violations(Self.history(Self.reboot("n3", at: 5))).map(\.rule) == [.unneeded])
        // A slot still held once everything settled.
        let stuck: [(Double, String?, ChaosEvent.Kind)] = [(10, nil, .faultsEnd), (20, nil, .settledHolders(["n3"]))]
        #expect(Self.violations(Self.history(stuck)).map(\.rule) == [.stuckSlot])
    }

    // MARK: runs

    struct Outcome {
        var config: ChaosConfig
        var seconds: Double
        var faults: [String: Int]
        var kills: [String: Int]
        var reboots: Int
        var pressureMs: Int64
        var violations: [ChaosViolation]
    }

    /// One run of `config`: drive, judge, report; the violations are recorded as issues.
    @discardableResult
    static func run(_ config: ChaosConfig) throws -> Outcome {
        let began = Date()
        print("chaos: \(config)")
        print("chaos: replay with RC_CHAOS_SEED=\(config.seed) RC_CHAOS_FAULT_SECONDS=\(config.faultSeconds) swift test --disable-xctest --filter ChaosTests")
        let fleet = try ChaosFleet(config)
        for (i, fault) in fleet.schedule.faults.enumerated() { print("chaos:   #\(i + 1) after \(fault.gapMs) ms: \(fault)") }
        let history = try fleet.run()
        let checker = ChaosChecker(history: history)
        let violations = checker.check()
        let pressure = checker.quorumPressureMs()
        let reboots = history.events.filter { $0.kind == .rebootStart }.count
        let seconds = Date().timeIntervalSince(began)
        print("chaos: seed \(config.seed): \(reboots) reboots, faults \(fleet.injected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")), \(violations.count) violations, the quorum rule binding for \(pressure / 1000) s, \(Int(seconds)) s")
        let folder = artifacts + "/seed-\(config.seed)"
        if !violations.isEmpty {
            fleet.keep(in: folder, violations: violations)
            print("chaos: history and logs kept in \(folder)")
        }
        for v in violations.prefix(25) { Issue.record(Comment(rawValue: v.message)) }
        if violations.count > 25 { Issue.record(Comment(rawValue: "seed \(config.seed): \(violations.count - 25) more violations in \(folder)/violations.txt")) }
        return Outcome(config: config, seconds: seconds, faults: fleet.injected, kills: fleet.killedInPhase, reboots: reboots, pressureMs: pressure, violations: violations)
    }

    /// The normal suite: one short run each for 1 slot on a single etcd member and 2 slots on a 3-member cluster,
    /// on fixed seeds (docs/reliability.md, "Results"), so that `make test` judges the same schedules every time;
    /// `make chaos` draws new seeds.
    @Test(.enabled(if: ChaosTests.short), arguments: [UInt64(2_067_620_667_595_976), 8_372_572_256_168_939])
    func chaosShort(_ seed: UInt64) throws {
        try Self.run(ChaosConfig(seed: seed, faultSeconds: Self.faultSeconds ?? 30))
    }

    /// `RC_CHAOS_SEED`: one seed again, with the configuration it encodes.
    @Test(.enabled(if: ChaosTests.replaySeed != nil))
    func chaosReplay() throws {
        try Self.run(ChaosConfig(seed: Self.replaySeed!, faultSeconds: Self.faultSeconds ?? (Self.minutes == nil ? 30 : 60)))
    }

    /// `RC_CHAOS_MINUTES` (`make chaos`): seeds one after another through the four configurations until the time is
    /// used (a run starts only while its faults fit; the last settles past the end by at most its bound).
    @Test(.enabled(if: ChaosTests.minutes != nil && ChaosTests.replaySeed == nil))
    func chaosLong() throws {
        let deadline = Date().addingTimeInterval(Self.minutes! * 60)
        let faults = Self.faultSeconds ?? 60
        let configurations = [(1, 1), (2, 3), (1, 3), (2, 1)]
        var outcomes: [Outcome] = []
        while Date().addingTimeInterval(Double(faults) + 30) < deadline {
            let (slots, members) = configurations[outcomes.count % configurations.count]
            let seed = ChaosConfig.seed(ChaosConfig.randomSeed(), slots: slots, etcdMembers: members)
            outcomes.append(try Self.run(ChaosConfig(seed: seed, faultSeconds: faults)))
        }
        let table = Self.table(outcomes)
        print(table)
        try? FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
        try? table.write(toFile: Self.artifacts + "/summary.md", atomically: true, encoding: .utf8)
        #expect(!outcomes.isEmpty)
    }

    /// The runs as a Markdown table (docs/reliability.md keeps the last one).
    static func table(_ outcomes: [Outcome]) -> String {
        var out = "| run | seed | slots | etcd | time | daemons killed (by phase) | SIGSTOP | health | etcd faults | silent across etcd | reboots | quorum held | violations |\n"
        out += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for (i, o) in outcomes.enumerated() {
            let kills = o.kills.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            let etcd = (o.faults["etcd stopped"] ?? 0) + (o.faults["etcd member killed"] ?? 0) + (o.faults["etcd leader killed"] ?? 0)
            let leader = o.faults["etcd leader killed"].map { " (\($0) leader)" } ?? ""
            let rules = Dictionary(grouping: o.violations, by: \.rule).map { "\($0.value.count) \($0.key.rawValue)" }.sorted().joined(separator: ", ")
            let killed = (o.faults["kill -9"] ?? 0) + 2 * (o.faults["kill -9 two"] ?? 0)
            out += "| \(i + 1) | \(o.config.seed) | \(o.config.slots) | \(o.config.etcdMembers) | \(Int(o.seconds)) s | \(killed)"
            out += kills.isEmpty ? "" : " (\(kills))"
            out += " | \(o.faults["SIGSTOP"] ?? 0) | \(o.faults["health failing"] ?? 0) | \(etcd)\(leader) | \(o.faults["silent across an etcd restart"] ?? 0) | \(o.reboots) | \(o.pressureMs / 1000) s | \(rules.isEmpty ? "none" : rules) |\n"
        }
        return out
    }
}
