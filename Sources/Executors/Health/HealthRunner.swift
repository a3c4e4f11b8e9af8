import Evaluator
import Foundation
import PolicyLang

/// What a health script is told about the pass it gates, through its environment.
public struct HealthContext: Sendable {
    public var phase: HealthPhase
    public var nodeName: String
    public var dryRun: Bool
    public var lockHeld: Bool
    public var lockAttempts: Int
    public var skipLock: Bool = false

    /// Creates a context.
    public init(phase: HealthPhase, nodeName: String, dryRun: Bool, lockHeld: Bool, lockAttempts: Int) {
        self.phase = phase
        self.nodeName = nodeName
        self.dryRun = dryRun
        self.lockHeld = lockHeld
        self.lockAttempts = lockAttempts
    }
}

/// Runs health scripts: absolute, owned by root (or by the user rc runs as, which gains nothing by it) and writable
/// by nobody else (a script anyone can change is a way to reboot or hold the fleet), with a timeout that kills its whole process group. Exit 0 lets the reboot go
/// on; anything else, including a refusal to run, blocks.
public struct HealthRunner: Sendable {
    let runner: any ProcessRunning
    /// The uids a script may belong to: root and the user rc runs as.
    let owners: Set<uid_t>

    /// Creates a runner.
    public init(runner: any ProcessRunning = ProcessRunner(), owners: Set<uid_t> = [0, getuid()]) {
        self.runner = runner
        self.owners = owners
    }

    /// Runs every check of the policy that runs in the context's phase.
    /// Checks that measure run first, so that the scripts after them see their values (`RC_HEALTH_<NAME>_VALUE`).
    public func runAll(_ policy: PreparedPolicy, _ context: HealthContext) async -> [String: HealthObservation] {
        var result: [String: HealthObservation] = [:]
        let checks = policy.policy.health.filter { $0.phases.contains(context.phase) }
        for check in checks {
            guard let probe = check.probe else { continue }
            var observation = await HealthProbeRunner().measure(check, probe)
            if let judged = policy.judgeHealth(check.name, observation) {
                observation.ok = judged.ok
                observation.output = judged.text
            }
            result[check.name] = observation
        }
        let measured = result.compactMapValues { $0.measurement?.number }
        for check in checks where check.probe == nil {
            result[check.name] = await run(check, policy.policy, context, measured: measured)
        }
        return result
    }

    /// A value as a script compares it: a whole number without a fraction (`200`, so `[ "$V" -eq 200 ]` works),
    /// any other number as Swift writes it (`0.034`).
    static func shellNumber(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : formatNumber(value)
    }

    /// `RC_WINDOWS_DENY`, `RC_WINDOWS_ALLOW`: `name=Fri 18:00 .. Mon 08:00;…`, a window in a zone of its own
    /// followed by it (`ny=Fri 18:00 .. Mon 08:00 in America/New_York`): the others are in `RC_TIMEZONE`.
    static func windowsVariable(_ policy: CheckedPolicy, _ effect: WindowEffect) -> String {
        policy.windows.filter { $0.effect == effect }.map { w in
            "\(w.name)=\(w.text)" + (w.timeZone == policy.timeZone ? "" : " in \(w.timeZone)")
        }.joined(separator: ";")
    }

    /// `RC_HEALTH_<NAME>_VALUE` (``HealthSpec/valueVariable(_:)``).
    public static func valueVariable(_ check: String) -> String { HealthSpec.valueVariable(check) }

    /// Why a script may not run, or `nil` when it may (`TrustedProgram`: the file and every directory on its way).
    public func refusal(_ path: String) -> String? {
        switch TrustedProgram.open(path, owners: owners) {
        case .success(let program):
            close(program.descriptor)
            return nil
        case .failure(let why):
            return why.description
        }
    }

    /// Runs one check.
    public func run(_ check: HealthSpec, _ policy: CheckedPolicy, _ context: HealthContext, measured: [String: Double] = [:]) async -> HealthObservation {
        let program: TrustedProgram
        switch TrustedProgram.open(check.argv[0], owners: owners) {
        case .success(let checked): program = checked
        case .failure(let why): return HealthObservation(ok: false, exitCode: nil, output: "refused to run: \(why)", duration: 0)
        }
        // The file that was checked is the one that runs.
        let result = await runner.run(check.argv, program: program.descriptor, environment: environment(policy, context, check: check, measured: measured), timeout: check.timeout)
        close(program.descriptor)
        let output = (result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
        switch result.ending {
        case .exited(let code):
            return HealthObservation(ok: code == 0, exitCode: Int(code), output: output.isEmpty ? nil : output, duration: result.duration)
        case .timedOut:
            return HealthObservation(ok: false, output: "timed out after \(formatDuration(milliseconds: check.timeout))" + (output.isEmpty ? "" : ": " + output), duration: result.duration)
        case .signaled(let signal):
            return HealthObservation(ok: false, output: "killed by signal \(signal)" + (output.isEmpty ? "" : ": " + output), duration: result.duration)
        case .launchFailed(let why):
            return HealthObservation(ok: false, output: "cannot run \(why)", duration: result.duration)
        }
    }

    /// The environment of a health script: the policy's thresholds and windows, then the check's own `env` (which
    /// replaces those of the same name), then what rc sets for each run: the phase, the node, the lock, and the value
    /// each measuring check of the pass saw (`RC_HEALTH_ERRORS_VALUE=0.034`).
    public func environment(_ policy: CheckedPolicy, _ context: HealthContext, check: HealthSpec? = nil, measured: [String: Double] = [:]) -> [String: String] {
        var env: [String: String] = [
            "RC_KILL_SWITCH_FILE": policy.killSwitches.compactMap { if case .file(let p) = $0 { p } else { nil } }.first ?? "",
            "RC_FALLBACK_NODES": policy.cluster.fallbackNodes.joined(separator: ","),
            "RC_COOLDOWN_SECONDS": String(policy.cluster.cooldown / 1000),
            "RC_TIMEZONE": policy.timeZone,
            "RC_WINDOWS_DENY": Self.windowsVariable(policy, .deny),
            "RC_WINDOWS_ALLOW": Self.windowsVariable(policy, .allow),
            "RC_RULES": policy.rules.map(\.name).joined(separator: ";"),
        ]
        if case .etcd(let etcd) = policy.lock { env["RC_LOCK_SLOTS"] = String(etcd.slots) } else { env["RC_LOCK_SLOTS"] = "1" }
        if let check { env.merge(check.environment) { _, own in own } }
        let perRun: [String: String] = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "RC_PHASE": context.phase.environmentValue,
            "RC_NODE_NAME": context.nodeName,
            "RC_POLICY": policy.name,
            "RC_DRY_RUN": context.dryRun ? "true" : "false",
            "RC_LOCK_ENABLED": context.skipLock ? "false" : "true",
            "RC_LOCK_HELD": context.lockHeld ? "true" : "false",
            "RC_LOCK_ATTEMPTS": String(context.lockAttempts),
        ]
        env.merge(perRun) { _, run in run }
        for (name, value) in measured { env[Self.valueVariable(name)] = Self.shellNumber(value) }
        if context.skipLock { env["RC_SKIP_LOCK"] = "1" }
        return env
    }
}
