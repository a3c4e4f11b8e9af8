import Evaluator
import Executors
import Foundation
import Logging
import PolicyLang
import Testing

/// The daemon loop with a manual clock: intervals with jitter, backoff after transient failures, stopping, and
/// the local lock between two holders.
@Suite struct DaemonLoopTests {
    static let policy: PreparedPolicy = {
        let text = "policy \"l\" {}\ndetector \"apt\" debian\ncluster { check_interval 5m  backoff 10s .. 2m }\n"
        return PreparedPolicy(Checker.check(SourceFile(path: "l.rcl", text: text)).policy!)
    }()

    @Test func jitterAndBackoffStayWithinTheirBounds() {
        let schedule = Schedule(Self.policy.policy.cluster)
        var rng = SplitMix64(seed: 42)
        var intervals = Set<Int64>()
        for _ in 0..<1000 {
            let d = schedule.delay(afterFailures: 0, using: &rng)
            #expect(d >= 270_000 && d <= 330_000)
            intervals.insert(d)
        }
        #expect(intervals.count > 100, "jitter spreads the passes")
        for failures in 1...12 {
            let ceiling = min(120_000, 10_000 * (Int64(1) << (failures - 1)))
            var highest: Int64 = 0
            for _ in 0..<300 {
                let d = schedule.delay(afterFailures: failures, using: &rng)
                #expect(d >= 10_000 && d <= ceiling, "failure \(failures): \(d)")
                highest = max(highest, d)
            }
            #expect(highest > ceiling * 8 / 10 || ceiling == 10_000, "full jitter reaches near the ceiling")
        }
    }

    func result(error: String?, action: PassResult.Action = .none) -> PassResult {
        let decision = Self.policy.decide(Facts())
        return PassResult(decision: decision, facts: Facts(), action: action, error: error)
    }

    final class Script: @unchecked Sendable {
        let lock = NSLock()
        var passes = 0
        var outcomes: [PassResult]
        init(_ outcomes: [PassResult]) { self.outcomes = outcomes }
        func next() -> PassResult {
            lock.withLock {
                passes += 1
                return outcomes.isEmpty ? DaemonLoopTests().result(error: nil) : outcomes.removeFirst()
            }
        }
        var count: Int { lock.withLock { passes } }
    }

    @Test func theLoopSleepsBetweenPassesAndBacksOff() async {
        let clock = ManualClock(start: Instant(epochMilliseconds: 1_795_000_000_000))
        let script = Script([result(error: "etcd down"), result(error: "etcd down"), result(error: "etcd down"), result(error: nil)])
        let loop = DaemonLoop(policy: PolicyHolder(Self.policy), clock: clock, logger: Logger(label: "test")) { _ in script.next() }
        let task = Task { await loop.run(seed: 7) }
        for expected in 1...6 {
            await clock.waitForSleepers()
            #expect(script.count == expected)
            clock.advance(by: clock.sleeps.last ?? 0)
        }
        await clock.waitForSleepers()
        task.cancel()
        clock.cancelAll()
        _ = await task.value
        let sleeps = clock.sleeps
        #expect(sleeps.count >= 6)
        // Three failures: backoff within 10 s, 20 s and 40 s; then the interval, 5 min ± 10 %.
        #expect((10_000...10_000).contains(sleeps[0]))
        #expect((10_000...20_000).contains(sleeps[1]))
        #expect((10_000...40_000).contains(sleeps[2]))
        for s in sleeps[3...] { #expect((270_000...330_000).contains(s)) }
    }

    @Test func theLoopStopsPassingOnceARebootIsUnderWay() async {
        let clock = ManualClock(start: Instant(epochMilliseconds: 0))
        let command = RebootCommand(policy: Self.policy.policy, nodeName: "n", phase: .postLock)
        let script = Script([result(error: nil, action: .rebooted(command))])
        let loop = DaemonLoop(policy: PolicyHolder(Self.policy), clock: clock, logger: Logger(label: "test")) { _ in script.next() }
        let task = Task { await loop.run(seed: 1) }
        await clock.waitForSleepers()
        clock.advance(by: 3_600_000)
        await clock.waitForSleepers()
        #expect(script.count == 1, "no pass after the reboot command")
        task.cancel()
        clock.cancelAll()
        let last = await task.value
        #expect(last?.action == .rebooted(command))
    }

    @Test func theLocalLockHasOneSlot() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rc-lock-\(UUID().uuidString)/lock").path
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let a = LocalLock(path: path), b = LocalLock(path: path)
        #expect(try await a.status(node: "a").available == true)
        let holder = HolderInfo(node: "a", pid: 42, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock")
        #expect(try await a.acquire(holder))
        #expect(try await a.acquire(holder), "taking a held slot again is a no-op")
        #expect(try await !b.acquire(HolderInfo(node: "b", pid: 43, acquiredAt: "2026-11-22T10:00:01Z", phase: "post-lock")))
        let seen = try await b.status(node: "b")
        #expect(seen.available == false && seen.held == false)
        #expect(seen.holders?.first?.node == "a" && seen.holders?.first?.pid == 42)
        #expect(try await b.status(node: "a").held == true, "the holder's own node sees it held")
        try await a.release(node: "a")
        #expect(try await b.acquire(HolderInfo(node: "b", pid: 43, acquiredAt: "2026-11-22T10:00:02Z", phase: "post-lock")))
        try await b.release(node: "b")
        let unwritable = LocalLock(path: "/proc/rc-cannot-exist/lock")
        // A look creates nothing: no lock file, nobody holds it. Taking it needs the file, which cannot be made.
        #expect(try await unwritable.status(node: "x").available == true)
        await #expect(throws: LockUnavailable.self) { try await unwritable.acquire(holder) }
    }
}

/// The log shows a decision once while it stays the same, then as "still" at most every reminder.
@Suite struct DecisionLogGateTests {
    @Test func theSameDecisionIsLoggedOnceThenRemindedAndAChangeAtOnce() async throws {
        let gate = DecisionLogGate(clock: SystemClock(), reminder: 200)
        #expect(gate.look("blocked kill_switch") == .log)
        #expect(gate.look("blocked kill_switch") == .quiet)
        #expect(gate.look("blocked kill_switch") == .quiet)
        try await Task.sleep(for: .milliseconds(300))
        guard case .still = gate.look("blocked kill_switch") else {
            Issue.record("no reminder after the reminder interval")
            return
        }
        #expect(gate.look("blocked kill_switch") == .quiet, "one reminder per interval")
        #expect(gate.look("reboot") == .log, "a change is logged at once")
        #expect(gate.look("reboot", force: true) == .log, "a forced decision is logged")
        #expect(gate.look("reboot") == .log, "and the next one too: a forced one starts nothing")
    }
}

/// The decision log: one entry per change, pruned by age.
@Suite struct DecisionLogTests {
    @Test func aChangedDecisionIsAppendedAndOldEntriesArePruned() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-dlog-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = "policy \"l\" {}\ndetector \"f\" file \"/run/flag\"\nkill_switch file \"/etc/rc/stop\"\n"
        let policy = PreparedPolicy(Checker.check(SourceFile(path: "l.rcl", text: text)).policy!)
        let log = DecisionLog(directory: dir)
        var last: String?
        let day: Int64 = 86_400_000
        let start: Int64 = 1_795_000_000_000
        func record(_ offset: Int64, killSwitch: Bool) {
            var facts = Facts(now: Instant(epochMilliseconds: start + offset, utcOffsetSeconds: 0), phase: .preLock, nodeName: "n")
            facts.killSwitch = killSwitch
            facts.detectors = ["f": DetectorObservation(.fired)]
            #expect(log.record(policy.decide(facts), facts: facts, policy: "l", retain: 30 * day, last: &last) == nil)
        }
        record(0, killSwitch: true)
        record(day / 2, killSwitch: true)
        record(day, killSwitch: false)
        #expect(log.read().entries.map(\.outcome) == ["blocked", "reboot"], "the same decision twice is one entry")
        record(40 * day, killSwitch: true)
        let kept = log.read().entries
        #expect(kept.count == 1 && kept[0].at.epochMilliseconds == start + 40 * day, "entries older than 30 days went: \(kept.map(\.at))")
        // Another process (a restarted daemon) continues from the last entry: the same decision is not repeated.
        var fresh: String?
        var facts = Facts(now: Instant(epochMilliseconds: start + 41 * day, utcOffsetSeconds: 0), phase: .preLock, nodeName: "n")
        facts.killSwitch = true
        facts.detectors = ["f": DetectorObservation(.fired)]
        #expect(log.record(policy.decide(facts), facts: facts, policy: "l", retain: 30 * day, last: &fresh) == nil)
        #expect(log.read().entries.count == 1)
    }

    @Test func aMeasuringCheckThatBlocksOnAValueAndThenCannotMeasureIsTwoEntries() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-dlog-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = """
            policy "l" {}
            detector "f" file "/run/flag"
            health "errors" prometheus "http://127.0.0.1:9090" query "q" { ok when value < 0.01 }

            """
        let policy = PreparedPolicy(Checker.check(SourceFile(path: "l.rcl", text: text)).policy!)
        let log = DecisionLog(directory: dir)
        var last: String?
        func record(_ minute: Int64, _ observation: HealthObservation) {
            var facts = Facts(now: Instant(epochMilliseconds: 1_795_000_000_000 + minute * 60_000, utcOffsetSeconds: 0), phase: .preLock, nodeName: "n")
            facts.detectors = ["f": DetectorObservation(.fired)]
            facts.health = ["errors": observation]
            let decision = policy.decide(facts)
            #expect(log.record(decision, facts: facts, reading: policy.blockingReading(decision, facts), policy: "l", retain: 86_400_000, last: &last) == nil)
        }
        record(0, HealthObservation(ok: true, measurement: HealthMeasurement(value: 0.034)))
        record(1, HealthObservation(ok: true, measurement: HealthMeasurement(value: 0.05)))
        record(2, HealthObservation(ok: false, output: "timed out after 10s"))
        record(3, HealthObservation(ok: false, output: "timed out after 10s"))
        record(4, HealthObservation(ok: true, measurement: HealthMeasurement(value: 0.02)))
        let entries = log.read().entries
        // The value moving while it blocks is one entry; the cause changing (a value, then none) is a new one.
        #expect(entries.map(\.value) == [0.034, nil, 0.02], "\(entries.map(\.reasons))")
        #expect(entries.map(\.measured) == [true, false, true])
        #expect(entries.map(\.needs) == ["needs value < 0.01, was 0.034", nil, "needs value < 0.01, was 0.02"])
        #expect(entries[1].reasons.first == "health check \"errors\" failed pre-lock: timed out after 10s", "\(entries[1].reasons)")
    }
}

/// `rc_health_value`: what a measuring check saw on its last run, never a value it saw before.
@Suite struct HealthValueGaugeTests {
    func gauge(_ metrics: RCMetrics) -> String? {
        String(decoding: metrics.exposition(), as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("rc_health_value{") }.map(String.init)
    }

    @Test func aRunThatMeasuresNothingIsNaNAndAScriptHasNoValue() {
        let metrics = RCMetrics(version: "test")
        metrics.healthChecked("errors", phase: .preLock, HealthObservation(ok: true, measurement: HealthMeasurement(value: 0.034)), measures: true)
        #expect(gauge(metrics) == #"rc_health_value{check="errors"} 0.034"#)
        metrics.healthChecked("errors", phase: .preLock, HealthObservation(ok: false, output: "timed out after 10s"), measures: true)
        #expect(gauge(metrics) == #"rc_health_value{check="errors"} nan"#)
        metrics.healthChecked("errors", phase: .preLock, HealthObservation(ok: true, measurement: HealthMeasurement(samples: [])), measures: true)
        #expect(gauge(metrics) == #"rc_health_value{check="errors"} nan"#, "no sample is no value, not 0")
        let scripts = RCMetrics(version: "test")
        scripts.healthChecked("gate", phase: .preLock, HealthObservation(ok: false, exitCode: 1), measures: false)
        #expect(gauge(scripts) == nil)
    }
}
