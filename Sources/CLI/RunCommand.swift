import ArgumentParser
import Evaluator
import Executors
import Foundation
import Logging
import PolicyLang
import ServiceLifecycle

/// Options shared by `rc run` and `rc status`: which policy, which node, where state lives.
struct NodeOptions: ParsableArguments {
    @Argument(help: "A policy file, or a directory holding the node's policy (default: the embedded safe default policy).")
    var policy: String?

    @Option(help: "This node's name (default: $RC_NODE_NAME, else a single policy's node_name, else the host name).")
    var nodeName: String?

    @Option(name: .customLong("label"), help: ArgumentHelp("A label of this node, KEY=VALUE (repeatable; overrides the labels file).", valueName: "key=value"))
    var label: [String] = []

    @Option(help: "This node's labels, KEY=VALUE lines (default: \(LabelsFile.defaultPath) when it exists).")
    var labelsFile: String?

    @Option(help: "Where rc keeps its reboot record, last decision and local lock.")
    var stateDir: String = "/var/lib/rc"

    @Option(help: "The kernel boot id file, read to tell whether a reboot happened.")
    var bootIdFile: String = "/proc/sys/kernel/random/boot_id"

    @Option(help: "Log lines on standard error: json or text (default: json unless standard error is a terminal).")
    var logFormat: LogFormat?

    /// The name `--node-name` or `RC_NODE_NAME` gives, if any.
    var givenName: String? {
        if let nodeName { return nodeName }
        if let name = ProcessInfo.processInfo.environment["RC_NODE_NAME"], !name.isEmpty { return name }
        return nil
    }

    /// The node a command acts for: `--node-name`, else `RC_NODE_NAME`, else the policy's `node_name` (a per-node
    /// policy, as `rc import` writes), else the host name.
    func name(for policy: PreparedPolicy) -> String { givenName ?? policy.policy.nodeName ?? node }

    /// `--node-name`, else `RC_NODE_NAME`, else the host name.
    var node: String {
        if let givenName { return givenName }
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// This node's labels, from the labels file and `--label` (which wins), and where they came from (nil: the
    /// node has no label source at all). A bad file is a located error (exit 2), a bad `--label` a usage error.
    func labels() throws -> (labels: [String: String], source: String?) {
        var labels: [String: String] = [:]
        var sources: [String] = []
        let path = labelsFile ?? LabelsFile.defaultPath
        do {
            if let file = try LabelsFile.load(path, required: labelsFile != nil) {
                if !file.diagnostics.isEmpty {
                    PolicyLoader.report([FileDiagnostics(file: file.file, diagnostics: file.diagnostics)], color: ColorChoice.auto.enabled(for: STDERR_FILENO))
                    throw ExitCode(ExitStatus.invalidPolicy)
                }
                labels = file.labels
                sources.append(path)
            }
        } catch let error as LabelsError {
            printError("error: \(error.description)")
            throw ExitCode(ExitStatus.invalidPolicy)
        }
        for item in label {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ValidationError("--label takes KEY=VALUE, not \(quoteString(item))")
            }
            labels[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        if !label.isEmpty { sources.append("--label") }
        return (labels, sources.isEmpty ? nil : sources.joined(separator: " and "))
    }

    /// A warning when the policy reads `node.labels` and the node has no label source: its label rules can never
    /// see a label.
    static func labelWarning(_ policy: PreparedPolicy, source: String?) -> String? {
        guard source == nil, policy.policy.tables.facts.contains(.nodeLabels) else { return nil }
        return "policy \(quoteString(policy.policy.name)) reads node.labels, but this node has no labels (no \(LabelsFile.defaultPath), no --labels-file, no --label): every label it reads is missing"
    }

    /// Checks the policy (the file, the node's policy in a directory, or the embedded default); exit 2 when invalid.
    /// A single file whose `applies_to` is false for this node is refused (exit 2) unless `forNode` is false (the
    /// lock and fleet commands, which read what a policy shares, from any host).
    func load(labels: [String: String] = [:], forNode: Bool = true) throws -> PreparedPolicy {
        guard let path = policy else {
            let result = Checker.check(SourceFile(path: DefaultPolicy.path, text: DefaultPolicy.text))
            guard let checked = result.policy, !result.hasErrors else {
                PolicyLoader.report([FileDiagnostics(file: result.tree.file, diagnostics: result.diagnostics)], color: false)
                throw ExitCode(ExitStatus.invalidPolicy)
            }
            return PreparedPolicy(checked)
        }
        return try PolicyLoader.select(
            path, facts: Facts(nodeName: node, nodeLabels: labels), color: ColorChoice.auto.enabled(for: STDERR_FILENO), enforceAppliesTo: forNode,
            policyNames: givenName == nil)
    }

    /// The lock and fleet of the policy: an flock on this host, or etcd. `remember` is for the daemon: the fleet
    /// remembers in the state directory which etcd store it saw.
    func backends(for policy: PreparedPolicy, logger: Logger, remember: Bool = false) throws -> Backends {
        switch policy.policy.lock {
        case .local:
            return Backends(lock: Runner.localLock(for: policy.policy, stateDirectory: stateDir), fleet: nil, client: nil)
        case .etcd(let spec):
            do {
                let client = try EtcdClient(spec)
                let fleet = EtcdFleet(client: client, policy: policy.policy, spec: spec, state: remember ? StateStore(directory: stateDir) : nil, logger: logger)
                return Backends(
                    lock: EtcdLock(client: client, spec: spec, logger: logger, instance: LockInstance.current(bootIDPath: bootIdFile)), fleet: fleet,
                    client: client)
            } catch {
                printError("error: \(error.description)")
                throw ExitCode(ExitStatus.invalidPolicy)
            }
        }
    }

    func logger() -> Logger {
        var logger: Logger
        switch logFormat ?? .automatic {
        case .json: logger = Logger(label: "rc") { JSONLogHandler(label: $0) }
        case .text: logger = Logger(label: "rc") { StreamLogHandler.standardError(label: $0) }
        }
        let level = ProcessInfo.processInfo.environment["RC_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        logger.logLevel = level ?? .info
        return logger
    }
}

/// The lock and fleet a command talks to; `shutdown()` closes etcd connections.
struct Backends {
    var lock: any LockBackend
    var fleet: (any Fleet)?
    var client: EtcdClient?

    func shutdown() async {
        await client?.shutdown()
    }
}

/// `rc run`: the node daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the reboot coordinator on this node.",
        discussion: """
            Every check_interval (±10 % jitter) one pass follows the decision steps: detect, kill switch, windows, \
            rules, health before the lock, take a lock slot, detect and check health again under the lock, then \
            run the reboot command. The slot is released on every path that does not reboot. Before rebooting, \
            the kernel boot id is recorded in the state directory; when rc starts after the boot it runs the \
            post-boot health gate and releases the slot. If the boot id did not change, the reboot command was \
            interrupted or its reboot is still to come: the slot stays kept for it and the command is not run again \
            until the node is back or max_reboot_duration has passed. A reboot record that cannot be read or \
            removed blocks, with its path. One daemon per state directory (STATE_DIR/daemon.pid is locked). \
            The node name is --node-name, else $RC_NODE_NAME, else the host name.

            Transient failures (the lock cannot be read, the reboot command failed) back off exponentially with full \
            jitter between the policy's backoff bounds. SIGTERM and SIGINT stop rc gracefully (the slot released \
            unless a reboot is under way); SIGHUP reloads the policy, and a policy that does not check is rejected \
            with its diagnostics while the old one stays in force (so is one that changes the lock block or the \
            cluster's publish_interval/forget_after: restart rc to apply those). The facts of the last decision are kept in \
            STATE_DIR/last-decision.json, which `rc explain POLICY --facts` replays. RC_LOG_LEVEL sets the log level; \
            --log-format json|text the format (JSON unless standard error is a terminal). The same decision pass after \
            pass is logged once, then hourly as "still …".

            With `lock etcd` (docs/etcd.md) every pass publishes this node's health before it reads the fleet's, \
            and a reporter republishes it every publish_interval; a member that stops reporting stays counted and \
            is not healthy. Right before the reboot command the slot is moved to the reboot lease and read again: \
            if it is no longer this node's, nothing reboots. Another host running under the same node name is \
            refused. A node that finds the lock full waits in a queue of waiters and tries again as soon as its \
            turn comes; when etcd cannot be reached, or its store went back (see `rc lock reset`), nothing reboots \
            and the daemon retries with backoff.

            With a `metrics { listen "HOST:PORT" }` block or --metrics-listen, the daemon serves Prometheus metrics at \
            /metrics, /healthz (200 while passes make progress, 503 once a pass or the wait for one exceeds \
            metrics.stuck_after) and /readyz (200 once a pass has ended); an address that cannot be bound is a startup \
            error (exit 2). docs/operations.md lists the metrics.

            --once runs one pass and exits with the decision's exit code (0, 3 health, 4 lock, 5 kill switch, \
            6 detector error, 7 window, 8 rule; 1 when the reboot command failed). --dry-run does everything but \
            run the reboot command, which it prints.
            """
    )

    @OptionGroup var node: NodeOptions

    @Flag(help: "Run one pass and exit with the decision's exit code.")
    var once = false

    @Flag(help: "Print the reboot command instead of running it.")
    var dryRun = false

    @Option(help: ArgumentHelp("Serve /metrics, /healthz and /readyz on this address (overrides the policy's metrics block).", valueName: "host:port"))
    var metricsListen: String?

    func run() async throws {
        let (labels, labelSource) = try node.labels()
        let policy = try node.load(labels: labels)
        let nodeName = node.name(for: policy)
        let logger = {
            var logger = node.logger()
            logger[metadataKey: "node"] = "\(nodeName)"
            logger[metadataKey: "policy"] = "\(policy.policy.name)"
            return logger
        }()
        // One daemon per state directory: a second one would consume the first's reboot record.
        let stateLock: Int32
        do {
            stateLock = try StateStore(directory: node.stateDir).lockForDaemon()
        } catch {
            printError("error: \(error.description)")
            throw ExitCode(ExitStatus.runtimeError)
        }
        defer { close(stateLock) }
        let backends = try node.backends(for: policy, logger: logger, remember: true)
        var settings = RunnerSettings(nodeName: nodeName, dryRun: dryRun, stateDirectory: node.stateDir, bootIDPath: node.bootIdFile)
        settings.labels = labels
        // The metrics endpoint: bound before the first pass, so a port in use is a startup error.
        let metrics = RCMetrics(version: RCVersion.current)
        let progress = LoopProgress(stuckAfter: MetricsSpec.stuckAfter(policy.policy.metrics, policy.policy.cluster))
        var server: OpsServer?
        if !once, let listen = metricsListen ?? policy.policy.metrics.flatMap({ $0.enabled ? $0.listen : nil }) {
            do throws(OpsServer.StartError) {
                server = try OpsServer(listen: listen, metrics: metrics, progress: progress)
            } catch {
                await backends.shutdown()
                printError("error: \(error.description)")
                throw ExitCode(ExitStatus.invalidPolicy)
            }
        }
        defer { server?.shutdown() }
        let notifier = policy.policy.notifications.isEmpty ? nil : Notifier(policy.policy.notifications, node: nodeName, policy: policy.policy.name, logger: logger)
        let runner = Runner(
            settings: settings, lock: backends.lock, fleet: backends.fleet, logger: logger, observer: Observers(metrics: metrics, notifier: notifier))
        if let server { logger.info("serving /metrics, /healthz and /readyz on \(server.address)") }
        if let warning = NodeOptions.labelWarning(policy, source: labelSource) { logger.warning("\(warning)") }
        if dryRun || policy.policy.dryRun {
            logger.info("dry run: the reboot command is printed, never run")
        }
        if once {
            let result = await runner.pass(policy)
            notifier?.passed(result)
            await notifier?.shutdown()
            await backends.shutdown()
            print("\(nodeName): \(ExplainRenderer.headline(result.decision))" + (result.decision.reasons.first.map { ": " + $0 } ?? ""))
            throw ExitCode(result.exitCode)
        }

        let holder = PolicyHolder(policy)
        let path = node.policy
        let nodeOptions = node
        var waitForLock: (@Sendable (Int64) async -> Void)?
        let etcdLock = backends.lock as? EtcdLock
        if let etcdLock {
            // Blocked by a full lock: wait in the queue of waiters for this node's turn.
            waitForLock = { ms in await etcdLock.waitTurn(node: nodeName, milliseconds: ms) }
        }
        let loop = DaemonLoop(policy: holder, clock: SystemClock(), logger: logger, waitForLock: waitForLock) { policy in
            progress.passBegins()
            let result = await runner.pass(policy)
            metrics.passed(result)
            notifier?.passed(result)
            progress.passEnds()
            if result.decision.blockedBy != .lock { await etcdLock?.leaveQueue(node: nodeName) }
            return result
        }
        let service = DaemonService(
            loop: loop,
            reload: {
                guard let path else {
                    logger.info("SIGHUP: the embedded default policy has nothing to reload")
                    return
                }
                metrics.reloaded(applied: RunCommand.reload(path, into: holder, node: nodeOptions, logger: logger))
            },
            onStop: { last in
                if case .rebooted? = last?.action {
                    logger.notice("stopping while the reboot is under way; the lock slot stays held")
                } else {
                    await runner.releaseLock()
                    logger.info("stopped; the lock slot is free")
                }
            })
        var services: [any Service] = [service]
        if let fleet = backends.fleet as? EtcdFleet {
            services.append(FleetReporter(fleet: fleet, interval: policy.policy.cluster.publishInterval, clock: SystemClock(), logger: logger))
        }
        if let interval = SystemdNotify.watchdogInterval() { services.append(SystemdWatchdog(interval: interval)) }
        let group = ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("rc \(RCVersion.current) running policy \(quoteString(policy.policy.name)) for node \(quoteString(nodeName)) every \(formatDuration(milliseconds: policy.policy.cluster.checkInterval))")
        SystemdNotify.send("READY=1")
        do {
            try await group.run()
        } catch {
            await notifier?.shutdown()
            await backends.shutdown()
            throw error
        }
        await notifier?.shutdown()
        await backends.shutdown()
    }

    /// Replaces the policy in force with the one at `path` if it checks; otherwise logs why and keeps the old one.
    @discardableResult
    static func reload(_ path: String, into holder: PolicyHolder, node: NodeOptions, logger: Logger) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else {
            logger.error("SIGHUP: cannot read \(path); the old policy stays in force")
            return false
        }
        let result = Checker.check(SourceFile(path: path, bytes: Array(data)))
        guard let checked = result.policy, !result.hasErrors else {
            let text = DiagnosticRenderer(color: false, toolVersion: RCVersion.current)
                .text([FileDiagnostics(file: result.tree.file, diagnostics: result.diagnostics.filter { $0.severity == .error })])
            logger.error("SIGHUP: \(path) does not check; the old policy stays in force:\n\(text)")
            return false
        }
        let old = holder.policy.policy
        if old.lock != checked.lock || old.cluster.publishInterval != checked.cluster.publishInterval || old.cluster.forgetAfter != checked.cluster.forgetAfter {
            // The lock and the reporter were built from the old settings: a reload would log one bound and keep
            // another. A restart applies them.
            logger.error("SIGHUP: \(path) changes the lock block or the fleet's publish_interval/forget_after, which a reload cannot apply; the old policy stays in force: restart rc (systemctl restart rc) to apply it")
            return false
        }
        holder.replace(PreparedPolicy(checked))
        logger.info("SIGHUP: reloaded policy \(quoteString(checked.name)) from \(path)")
        return true
    }
}

/// systemd's notification protocol (sd_notify(3)) for `Type=notify`: one datagram to `$NOTIFY_SOCKET`, nothing
/// without it.
enum SystemdNotify {
    /// Sends `state` ("READY=1", "WATCHDOG=1"); false when there is no socket or the datagram was not sent.
    @discardableResult
    static func send(_ state: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || path.hasPrefix("@") else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }  // an abstract socket
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes[0] == 0 ? 0 : 1))
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, state, state.utf8.count, 0, $0, length) }
        }
        return sent == state.utf8.count
    }

    /// Half the watchdog timeout systemd set for this process (`$WATCHDOG_USEC`, `$WATCHDOG_PID`), in milliseconds.
    static func watchdogInterval(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int64? {
        guard let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"].flatMap(Int32.init), pid != getpid() { return nil }
        return max(1, usec / 2000)
    }
}

/// Pings systemd's watchdog while the daemon's tasks get to run; it stops with the daemon.
struct SystemdWatchdog: Service {
    let interval: Int64

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                SystemdNotify.send("WATCHDOG=1")
                try? await Task.sleep(for: .milliseconds(interval))
            }
        }
    }
}

/// `rc status`: a dry-run pass that reports without rebooting or holding the lock.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Report detectors, health, lock and the decision for this node, without rebooting.",
        discussion: """
            Runs the detectors, the health checks before the lock and reads the lock, then prints the decision \
            with its trace as `rc explain` does (blocked by a full etcd lock, it names the holders, the nodes waiting in \
            line and this node's place). It never takes a lock slot and never runs the reboot command. \
            --skip-health and --skip-lock leave those out (scripts see RC_SKIP_LOCK=1).

            Exit status: the decision's, as for `rc explain`.
            """
    )

    @OptionGroup var node: NodeOptions

    @Flag(help: "Do not run the health checks (they are assumed ok).")
    var skipHealth = false

    @Flag(help: "Do not read the lock (a slot is assumed free).")
    var skipLock = false

    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    @Option(help: "Colour the text output: auto, always or never.")
    var color: ColorChoice = .auto

    func run() async throws {
        let (labels, labelSource) = try node.labels()
        let policy = try node.load(labels: labels)
        if let warning = NodeOptions.labelWarning(policy, source: labelSource) { printError("warning: \(warning)") }
        var settings = RunnerSettings(nodeName: node.name(for: policy), dryRun: true, stateDirectory: node.stateDir, bootIDPath: node.bootIdFile)
        settings.labels = labels
        settings.statusOnly = true
        settings.skipHealth = skipHealth
        settings.skipLock = skipLock
        var logger = node.logger()
        logger.logLevel = .warning
        let backends = try node.backends(for: policy, logger: logger)
        let result = await Runner(settings: settings, lock: backends.lock, fleet: backends.fleet, logger: logger, announce: { _ in }).pass(policy)
        await backends.shutdown()
        var explanation = Explanation(policy: policy, facts: result.facts)
        if let error = result.error { explanation.decision.reasons.insert(error, at: 0) }
        ExplainCommand.print(explanation, format: format, color: color)
        throw ExitCode(explanation.decision.exitCode)
    }
}

/// What the runner tells the daemon: metrics, and webhooks' events.
struct Observers: RunnerObserver {
    let metrics: RCMetrics
    let notifier: Notifier?

    func healthChecked(_ name: String, phase: HealthPhase, _ observation: HealthObservation, measures: Bool) {
        metrics.healthChecked(name, phase: phase, observation, measures: measures)
    }
    func lockAcquire(milliseconds: Int64, acquired: Bool) { metrics.lockAcquire(milliseconds: milliseconds, acquired: acquired) }
    func rebootCommand(succeeded: Bool) { metrics.rebootCommand(succeeded: succeeded) }
    func happened(_ event: NotifyEvent) { notifier?.send(event, at: SystemClock().now()) }
}
