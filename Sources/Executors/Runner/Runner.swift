import Evaluator
import Foundation
import Logging
import PolicyLang

/// How a runner is set up for one node.
public struct RunnerSettings: Sendable {
    public var nodeName: String
    /// Print the reboot command instead of running it (also when the policy says `dry_run true`).
    public var dryRun: Bool
    public var stateDirectory: String
    /// The kernel's boot id; a test points it at a file it rewrites to simulate a reboot.
    public var bootIDPath: String
    /// `rc status --skip-health`: health checks are not run (and are assumed ok).
    public var skipHealth: Bool = false
    /// `rc status --skip-lock`: the lock is neither read nor taken.
    public var skipLock: Bool = false
    /// `rc status`: decide everything, take no slot, run no reboot command.
    public var statusOnly: Bool = false
    /// How long the reboot command may run.
    public var rebootTimeout: Int64 = 120_000
    /// This node's labels (`node.labels`).
    public var labels: [String: String] = [:]
    /// This process as a lock holder and fleet member; its boot id is read from `bootIDPath`.
    public var instance: LockInstance

    /// Creates settings.
    public init(nodeName: String, dryRun: Bool, stateDirectory: String, bootIDPath: String = "/proc/sys/kernel/random/boot_id") {
        self.nodeName = nodeName
        self.dryRun = dryRun
        self.stateDirectory = stateDirectory
        self.bootIDPath = bootIDPath
        instance = LockInstance.current(bootIDPath: bootIDPath)
    }
}

/// What one pass did.
public struct PassResult: Sendable {
    /// What the pass did about the reboot.
    public enum Action: Sendable, Equatable {
        /// Nothing: no reboot needed, or blocked.
        case none
        /// The reboot command ran; the node is going down.
        case rebooted(RebootCommand)
        /// Dry run: the command that would have run.
        case dryRun(RebootCommand)
        /// After the boot, the post-boot gate passed and the slot was released.
        case releasedAfterBoot
    }

    public var decision: Decision
    /// The facts the decision used (replayable with `rc explain`).
    public var facts: Facts
    public var action: Action
    /// A transient failure (lock backend unreachable, the reboot command failed), for backoff.
    public var error: String?
    /// What the measuring health check that blocked saw and needed.
    public var reading: HealthReading?

    /// Creates a result.
    public init(decision: Decision, facts: Facts, action: Action, error: String? = nil, reading: HealthReading? = nil) {
        self.decision = decision
        self.facts = facts
        self.action = action
        self.error = error
        self.reading = reading
    }

    /// The exit status of `rc run --once` for this pass.
    public var exitCode: Int32 {
        // A pass that failed without a blocking decision (the reboot command failed) is a runtime error.
        error != nil && decision.outcome != .blocked ? ExitStatus.runtimeError : decision.exitCode
    }
}

/// One orchestration pass of DESIGN.md steps 1–9, asking the evaluator at each phase. The clock, processes, files
/// and the lock are injected.
public struct Runner: Sendable {
    public let settings: RunnerSettings
    let clock: any RCClock
    let detectors: DetectorRunner
    let health: HealthRunner
    let lock: any LockBackend
    let fleet: any Fleet
    let killSwitches: KillSwitchFiles
    let processes: any ProcessRunning
    let paths: HostPaths
    let state: StateStore
    let logger: Logger
    /// Written to for a dry run's reboot command (standard output in the CLI).
    let announce: @Sendable (String) -> Void
    /// Told of each health check, lock try and reboot command (the daemon's metrics).
    let observer: (any RunnerObserver)?
    /// The last decision logged, so that the same one pass after pass is logged once.
    let decisionLog = DecisionLogGate(clock: SystemClock())
    /// The key of the last entry of the decision log (`STATE_DIR/decisions.jsonl`).
    let history = HistoryCursor()

    /// Creates a runner.
    public init(
        settings: RunnerSettings, clock: any RCClock = SystemClock(), processes: any ProcessRunning = ProcessRunner(), paths: HostPaths = HostPaths(),
        lock: any LockBackend, fleet: (any Fleet)? = nil, logger: Logger, announce: @escaping @Sendable (String) -> Void = { print($0) },
        observer: (any RunnerObserver)? = nil
    ) {
        self.observer = observer
        self.settings = settings
        self.fleet = fleet ?? LocalFleet(state: StateStore(directory: settings.stateDirectory))
        self.clock = clock
        self.processes = processes
        self.paths = paths
        self.lock = lock
        var skipped: [String: String] = [:]
        if settings.skipHealth { skipped["RC_SKIP_HEALTH"] = "1" }
        if settings.skipLock { skipped["RC_SKIP_LOCK"] = "1" }
        detectors = DetectorRunner(runner: processes, paths: paths, environment: skipped)
        health = HealthRunner(runner: processes)
        killSwitches = KillSwitchFiles(paths: paths)
        state = StateStore(directory: settings.stateDirectory)
        self.logger = logger
        self.announce = announce
    }

    /// The lock a policy asks for on this host: `lock local` (its path, or the state directory's `lock`).
    public static func localLock(for policy: CheckedPolicy, stateDirectory: String) -> LocalLock {
        if case .local(let path?) = policy.lock { return LocalLock(path: path) }
        return LocalLock(path: StateStore(directory: stateDirectory).lockPath)
    }

    /// The kernel's current boot id.
    public func bootID() -> String {
        (FileManager.default.contents(atPath: settings.bootIDPath).map { String(decoding: $0, as: UTF8.self) } ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The facts every phase starts from: time, node, kill switches, and the cluster unless `cluster` is false
    /// (a pass that publishes this node's state first reads the cluster after it).
    func baseFacts(_ policy: PreparedPolicy, phase: HealthPhase, cluster: Bool = true) async throws(LockUnavailable) -> Facts {
        var facts = Facts()
        facts.now = clock.now()
        facts.phase = phase
        facts.nodeName = settings.nodeName
        facts.nodeLabels = settings.labels
        if let uptime = paths.read("/proc/uptime")?.split(separator: " ").first.flatMap({ Double($0) }) {
            facts.nodeUptime = Int64(uptime * 1000)
        }
        var active = killSwitches.active(policy.policy).map { policy.policy.text(of: .file(path: $0)) }
        if cluster { try await readCluster(policy, into: &facts) }
        if try await fleet.killSwitch() == true {
            let etcd = policy.policy.killSwitches.first { if case .etcd = $0 { true } else { false } }
            active.append(etcd.map(policy.policy.text(of:)) ?? "the fleet's kill switch")
        }
        facts.killSwitch = !active.isEmpty
        facts.activeKillSwitches = active
        return facts
    }

    /// The cluster facts, as the fleet has them now; with `healthy`, this node counts as that whatever it published.
    func readCluster(_ policy: PreparedPolicy, into facts: inout Facts, healthy: Bool? = nil) async throws(LockUnavailable) {
        facts.cluster = try await fleet.cluster(node: settings.nodeName, fallbackNodes: policy.policy.cluster.fallbackNodes, now: clock.now(), healthy: healthy)
    }

    /// This node's report to its fleet: its health in `facts`, and the decision when there is one.
    func report(_ facts: Facts, healthy: Bool? = nil, phase: String? = nil, decision: Decision? = nil, reading: HealthReading? = nil) -> MemberReport {
        let outcome = decision.map {
            MemberReport.Outcome(
                outcome: $0.outcome.rawValue, blockedBy: $0.blockedBy?.rawValue, name: $0.name, reason: $0.reasons.first, value: reading?.value,
                needs: reading?.needs, at: clock.now().description)
        }
        return MemberReport(
            node: settings.nodeName, healthy: healthy ?? facts.health.values.allSatisfy(\.ok), reportedAt: clock.now().description, labels: settings.labels,
            instance: settings.instance.id, bootID: settings.instance.bootID, phase: phase, decision: outcome)
    }

    func context(_ policy: PreparedPolicy, _ phase: HealthPhase, lockHeld: Bool, attempts: Int) -> HealthContext {
        var c = HealthContext(phase: phase, nodeName: settings.nodeName, dryRun: settings.dryRun || policy.policy.dryRun, lockHeld: lockHeld, lockAttempts: attempts)
        c.skipLock = settings.skipLock
        return c
    }

    /// Runs the health checks of a phase, unless skipped.
    func runHealth(_ policy: PreparedPolicy, _ phase: HealthPhase, lockHeld: Bool, into facts: inout Facts) async {
        guard !settings.skipHealth else { return }
        facts.health = await health.runAll(policy, context(policy, phase, lockHeld: lockHeld, attempts: lockHeld ? 1 : 0))
        guard let observer else { return }
        for (name, observation) in facts.health.sorted(by: { $0.key < $1.key }) {
            observer.healthChecked(name, phase: phase, observation, measures: policy.policy.health.contains { $0.name == name && $0.probe != nil })
        }
    }

    /// The decision for `facts`, logged and kept: `error` (a failure, for backoff) comes first among its reasons;
    /// with `blockedBy` the pass is blocked by it, whatever the facts said, with `note` first among its reasons.
    func finish(
        _ policy: PreparedPolicy, _ facts: Facts, _ action: PassResult.Action = .none, phase: HealthPhase? = nil, error: String? = nil,
        blockedBy: BlockReason? = nil, note: String? = nil
    ) -> PassResult {
        var decision = policy.decide(facts, phase: phase)
        if let note { decision.reasons.insert(note, at: 0) }
        if let error { decision.reasons.insert(error, at: 0) }
        if let blockedBy {
            decision.outcome = .blocked
            decision.blockedBy = blockedBy
            decision.name = nil
        }
        let reading = policy.blockingReading(decision, facts)
        if !settings.statusOnly {
            state.saveLastFacts(FactsFile.json(facts).serialized(indent: 2))
            if let problem = history.record(decision, facts: facts, reading: reading, policy: policy.policy, in: DecisionLog(directory: settings.stateDirectory)) {
                logger.warning("\(problem)")
            }
        }
        var metadata: Logger.Metadata = ["event": "decision", "outcome": "\(decision.outcome.rawValue)", "phase": "\(decision.phase.environmentValue)"]
        if let by = decision.blockedBy { metadata["blocked_by"] = "\(by.rawValue)" }
        if let name = decision.name { metadata["name"] = "\(name)" }
        if let value = reading?.value { metadata["value"] = "\(formatNumber(value))" }
        if let needs = reading?.needs { metadata["needs"] = "\(needs)" }
        let headline = ExplainRenderer.headline(decision)
        // The same decision pass after pass is logged once, then hourly as "still"; a decision under the lock, an
        // error or an action always is.
        let key = DecisionLog.key(decision, reading: reading)
        switch decisionLog.look(key, force: decision.phase != .preLock || error != nil || action != .none) {
        case .log:
            logger.info("decision: \(headline): \(decision.reasons.joined(separator: "; "))", metadata: metadata)
        case .still(let since):
            metadata["event"] = "still"
            logger.info("still \(headline) since \(since): \(decision.reasons.joined(separator: "; "))", metadata: metadata)
        case .quiet:
            break
        }
        return PassResult(decision: decision, facts: facts, action: action, error: error, reading: reading)
    }

    /// A pass that cannot go on: blocked by `by`, with `reason` first among its reasons (the trace still shows
    /// what the facts said), and no reboot. An `error` is retried with backoff.
    func blocked(_ policy: PreparedPolicy, _ facts: Facts, by: BlockReason, _ reason: String, error: Bool = true) -> PassResult {
        if error { logger.error("\(reason)") } else { logger.warning("\(reason)") }
        return error ? finish(policy, facts, error: reason, blockedBy: by) : finish(policy, facts, blockedBy: by, note: reason)
    }

    /// One pass: the post-boot gate when a reboot was under way, otherwise detect, gate, lock, re-check and reboot.
    public func pass(_ policy: PreparedPolicy) async -> PassResult {
        if case .done(let result) = await afterBoot(policy) { return result }
        var facts: Facts
        do {
            facts = try await baseFacts(policy, phase: .preLock, cluster: !fleet.publishesHealth)
        } catch {
            return unavailable(policy, error)
        }
        facts.detectors = await detectors.observeAll(policy)
        if settings.skipLock {
            facts.lock = LockFacts(held: false, available: true, slots: policy.lockSlots)
        } else {
            do {
                facts.lock = try await lock.status(node: settings.nodeName)
            } catch {
                return unavailable(policy, error, facts)
            }
        }
        if fleet.publishesHealth {
            // The fleet counts healthy nodes: every pass checks this node's health and publishes it before it
            // reads the fleet, so the fleet it reads has this node as it is now.
            await runHealth(policy, .preLock, lockHeld: false, into: &facts)
            do {
                if !settings.statusOnly { try await fleet.publish(report(facts, decision: nil)) }
                try await readCluster(policy, into: &facts)
            } catch {
                return unavailable(policy, error, facts)
            }
        } else {
            // Health checks assumed ok first: scripts run only when nothing else holds the reboot back.
            guard policy.decide(facts).outcome == .reboot else { return await published(policy, facts) }
            await runHealth(policy, .preLock, lockHeld: false, into: &facts)
        }
        guard policy.decide(facts).outcome == .reboot else { return await published(policy, facts) }
        if settings.statusOnly { return finish(policy, facts) }

        let holder = HolderInfo(node: settings.nodeName, pid: getpid(), acquiredAt: clock.now().description, phase: HealthPhase.postLock.environmentValue)
        var lockWait: Int64 = 0
        if !settings.skipLock {
            do {
                let started = monotonicMilliseconds()
                let acquired = try await lock.acquire(holder)
                lockWait = monotonicMilliseconds() - started
                observer?.lockAcquire(milliseconds: lockWait, acquired: acquired)
                if acquired { observer?.happened(.lockAcquired) }
                if !acquired {
                    facts.lock.available = false
                    return await published(policy, facts)
                }
            } catch {
                facts.lock.available = false
                facts.lock.held = false
                return await published(policy, blocked(policy, facts, by: .lock, "the lock cannot be taken: \(error.description)"))
            }
        }
        logger.info("took a lock slot; checking again under the lock", metadata: ["event": "lock_acquired", "lock_wait_ms": "\(lockWait)"])

        // Under the lock: detect and check again; anything but a reboot releases the slot.
        var under: Facts
        do {
            under = try await baseFacts(policy, phase: .postLock)
        } catch {
            await giveBack()
            return unavailable(policy, error, facts)
        }
        under.lock = LockFacts(held: true, available: facts.lock.available, slots: facts.lock.slots, holders: facts.lock.holders)
        // The checks under the lock may take long; detection comes last, closest to the reboot.
        await runHealth(policy, .postLock, lockHeld: true, into: &under)
        under.detectors = await detectors.observeAll(policy)
        guard policy.decide(under).outcome == .reboot else {
            await giveBack()
            return await published(policy, under)
        }

        let command = RebootCommand(policy: policy.policy, nodeName: settings.nodeName, phase: .postLock)
        if settings.dryRun || policy.policy.dryRun {
            announce("dry run: would reboot with: \(command.display)")
            await giveBack()
            return await published(policy, finish(policy, under, .dryRun(command)))
        }
        let now = clock.now()
        do {
            try state.save(RebootRecord(bootID: bootID(), node: settings.nodeName, policy: policy.policy.name, at: now.description))
        } catch {
            await giveBack()
            return blocked(policy, under, by: .lock, "cannot write the reboot record in \(settings.stateDirectory): \(error); not rebooting")
        }
        do throws(LockUnavailable) {
            // The slot moves to the bounded reboot lease (checked: this process must still hold it), the fleet is
            // read once more (a pass that stalled, a stopped process or a slow check, must not act on a fleet it
            // read long ago), the fleet hears that this node goes down (not healthy from now on), and right before
            // the command the slot is read once more: it must still be this node's. When all that took longer than
            // the fleet's facts may age (the process was stopped in between, etcd answered slowly), the fleet is
            // read and the decision taken again, a bounded number of times.
            if !settings.skipLock { try await lock.prepareForReboot(node: settings.nodeName) }
            var last = under
            var announced = false
            for attempt in 1... {
                last.now = clock.now()
                let read = monotonicMilliseconds()
                // This node as it is up, not as the announcement of its reboot has it.
                try await readCluster(policy, into: &last, healthy: report(under).healthy)
                guard policy.decide(last).outcome == .reboot else {
                    try? state.removeRecord()
                    await giveBack()
                    if announced { logger.notice("not rebooting after all: the fleet read again right before the reboot command holds it back") }
                    return await published(policy, last)
                }
                if !announced {
                    try await fleet.recordReboot(at: now)
                    try await fleet.publish(report(under, healthy: false, phase: "rebooting"))
                    await fleet.history(RebootHistoryEntry(node: settings.nodeName, started: now.description, outcome: "rebooting"))
                    announced = true
                }
                if !settings.skipLock { try await lock.verifyForReboot(node: settings.nodeName) }
                let age = monotonicMilliseconds() - read
                if age <= fleet.factsMaxAge { break }
                guard attempt < 3 else {
                    throw LockUnavailable(
                        "the fleet was read \(formatDuration(milliseconds: age)) before the reboot command, three times in a row (the facts may be at most \(formatDuration(milliseconds: fleet.factsMaxAge)) old)")
                }
                logger.warning("the fleet was read \(formatDuration(milliseconds: age)) before the reboot command (at most \(formatDuration(milliseconds: fleet.factsMaxAge))); reading it again")
            }
        } catch {
            try? state.removeRecord()
            await giveBack()
            return blocked(policy, under, by: .lock, "the lock slot cannot be kept for the reboot: \(error.description)")
        }
        logger.notice("rebooting: \(command.display)", metadata: ["event": "rebooting"])
        observer?.happened(.rebooting)
        let result = await processes.run(command.argv, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: settings.rebootTimeout)
        observer?.rebootCommand(succeeded: result.exitCode == 0)
        guard result.exitCode == 0 else {
            await fleet.history(RebootHistoryEntry(node: settings.nodeName, started: now.description, finished: clock.now().description, outcome: "failed"))
            try? state.removeRecord()
            await giveBack()
            let why = "the reboot command failed (\(result.ending)): \((result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines))"
            return finish(policy, under, error: why)
        }
        return finish(policy, under, .rebooted(command))
    }

    /// `finish`, and the decision published to the fleet (for `rc fleet status`); a failure to publish it only
    /// logs: the decision stands.
    func published(_ policy: PreparedPolicy, _ facts: Facts) async -> PassResult {
        await published(policy, finish(policy, facts))
    }

    func published(_ policy: PreparedPolicy, _ result: PassResult) async -> PassResult {
        guard fleet.publishesHealth, !settings.statusOnly else { return result }
        do {
            try await fleet.publish(report(result.facts, decision: result.decision, reading: result.reading))
        } catch {
            logger.warning("cannot publish this node's decision: \(error.description)")
        }
        return result
    }

    /// A pass that could not read the lock or the fleet: blocked by the lock (exit 4), retried with backoff.
    func unavailable(_ policy: PreparedPolicy, _ error: LockUnavailable, _ partial: Facts? = nil) -> PassResult {
        var facts = partial ?? Facts(now: clock.now(), phase: .preLock, nodeName: settings.nodeName)
        facts.lock = LockFacts(held: false, available: false, slots: policy.lockSlots, holders: [])
        // Whatever the facts that could be read say, nothing reboots without the lock: blocked by it (exit 4).
        return blocked(policy, facts, by: .lock, "the lock and cluster state cannot be read: \(error.description)")
    }

    /// Gives the lock slot back (logged when it fails).
    /// Gives back the slot this pass took, and says so to the observer (a webhook's `released`).
    func giveBack() async {
        await releaseLock()
        if !settings.skipLock { observer?.happened(.released) }
    }

    public func releaseLock() async {
        guard !settings.skipLock else { return }
        do {
            try await lock.release(node: settings.nodeName)
        } catch {
            logger.error("cannot release the lock: \(error.description)")
        }
    }

    /// What the look at a reboot record decided.
    enum AfterBoot {
        /// The pass ends here.
        case done(PassResult)
        /// No record (or one that is settled): the pass goes on.
        case goOn
    }

    /// A reboot record from before. A new boot id runs the post-boot gate and releases the slot when it passes.
    /// The same boot id means the reboot command was interrupted, or its reboot is still to come (a delayed
    /// `shutdown -r +N`): the slot stays kept for it, and the command is not run again for this record, until the
    /// node is back or the slot's reboot lease (`max_reboot_duration`) ends. A record that cannot be read or
    /// removed blocks, with its path.
    func afterBoot(_ policy: PreparedPolicy) async -> AfterBoot {
        guard !settings.statusOnly else { return .goOn }
        let base = Facts(now: clock.now(), phase: .preLock, nodeName: settings.nodeName)
        let record: RebootRecord
        do {
            guard let found = try state.record() else { return .goOn }
            record = found
        } catch {
            return .done(blocked(policy, base, by: .lock, "the reboot record \(error); not rebooting until it is settled"))
        }
        let current = bootID()
        if current == record.bootID {
            let kept: Bool
            do {
                kept = try await lock.heldForReboot(node: settings.nodeName, bootID: record.bootID)
                    ?? (clock.now().epochMilliseconds < record.started + policy.maxRebootDuration)
            } catch {
                return .done(unavailable(policy, error))
            }
            if kept {
                var facts = base
                facts.lock = LockFacts(held: true, available: false, slots: policy.lockSlots)
                let reason = "the reboot recorded at \(record.at) has not happened (boot id unchanged): it was interrupted or is still to come; its lock slot stays held and the reboot command is not run again until the node is back or max_reboot_duration (\(formatDuration(milliseconds: policy.maxRebootDuration))) has passed"
                return .done(blocked(policy, facts, by: .lock, reason, error: false))
            }
            logger.warning("the reboot recorded at \(record.at) did not happen (boot id unchanged) and its lock slot has ended; removing the record")
            await fleet.history(RebootHistoryEntry(node: settings.nodeName, started: record.at, finished: clock.now().description, outcome: "did not happen"))
            do {
                try state.removeRecord()
            } catch {
                return .done(blocked(policy, base, by: .lock, "the reboot record \(error); not rebooting until it is settled"))
            }
            return .goOn
        }
        var facts: Facts
        do {
            facts = try await baseFacts(policy, phase: .postBoot)
        } catch {
            return .done(unavailable(policy, error))
        }
        facts.lock = LockFacts(held: true, slots: policy.lockSlots)
        await runHealth(policy, .postBoot, lockHeld: true, into: &facts)
        let decision = policy.decide(facts)
        guard decision.outcome == .noRebootNeeded else {
            return .done(await published(policy, facts))
        }
        do {
            if !settings.skipLock { try await lock.releaseAfterReboot(node: settings.nodeName, bootID: record.bootID) }
        } catch {
            return .done(unavailable(policy, error, facts))
        }
        do {
            try state.removeRecord()
        } catch {
            return .done(blocked(policy, facts, by: .lock, "the reboot record \(error); not rebooting until it is settled"))
        }
        logger.info("back after the reboot of \(record.at); the post-boot gate passed and the lock slot is released")
        let back = clock.now()
        await fleet.history(
            RebootHistoryEntry(
                node: settings.nodeName, started: record.at, finished: back.description,
                duration: (try? Instant.parse(record.at).get()).map { back.epochMilliseconds - $0.epochMilliseconds }, outcome: "rebooted"))
        return .done(await published(policy, finish(policy, facts, .releasedAfterBoot)))
    }
}

extension RebootRecord {
    /// When the reboot was recorded, in epoch milliseconds (0 when the record's time does not parse: long ago).
    var started: Int64 {
        if case .success(let at) = Instant.parse(at) { return at.epochMilliseconds }
        return 0
    }
}

extension PreparedPolicy {
    /// How long a slot stays kept across a reboot: the etcd lock's `max_reboot_duration`, and as long for a lock
    /// on this host (the time after which an interrupted reboot is taken not to come).
    var maxRebootDuration: Int64 {
        if case .etcd(let spec) = policy.lock { return spec.maxRebootDuration }
        return 1_800_000
    }
}

/// Which decisions the log shows: a decision the same as the last one logged is left out, and shown again as "still"
/// at most every `reminder` milliseconds.
public final class DecisionLogGate: @unchecked Sendable {
    public enum Verdict: Equatable {
        case log
        case still(since: String)
        case quiet
    }

    private let lock = NSLock()
    private let clock: any RCClock
    private let reminder: Int64
    private var last: (key: String, since: Instant, shown: Int64)?

    /// A gate reminding every `reminder` milliseconds (an hour).
    public init(clock: any RCClock, reminder: Int64 = 3_600_000) {
        self.clock = clock
        self.reminder = reminder
    }

    /// Whether a decision with `key` is logged; `force` logs it whatever came before.
    public func look(_ key: String, force: Bool = false) -> Verdict {
        lock.withLock {
            let now = clock.now()
            let tick = monotonicMilliseconds()
            guard !force, let last, last.key == key else {
                self.last = force ? nil : (key, now, tick)
                return .log
            }
            guard tick - last.shown >= reminder else { return .quiet }
            self.last = (key, last.since, tick)
            return .still(since: last.since.description)
        }
    }
}

/// Where the decision log stands for this process: the key of its last entry.
final class HistoryCursor: @unchecked Sendable {
    private let lock = NSLock()
    private var last: String?

    func record(_ decision: Decision, facts: Facts, reading: HealthReading?, policy: CheckedPolicy, in log: DecisionLog) -> String? {
        lock.withLock { log.record(decision, facts: facts, reading: reading, policy: policy.name, retain: policy.retainDecisions, last: &last) }
    }
}
