import Foundation
import RCTestSupport

/// The driver of a chaos run: six real `rc run` daemons on a real etcd (one member, or a cluster of three), with
/// simulated reboots, and the faults of a seeded schedule injected while they work. It only records what happened
/// (`ChaosHistory`); `ChaosChecker` judges.
///
/// A simulated reboot: the reboot command is a script that logs `start <node> <ms>`, runs for 1.5 s, clears the
/// node's flag, writes a new boot id and logs `end <node> <ms>`. At `end` the driver takes the node down (SIGTERM to
/// its daemon, as a shutdown does; SIGKILL when the daemon is stopped) and boots it 0.5–4 s later: it starts the
/// daemon again, which finds the new boot id and runs its post-boot gate.
final class ChaosFleet: @unchecked Sendable {
    let config: ChaosConfig
    let schedule: ChaosSchedule
    let dir: String
    private let single: EtcdHarness?
    private let cluster: EtcdCluster?
    private var nodes: [String: Node] = [:]
    private var events: [ChaosEvent] = []
    private let start: Int64
    private var eventsOffset: UInt64 = 0
    private var eventsPartial = ""
    private var bootRandom: ChaosRandom
    private var reflagRandom: ChaosRandom
    private var etcdRestartAt: [Int: Int64] = [:]
    /// A silent-across-etcd fault under way: when etcd goes down and for how long, the stopped daemons, and how long
    /// after etcd is back they are continued.
    private var etcdStopAt: (at: Int64, downMs: Int64, label: String)?
    private var silent: (nodes: [String], afterMs: Int64)?
    private var inFaultPhase = true
    /// What was injected, by kind, for the report.
    private(set) var injected: [String: Int] = [:]
    private(set) var killedInPhase: [String: Int] = [:]
    private let say: (String) -> Void

    final class Node {
        let name: String
        let dir: String
        var process: Process?
        var stopped = false
        /// Reboot scripts of this node that have logged `start` but not `end`.
        var scripts = 0
        /// Down after a reboot's `end`, until the driver boots it.
        var awaitingBoot = false
        /// SIGTERM sent for the reboot at this time; the boot follows `bootDelay` after the daemon exited.
        var terminating: Int64?
        var bootDelay: Int64 = 0
        var bootedAt: Int64?
        var restartAt: Int64?
        var bootAt: Int64?
        var continueAt: Int64?
        var passAt: Int64?
        var reflagAt: Int64?
        var failing = false
        var needs = true
        var upSince: Int64 = 0
        var logOffset: UInt64 = 0
        var logPhase: ChaosPhase = .idle

        init(name: String, dir: String) {
            self.name = name
            self.dir = dir
        }

        var running: Bool { process?.isRunning ?? false }
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The `rc` the daemons run: the build's, or `RC_CHAOS_BINARY` (another build, such as an older commit's).
    static let binary: URL = ProcessInfo.processInfo.environment["RC_CHAOS_BINARY"].map { URL(fileURLWithPath: $0) } ?? CLITests.binary

    init(_ config: ChaosConfig, say: @escaping (String) -> Void = { print($0) }) throws {
        self.config = config
        self.say = say
        schedule = ChaosSchedule(config: config)
        bootRandom = ChaosRandom(seed: config.seed ^ 0xB007_B007_B007_B007)
        reflagRandom = ChaosRandom(seed: config.seed ^ 0xF1A6_F1A6_F1A6_F1A6)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-chaos-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let endpoints: [String]
        if config.etcdMembers == 1 {
            let etcd = try EtcdHarness()
            single = etcd
            cluster = nil
            endpoints = [etcd.endpoint]
        } else {
            let c = try EtcdCluster(size: config.etcdMembers)
            single = nil
            cluster = c
            endpoints = c.endpoints
        }
        start = Self.now()
        let reboot = """
            #!/bin/sh
            n=$1
            echo "start $n $(date +%s%3N)" >> \(dir)/events
            sleep \(Double(ChaosConfig.rebootCommandMs) / 1000)
            rm -f \(dir)/$n/flag
            echo "boot-$(date +%s%N)" > \(dir)/$n/boot_id
            echo "end $n $(date +%s%3N)" >> \(dir)/events
            """
        try write(dir + "/reboot.sh", reboot, mode: 0o755)
        _ = FileManager.default.createFile(atPath: dir + "/events", contents: nil)
        let list = endpoints.map { "\"\($0)\"" }.joined(separator: ", ")
        for name in config.nodes {
            let d = dir + "/" + name
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            try write(d + "/boot_id", "boot-0\n")
            // The health script fails while the driver has made the node unhealthy; under the lock it takes 0.5 s,
            // a window in which the schedule can kill the daemon "in the health check".
            let health = """
                #!/bin/sh
                if [ -e \(d)/unhealthy ]; then echo "unhealthy (chaos)"; exit 1; fi
                if [ "$RC_PHASE" = post-lock ]; then touch \(d)/in-health; sleep 0.5; rm -f \(d)/in-health; fi
                exit 0
                """
            try write(d + "/health.sh", health, mode: 0o755)
            try write(
                d + "/policy.rcl",
                """
                policy "chaos" {}
                detector "flag" file "\(d)/flag"
                health "gate" script "\(d)/health.sh" { timeout 2s  run pre_lock, post_lock, post_boot }
                lock etcd {
                  endpoints [\(list)]
                  key "/chaos"
                  slots \(config.slots)
                  ttl \(ChaosConfig.ttlMs / 1000)s
                  max_reboot_duration \(ChaosConfig.maxRebootDurationMs / 1000)s
                }
                reboot command ["\(dir)/reboot.sh", "${node.name}"]
                cluster { check_interval \(ChaosConfig.checkIntervalMs / 1000)s  backoff 500ms .. 2s  publish_interval \(ChaosConfig.publishIntervalMs / 1000)s }
                rule "keep quorum" { deny when \(config.rule) }

                """)
            nodes[name] = Node(name: name, dir: d)
        }
        // A policy that does not check would only show as every daemon exiting at once.
        let check = try Self.rc(["check", dir + "/" + config.nodes[0] + "/policy.rcl"])
        guard check.status == 0 else { throw EtcdHarness.HarnessError(description: "the chaos policy does not check:\n\(check.stdout)\(check.stderr)") }
    }

    deinit {
        for node in nodes.values where node.running {
            if node.stopped, let p = node.process { kill(p.processIdentifier, SIGCONT) }
            if let p = node.process { kill(p.processIdentifier, SIGKILL) }
            node.process?.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func write(_ path: String, _ text: String, mode: Int = 0o644) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    private func record(_ node: String?, _ kind: ChaosEvent.Kind, note: String = "", at time: Int64 = ChaosFleet.now()) {
        events.append(ChaosEvent(time, node, kind, note: note))
    }

    var history: ChaosHistory {
        ChaosHistory(
            setup: ChaosSetup(
                seed: config.seed, nodes: config.nodes, slots: config.slots, threshold: config.threshold, toleranceMs: ChaosConfig.toleranceMs,
                settleBoundMs: config.settleBoundMs, etcdMembers: config.etcdMembers, start: start),
            events: events)
    }

    var order: [String] { config.nodes }

    /// Runs the whole thing: the fault phase, then settling without faults, then stops the fleet.
    func run() throws -> ChaosHistory {
        for name in order {
            _ = FileManager.default.createFile(atPath: nodes[name]!.dir + "/flag", contents: Data())
            record(name, .needsReboot)
        }
        for name in order { try startDaemon(nodes[name]!) }
        let faultEnd = start + Int64(config.faultSeconds) * 1000
        var next = 0
        var nextAt = start + (schedule.faults.first?.gapMs ?? 0)
        var pendingSince: Int64?
        while Self.now() < faultEnd {
            try tick()
            if next < schedule.faults.count, Self.now() >= nextAt {
                let since = pendingSince ?? Self.now()
                pendingSince = since
                if try inject(schedule.faults[next], index: next, since: since) {
                    pendingSince = nil
                    next += 1
                    if next < schedule.faults.count { nextAt = Self.now() + schedule.faults[next].gapMs }
                }
            }
            usleep(50_000)
        }
        try restoreAll()
        record(nil, .faultsEnd)
        say("chaos: faults over at +\(config.faultSeconds) s (\(next) injected); settling for at most \(config.settleBoundMs / 1000) s")
        let settleEnd = Self.now() + config.settleBoundMs + 2000
        var quietSince: Int64?
        while Self.now() < settleEnd {
            try tick()
            let calm = nodes.values.allSatisfy { !$0.needs && $0.scripts == 0 && !$0.awaitingBoot && $0.running }
            if calm {
                quietSince = quietSince ?? Self.now()
                if Self.now() - quietSince! >= 2000 {
                    recordHolders()
                    break
                }
            } else {
                quietSince = nil
            }
            usleep(50_000)
        }
        stopAll()
        return history
    }

    /// Runs the chaos binary with `arguments` (`rc check`, `rc lock status`): its exit status and output. A command
    /// that has not finished in 20 s is killed (its status is then the signal's), so the driver never hangs on one.
    static func rc(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let pid = p.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: watchdog)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        watchdog.cancel()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    // MARK: the daemons

    private func startDaemon(_ node: Node) throws {
        let log = node.dir + "/rc.log"
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["run", node.dir + "/policy.rcl", "--state-dir", node.dir + "/state", "--node-name", node.name, "--boot-id-file", node.dir + "/boot_id", "--log-format", "text"]
        p.standardError = handle
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        record(node.name, .daemonUp)
        try p.run()
        try? handle.close()
        node.process = p
        node.stopped = false
        node.upSince = Self.now()
        node.logPhase = .idle
        node.restartAt = nil
    }

    /// The last lines of a node's log, for a crash report.
    func logTail(_ name: String, lines: Int = 4) -> String {
        let text = (try? String(contentsOfFile: dir + "/" + name + "/rc.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: " | ")
    }

    /// Waits up to `seconds` for `p` to exit; whether it did.
    private func wait(_ p: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning, Date() < deadline { usleep(10_000) }
        return !p.isRunning
    }

    /// Stops a daemon as a shutdown does (SIGTERM; SIGKILL when it is stopped or does not exit in 5 s); a daemon
    /// that does not exit cleanly is reported as a crash.
    private func shutDown(_ node: Node, cause: ChaosEvent.DownCause) {
        guard let p = node.process else { return }
        if p.isRunning {
            if node.stopped {
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
            } else {
                kill(p.processIdentifier, SIGTERM)
                if !wait(p, seconds: 5) {
                    kill(p.processIdentifier, SIGKILL)
                    p.waitUntilExit()
                    record(node.name, .daemonDown(.crashed("did not exit within 5 s of SIGTERM (\(cause)); log: \(logTail(node.name))")))
                } else if p.terminationReason != .exit || p.terminationStatus != 0 {
                    let how = p.terminationReason == .exit ? "exit status \(p.terminationStatus)" : "signal \(p.terminationStatus)"
                    record(node.name, .daemonDown(.crashed("\(how) on SIGTERM (\(cause)); log: \(logTail(node.name))")))
                }
            }
        }
        record(node.name, .daemonDown(cause))
        node.process = nil
        node.stopped = false
        node.continueAt = nil
    }

    // MARK: one step of the driver

    private func tick() throws {
        readRebootEvents()
        let now = Self.now()
        for name in order {
            let node = nodes[name]!
            if node.terminating != nil { finishTerminating(node, now: now) }
            // A daemon that exited without the driver stopping it.
            if node.terminating == nil, let p = node.process, !p.isRunning {
                let how = p.terminationReason == .exit ? "exit status \(p.terminationStatus)" : "signal \(p.terminationStatus)"
                record(name, .daemonDown(.crashed("\(how); log: \(logTail(name))")))
                node.process = nil
                node.stopped = false
                node.continueAt = nil
                if !node.awaitingBoot { node.restartAt = now + 1000 }
            }
            if let t = node.continueAt, now >= t, let p = node.process {
                record(name, .continued)
                kill(p.processIdentifier, SIGCONT)
                node.stopped = false
                node.continueAt = nil
            }
            if let t = node.passAt, now >= t { makeHealthy(node) }
            if let t = node.restartAt, now >= t, node.process == nil, !node.awaitingBoot { try startDaemon(node) }
            if let t = node.bootAt, now >= t, node.process == nil {
                node.awaitingBoot = false
                node.bootAt = nil
                try startDaemon(node)
                node.bootedAt = Self.now()
                // While faults go on, a node that came back may need another reboot a little later.
                let again = reflagRandom.chance(0.5)
                let after = reflagRandom.ms(2000...10000)
                if inFaultPhase, again { node.reflagAt = Self.now() + after }
            }
            if let t = node.reflagAt, now >= t {
                if inFaultPhase, node.running, node.scripts == 0, !node.awaitingBoot, !node.needs {
                    _ = FileManager.default.createFile(atPath: node.dir + "/flag", contents: Data())
                    record(name, .needsReboot)
                    node.needs = true
                    node.reflagAt = nil
                } else if inFaultPhase {
                    node.reflagAt = now + 1000
                } else {
                    node.reflagAt = nil
                }
            }
        }
        if let stop = etcdStopAt, now >= stop.at {
            etcdStopAt = nil
            stopEtcd(leader: true, downMs: stop.downMs, pick: 0, label: stop.label)
        }
        for (member, t) in etcdRestartAt where now >= t { try restartEtcd(member) }
    }

    /// Stops etcd: the single member, or a cluster member (the leader when asked and found). Returns what it did.
    @discardableResult
    private func stopEtcd(leader: Bool, downMs: Int64, pick: UInt64, label: String) -> String? {
        if let single {
            single.stop()
            record(nil, .etcdDown(member: 0, leader: true), note: label)
            etcdRestartAt[0] = Self.now() + downMs
            return "etcd stopped"
        }
        guard let cluster else { return nil }
        var member: Int?
        var wasLeader = false
        if leader, let l = cluster.leader() {
            member = l
            wasLeader = true
        } else {
            let up = cluster.running
            member = up.isEmpty ? nil : up[Int(pick % UInt64(up.count))]
            wasLeader = member != nil && member == cluster.leader()
        }
        guard let m = member else { return nil }
        cluster.kill9(m)
        record(nil, .etcdDown(member: m, leader: wasLeader), note: label)
        etcdRestartAt[m] = Self.now() + downMs
        return "kill -9 etcd member m\(m)\(wasLeader ? " (the leader)" : "")"
    }

    /// New lines of the reboot script's log; at `end` the node goes down and is booted a little later.
    private func readRebootEvents() {
        guard let handle = FileHandle(forReadingAtPath: dir + "/events") else { return }
        defer { try? handle.close() }
        handle.seek(toFileOffset: eventsOffset)
        let data = handle.readDataToEndOfFile()
        eventsOffset += UInt64(data.count)
        eventsPartial += String(decoding: data, as: UTF8.self)
        while let newline = eventsPartial.firstIndex(of: "\n") {
            let line = String(eventsPartial[..<newline])
            eventsPartial = String(eventsPartial[eventsPartial.index(after: newline)...])
            let parts = line.split(separator: " ")
            guard parts.count == 3, let t = Int64(parts[2]), let node = nodes[String(parts[1])] else { continue }
            if parts[0] == "start" {
                node.scripts += 1
                record(node.name, .rebootStart, at: t)
            } else if parts[0] == "end" {
                node.scripts = max(0, node.scripts - 1)
                record(node.name, .rebootEnd, at: t)
                node.needs = false
                powerCycle(node)
            }
        }
    }

    /// The node goes down for its reboot: SIGTERM, and the boot once the daemon has exited (the driver goes on
    /// meanwhile); a stopped daemon is killed at once.
    private func powerCycle(_ node: Node) {
        let delay = bootRandom.ms(500...4000)
        if node.awaitingBoot { return }
        node.awaitingBoot = true
        node.restartAt = nil
        if let p = node.process, p.isRunning, !node.stopped {
            kill(p.processIdentifier, SIGTERM)
            node.terminating = Self.now()
            node.bootDelay = delay
            return
        }
        shutDown(node, cause: .reboot)
        node.bootAt = Self.now() + delay
    }

    /// A daemon told to stop for its reboot: once it has exited (or 5 s later, killed), the node boots after its delay.
    private func finishTerminating(_ node: Node, now: Int64) {
        guard let since = node.terminating, let p = node.process else { return }
        if p.isRunning {
            guard now - since > 5000 else { return }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            record(node.name, .daemonDown(.crashed("did not exit within 5 s of SIGTERM (reboot); log: \(logTail(node.name))")))
        } else if p.terminationReason != .exit || p.terminationStatus != 0 {
            let how = p.terminationReason == .exit ? "exit status \(p.terminationStatus)" : "signal \(p.terminationStatus)"
            record(node.name, .daemonDown(.crashed("\(how) on SIGTERM (reboot); log: \(logTail(node.name))")))
        }
        record(node.name, .daemonDown(.reboot))
        node.process = nil
        node.stopped = false
        node.continueAt = nil
        node.terminating = nil
        node.bootAt = Self.now() + node.bootDelay
    }

    // MARK: phases

    /// Where a running node is now.
    func phase(_ node: Node) -> ChaosPhase? {
        guard node.running, !node.stopped, node.terminating == nil else { return nil }
        if node.scripts > 0 { return .rebootCommand }
        if FileManager.default.fileExists(atPath: node.dir + "/in-health") { return .health }
        if let b = node.bootedAt, Self.now() - b < 2000 { return .afterBoot }
        refreshLog(node)
        return node.logPhase
    }

    /// Reads the daemon's new log lines: after "took a lock slot" it holds one; a decision blocked by the lock
    /// means it waits in line; any other decision ends either.
    private func refreshLog(_ node: Node) {
        guard let handle = FileHandle(forReadingAtPath: node.dir + "/rc.log") else { return }
        defer { try? handle.close() }
        handle.seek(toFileOffset: node.logOffset)
        let data = handle.readDataToEndOfFile()
        guard let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) else { return }
        let complete = data[data.startIndex...lastNewline]
        node.logOffset += UInt64(complete.count)
        for line in String(decoding: complete, as: UTF8.self).split(separator: "\n") {
            if line.contains("took a lock slot") {
                node.logPhase = .holding
            } else if line.contains("decision: ") {
                node.logPhase = line.contains("decision: blocked by lock") ? .waiting : .idle
            } else if line.contains(" running policy ") {
                node.logPhase = .idle
            }
        }
    }

    // MARK: faults

    /// Injects `fault` if it can now; false to be asked again on the next tick (waiting for a node in the phase
    /// the fault wants, up to 6 s, after which any node will do).
    private func inject(_ fault: ChaosFault, index: Int, since: Int64) throws -> Bool {
        let now = Self.now()
        let patient = now - since < 6000
        let alive = order.compactMap { nodes[$0] }.filter { $0.running && !$0.stopped && $0.terminating == nil }
        func choose(_ candidates: [Node]) -> Node? { candidates.isEmpty ? nil : candidates[Int(fault.pick % UInt64(candidates.count))] }
        let label = "fault #\(index + 1)"
        switch fault.kind {
        case .kill(let wanted, let down):
            var target = wanted == .any ? choose(alive) : choose(alive.filter { phase($0) == wanted })
            if target == nil {
                if patient { return false }
                target = choose(alive)
            }
            guard let node = target, let p = node.process else { return skip(fault, label, "no daemon runs") }
            let seen = phase(node) ?? .idle
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            record(node.name, .daemonDown(.killed(phase: seen.rawValue)), note: "\(label): \(fault)")
            node.process = nil
            node.stopped = false
            node.continueAt = nil
            if !node.awaitingBoot { node.restartAt = Self.now() + down }
            killedInPhase[seen.rawValue, default: 0] += 1
            say("chaos: \(label) at +\(secs(now)) s: kill -9 \(node.name) \(seen.rawValue) (wanted \(wanted.rawValue)); back in \(down) ms")
        case .killTwo(let down):
            var candidates = alive.filter { $0.scripts == 0 }
            guard candidates.count >= 2 else { return patient ? false : skip(fault, label, "fewer than two daemons run") }
            let first = candidates.remove(at: Int(fault.pick % UInt64(candidates.count)))
            let second = candidates[Int(fault.pick2 % UInt64(candidates.count))]
            var seen: [String] = []
            for node in [first, second] {
                guard let p = node.process else { continue }
                let phase = phase(node) ?? .idle
                seen.append("\(node.name) \(phase.rawValue)")
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                record(node.name, .daemonDown(.killed(phase: phase.rawValue)), note: "\(label): \(fault)")
                node.process = nil
                node.stopped = false
                node.continueAt = nil
                node.restartAt = Self.now() + down
                killedInPhase[phase.rawValue, default: 0] += 1
            }
            say("chaos: \(label) at +\(secs(now)) s: kill -9 \(seen.joined(separator: " and ")); back in \(down) ms")
        case .stop(let preferHolding, let ms):
            var target = preferHolding ? choose(alive.filter { phase($0) == .holding }) : choose(alive)
            if target == nil {
                if preferHolding, patient { return false }
                target = choose(alive)
            }
            guard let node = target, let p = node.process else { return skip(fault, label, "no daemon runs") }
            let seen = phase(node) ?? .idle
            kill(p.processIdentifier, SIGSTOP)
            record(node.name, .stopped, note: "\(label): \(fault), \(seen.rawValue)")
            node.stopped = true
            node.continueAt = Self.now() + ms
            say("chaos: \(label) at +\(secs(now)) s: SIGSTOP \(node.name) \(seen.rawValue) for \(ms) ms")
        case .unhealthy(let ms):
            var candidates = order.compactMap { nodes[$0] }.filter { !$0.failing }
            guard candidates.count >= 2 else { return skip(fault, label, "fewer than two healthy scripts") }
            let first = candidates.remove(at: Int(fault.pick % UInt64(candidates.count)))
            let second = candidates[Int(fault.pick2 % UInt64(candidates.count))]
            for node in [first, second] {
                _ = FileManager.default.createFile(atPath: node.dir + "/unhealthy", contents: Data())
                record(node.name, .healthFailing, note: "\(label): \(fault)")
                node.failing = true
                node.passAt = Self.now() + ms
            }
            say("chaos: \(label) at +\(secs(now)) s: health of \(first.name) and \(second.name) fails for \(ms) ms")
        case .etcd(let leader, _, let down):
            // One member down at a time: a cluster keeps its quorum.
            guard etcdRestartAt.isEmpty, etcdStopAt == nil else { return patient ? false : skip(fault, label, "etcd is down already") }
            guard let what = stopEtcd(leader: leader, downMs: down, pick: fault.pick, label: "\(label): \(fault)") else {
                return skip(fault, label, "no member runs")
            }
            say("chaos: \(label) at +\(secs(now)) s: \(what) for \(down) ms")
            if cluster != nil {
                injected[what.contains("leader") ? "etcd leader killed" : "etcd member killed", default: 0] += 1
                return true
            }
        case .silentAcrossEtcd(let lead, let down, let after):
            guard etcdRestartAt.isEmpty, etcdStopAt == nil, silent == nil else { return patient ? false : skip(fault, label, "etcd is down already") }
            var candidates = alive.filter { $0.scripts == 0 }
            guard candidates.count >= 2 else { return patient ? false : skip(fault, label, "fewer than two daemons run") }
            let first = candidates.remove(at: Int(fault.pick % UInt64(candidates.count)))
            let second = candidates[Int(fault.pick2 % UInt64(candidates.count))]
            for node in [first, second] {
                guard let p = node.process else { continue }
                let seen = phase(node) ?? .idle
                kill(p.processIdentifier, SIGSTOP)
                record(node.name, .stopped, note: "\(label): \(fault), \(seen.rawValue)")
                node.stopped = true
                node.continueAt = nil
            }
            silent = ([first.name, second.name], after)
            etcdStopAt = (Self.now() + lead, down, "\(label): \(fault)")
            say("chaos: \(label) at +\(secs(now)) s: SIGSTOP \(first.name) and \(second.name); etcd down in \(lead) ms for \(down) ms")
        }
        injected[fault.name, default: 0] += 1
        return true
    }

    private func skip(_ fault: ChaosFault, _ label: String, _ why: String) -> Bool {
        say("chaos: \(label) skipped (\(why)): \(fault)")
        return true
    }

    private func secs(_ t: Int64) -> String { String(format: "%.1f", Double(t - start) / 1000) }

    private func makeHealthy(_ node: Node) {
        record(node.name, .healthPassing)
        try? FileManager.default.removeItem(atPath: node.dir + "/unhealthy")
        node.failing = false
        node.passAt = nil
    }

    private func restartEtcd(_ member: Int) throws {
        etcdRestartAt[member] = nil
        record(nil, .etcdUp(member: member))
        if let single { try single.start() }
        if let cluster { try cluster.restart(member) }
        if let pending = silent {
            silent = nil
            for name in pending.nodes where nodes[name]!.stopped { nodes[name]!.continueAt = Self.now() + pending.afterMs }
            // A node that needs a reboot just as etcd is back, while the silent ones may still look alive.
            if inFaultPhase, let node = order.compactMap({ nodes[$0] }).first(where: {
                !pending.nodes.contains($0.name) && $0.running && !$0.stopped && !$0.needs && $0.scripts == 0 && !$0.awaitingBoot
            }) {
                _ = FileManager.default.createFile(atPath: node.dir + "/flag", contents: Data())
                record(node.name, .needsReboot, note: "needs a reboot as etcd is back")
                node.needs = true
                node.reflagAt = nil
            }
        }
    }

    /// The end of the faults: everything stopped, failing or down comes back now.
    private func restoreAll() throws {
        inFaultPhase = false
        // A silent-across-etcd fault not yet at its etcd step ends here: its daemons are continued below.
        etcdStopAt = nil
        silent = nil
        for member in etcdRestartAt.keys.sorted() { try restartEtcd(member) }
        for name in order {
            let node = nodes[name]!
            node.reflagAt = nil
            if node.stopped, let p = node.process {
                record(name, .continued)
                kill(p.processIdentifier, SIGCONT)
                node.stopped = false
                node.continueAt = nil
            }
            if node.failing { makeHealthy(node) }
            if node.process == nil, !node.awaitingBoot { try startDaemon(node) }
        }
    }

    /// The holders `rc lock status` lists once the fleet has settled (asked again for a few seconds while some are
    /// listed: a post-boot release may be on its way).
    private func recordHolders() {
        let policy = nodes[order[0]]!.dir + "/policy.rcl"
        var holders: [String] = []
        for attempt in 0..<6 {
            if attempt > 0 { usleep(1_000_000) }
            guard
                let run = try? Self.rc(["lock", "status", policy, "--format", "json", "--state-dir", dir + "/status-state"]),
                let json = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any]
            else { continue }
            holders = ((json["holders"] as? [[String: Any]]) ?? []).compactMap { $0["node"] as? String }
            if holders.isEmpty { break }
        }
        record(nil, .settledHolders(holders.sorted()))
    }

    /// Stops every daemon (SIGTERM, as at a shutdown) and waits for reboot scripts still running.
    private func stopAll() {
        for name in order {
            let node = nodes[name]!
            if node.stopped, let p = node.process {
                kill(p.processIdentifier, SIGCONT)
                node.stopped = false
            }
            if node.terminating != nil {
                while node.process?.isRunning == true, Self.now() - node.terminating! <= 5000 { usleep(10_000) }
                finishTerminating(node, now: Self.now() + 5001)
            }
            if node.process != nil { shutDown(node, cause: .endOfRun) }
        }
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline, nodes.values.contains(where: { $0.scripts > 0 }) {
            readRebootEvents()
            usleep(50_000)
        }
    }

    /// Keeps what a failed run leaves for a post-mortem: the history, the reboot events and every daemon's log.
    func keep(in folder: String, violations: [ChaosViolation]) {
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try? history.text.write(toFile: folder + "/history.txt", atomically: true, encoding: .utf8)
        try? (violations.map(\.message).joined(separator: "\n") + "\n").write(toFile: folder + "/violations.txt", atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: folder + "/events")
        try? FileManager.default.copyItem(atPath: dir + "/events", toPath: folder + "/events")
        for name in order {
            try? FileManager.default.removeItem(atPath: folder + "/\(name).log")
            try? FileManager.default.copyItem(atPath: dir + "/\(name)/rc.log", toPath: folder + "/\(name).log")
        }
        try? FileManager.default.removeItem(atPath: folder + "/policy.rcl")
        try? FileManager.default.copyItem(atPath: dir + "/\(order[0])/policy.rcl", toPath: folder + "/policy.rcl")
    }
}
