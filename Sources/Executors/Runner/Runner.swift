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

    /// Creates settings.
    public init(nodeName: String, dryRun: Bool, stateDirectory: String, bootIDPath: String = "/proc/sys/kernel/random/boot_id") {
        self.nodeName = nodeName
        self.dryRun = dryRun
        self.stateDirectory = stateDirectory
        self.bootIDPath = bootIDPath
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

    /// Creates a result.
    public init(decision: Decision, facts: Facts, action: Action, error: String? = nil) {
        self.decision = decision
        self.facts = facts
        self.action = action
        self.error = error
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

    /// Creates a runner.
    public init(
        settings: RunnerSettings, clock: any RCClock = SystemClock(), processes: any ProcessRunning = ProcessRunner(), paths: HostPaths = HostPaths(),
        lock: any LockBackend, fleet: (any Fleet)? = nil, logger: Logger, announce: @escaping @Sendable (String) -> Void = { print($0) }
    ) {
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

    /// The facts every phase starts from: time, node, kill switches, the cluster.
    func baseFacts(_ policy: PreparedPolicy, phase: HealthPhase) async throws(LockUnavailable) -> Facts {
        var facts = Facts()
        facts.now = clock.now()
        facts.phase = phase
        facts.nodeName = settings.nodeName
        facts.nodeLabels = [:]
        if let uptime = paths.read("/proc/uptime")?.split(separator: " ").first.flatMap({ Double($0) }) {
            facts.nodeUptime = Int64(uptime * 1000)
        }
        facts.killSwitch = !killSwitches.active(policy.policy).isEmpty
        facts.cluster = try await fleet.cluster(node: settings.nodeName, fallbackNodes: policy.policy.cluster.fallbackNodes)
        if try await fleet.killSwitch() == true { facts.killSwitch = true }
        return facts
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
    }

    func finish(_ policy: PreparedPolicy, _ facts: Facts, _ action: PassResult.Action = .none, phase: HealthPhase? = nil, error: String? = nil) -> PassResult {
        var decision = policy.decide(facts, phase: phase)
        if let error { decision.reasons.insert(error, at: 0) }
        if !settings.statusOnly { state.saveLastFacts(FactsFile.json(facts).serialized(indent: 2)) }
        var metadata: Logger.Metadata = ["outcome": "\(decision.outcome.rawValue)", "phase": "\(decision.phase.environmentValue)"]
        if let by = decision.blockedBy { metadata["blocked_by"] = "\(by.rawValue)" }
        if let name = decision.name { metadata["name"] = "\(name)" }
        logger.info("decision: \(ExplainRenderer.headline(decision)): \(decision.reasons.joined(separator: "; "))", metadata: metadata)
        return PassResult(decision: decision, facts: facts, action: action, error: error)
    }

    /// One pass: the post-boot gate when a reboot was under way, otherwise detect, gate, lock, re-check and reboot.
    public func pass(_ policy: PreparedPolicy) async -> PassResult {
        if let result = await afterBoot(policy) { return result }
        var facts: Facts
        do {
            facts = try await baseFacts(policy, phase: .preLock)
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
            // The fleet counts healthy nodes: every pass checks and publishes this node's health.
            await runHealth(policy, .preLock, lockHeld: false, into: &facts)
            if !settings.statusOnly {
                do {
                    try await fleet.publish(node: settings.nodeName, healthy: facts.health.values.allSatisfy(\.ok), at: clock.now())
                } catch {
                    return unavailable(policy, error, facts)
                }
            }
        } else {
            // Health checks assumed ok first: scripts run only when nothing else holds the reboot back.
            guard policy.decide(facts).outcome == .reboot else { return finish(policy, facts) }
            await runHealth(policy, .preLock, lockHeld: false, into: &facts)
        }
        guard policy.decide(facts).outcome == .reboot else { return finish(policy, facts) }
        if settings.statusOnly { return finish(policy, facts) }

        let holder = HolderInfo(node: settings.nodeName, pid: getpid(), acquiredAt: clock.now().description, phase: HealthPhase.postLock.environmentValue)
        if !settings.skipLock {
            do {
                if try await !lock.acquire(holder) {
                    facts.lock.available = false
                    return finish(policy, facts)
                }
            } catch {
                facts.lock.available = false
                return finish(policy, facts, error: "the lock cannot be taken: \(error.description)")
            }
        }
        logger.info("took a lock slot; checking again under the lock")

        // Under the lock: detect and check again; anything but a reboot releases the slot.
        var under: Facts
        do {
            under = try await baseFacts(policy, phase: .postLock)
        } catch {
            await releaseLock()
            return unavailable(policy, error, facts)
        }
        under.lock = LockFacts(held: true, available: facts.lock.available, slots: facts.lock.slots, holders: facts.lock.holders)
        // The checks under the lock may take long; detection comes last, closest to the reboot.
        await runHealth(policy, .postLock, lockHeld: true, into: &under)
        under.detectors = await detectors.observeAll(policy)
        guard policy.decide(under).outcome == .reboot else {
            await releaseLock()
            return finish(policy, under)
        }

        let command = RebootCommand(policy: policy.policy, nodeName: settings.nodeName, phase: .postLock)
        if settings.dryRun || policy.policy.dryRun {
            announce("dry run: would reboot with: \(command.display)")
            await releaseLock()
            return finish(policy, under, .dryRun(command))
        }
        let now = clock.now()
        do {
            try state.save(RebootRecord(bootID: bootID(), node: settings.nodeName, policy: policy.policy.name, at: now.description))
        } catch {
            await releaseLock()
            return finish(policy, under, error: "cannot write the reboot record in \(settings.stateDirectory): \(error); not rebooting")
        }
        do {
            if !settings.skipLock { try await lock.prepareForReboot(node: settings.nodeName) }
            try await fleet.recordReboot(at: now)
        } catch {
            state.removeRecord()
            await releaseLock()
            return finish(policy, under, error: "cannot prepare the lock for the reboot: \(error.description); not rebooting")
        }
        logger.notice("rebooting: \(command.display)")
        let result = await processes.run(command.argv, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: settings.rebootTimeout)
        guard result.exitCode == 0 else {
            state.removeRecord()
            await releaseLock()
            let why = "the reboot command failed (\(result.ending)): \((result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines))"
            return finish(policy, under, error: why)
        }
        return finish(policy, under, .rebooted(command))
    }

    /// A pass that could not read the lock or the fleet: blocked by the lock (exit 4), retried with backoff.
    func unavailable(_ policy: PreparedPolicy, _ error: LockUnavailable, _ partial: Facts? = nil) -> PassResult {
        var facts = partial ?? Facts(now: clock.now(), phase: .preLock, nodeName: settings.nodeName)
        facts.lock = LockFacts(held: false, available: false, slots: policy.lockSlots, holders: [])
        logger.error("\(error.description)")
        var result = finish(policy, facts, error: "the lock and cluster state cannot be read: \(error.description)")
        // Whatever the facts that could be read say, nothing reboots without the lock: blocked by it (exit 4).
        result.decision.outcome = .blocked
        result.decision.blockedBy = .lock
        result.decision.name = nil
        return result
    }

    /// Gives the lock slot back (logged when it fails).
    public func releaseLock() async {
        guard !settings.skipLock else { return }
        do {
            try await lock.release(node: settings.nodeName)
        } catch {
            logger.error("cannot release the lock: \(error.description)")
        }
    }

    /// A reboot record from before: a new boot id runs the post-boot gate and releases the slot when it passes;
    /// the same boot id means the reboot never happened, which is logged and undone.
    func afterBoot(_ policy: PreparedPolicy) async -> PassResult? {
        guard let record = state.record(), !settings.statusOnly else { return nil }
        let current = bootID()
        if current == record.bootID {
            logger.warning("the reboot recorded at \(record.at) did not happen (boot id unchanged); releasing the lock slot")
            await releaseLock()
            state.removeRecord()
            return nil
        }
        var facts: Facts
        do {
            facts = try await baseFacts(policy, phase: .postBoot)
        } catch {
            return unavailable(policy, error)
        }
        facts.lock = LockFacts(held: true, slots: policy.lockSlots)
        await runHealth(policy, .postBoot, lockHeld: true, into: &facts)
        let decision = policy.decide(facts)
        guard decision.outcome == .noRebootNeeded else {
            return finish(policy, facts)
        }
        await releaseLock()
        state.removeRecord()
        logger.info("back after the reboot of \(record.at); the post-boot gate passed and the lock slot is released")
        return finish(policy, facts, .releasedAfterBoot)
    }
}
