import Foundation
import RCTestSupport

/// Several `rc run` daemons on loopback against a real etcd, each with its own state dir, node name and a fake
/// reboot: a script that logs start and end with timestamps, clears the node's flag, writes a new boot id and
/// stops its daemon, which the harness restarts (a simulated reboot).
final class FleetHarness: @unchecked Sendable {
    let etcd: EtcdHarness
    let dir: String
    let names: [String]
    var processes: [String: Process] = [:]
    var restarts: [String: Int] = [:]
    var crashed: [String] = []

    /// The node name each daemon runs as, when it is not its directory's name (two hosts of one name).
    var nodeNames: [String: String] = [:]

    init(
        _ names: [String], slots: Int = 1, cluster: String = "check_interval 1s  backoff 500ms .. 2s  publish_interval 1s", maxReboot: String = "20s",
        extra: (String) -> String = { _ in "" }, health: (String) -> String? = { _ in nil }
    ) throws {
        etcd = try EtcdHarness()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-fleet-\(UUID().uuidString)").path
        self.names = names
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let reboot = """
            #!/bin/sh
            n=$1
            echo "start $n $(date +%s%3N)" >> \(dir)/events
            sleep 0.4
            rm -f \(dir)/$n/flag
            echo "boot-$(date +%s%N)" > \(dir)/$n/boot_id
            echo "end $n $(date +%s%3N)" >> \(dir)/events
            kill -TERM $PPID
            """
        try write(dir + "/reboot.sh", reboot, mode: 0o755)
        for name in names {
            let d = dir + "/" + name
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            try write(d + "/boot_id", "boot-0-\(name)\n")
            FileManager.default.createFile(atPath: d + "/flag", contents: Data())
            var healthDecl = ""
            if let script = health(name) {
                try write(d + "/health.sh", "#!/bin/sh\n" + script + "\n", mode: 0o755)
                healthDecl = "health \"gate\" script \"\(d)/health.sh\" { timeout 2s  run pre_lock, post_lock }"
            }
            try write(
                d + "/policy.rcl",
                """
                policy "fleet" {}
                detector "flag" file "\(d)/flag"
                \(healthDecl)
                lock etcd {
                  endpoints ["\(etcd.endpoint)"]
                  key "/fleet"
                  slots \(slots)
                  ttl 3s
                  max_reboot_duration \(maxReboot)
                }
                reboot command ["\(dir)/reboot.sh", "\(name)"]
                cluster { \(cluster) }
                \(extra(name))
                """)
        }
    }

    func write(_ path: String, _ text: String, mode: Int = 0o644) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    func start(_ name: String) throws {
        let d = dir + "/" + name
        let log = d + "/rc.log"
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = ["run", d + "/policy.rcl", "--state-dir", d + "/state", "--node-name", nodeNames[name] ?? name, "--boot-id-file", d + "/boot_id", "--log-format", "text"]
        p.standardError = handle
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        processes[name] = p
    }

    func startAll() throws { for name in names { try start(name) } }

    /// Restarts daemons that stopped after their reboot, until `done` or the deadline.
    func supervise(seconds: Double, until done: () -> Bool = { false }) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, !done() {
            for (name, p) in processes where !p.isRunning {
                if p.terminationStatus != 0 || p.terminationReason != .exit { crashed.append(name) }
                restarts[name, default: 0] += 1
                try start(name)
            }
            usleep(50_000)
        }
    }

    func kill9(_ name: String) {
        guard let p = processes[name] else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        processes[name] = nil
    }

    struct Reboot {
        var node: String
        var start: Int64
        var end: Int64?
    }

    var reboots: [Reboot] {
        var result: [Reboot] = []
        let text = (try? String(contentsOfFile: dir + "/events", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let t = Int64(parts[2]) else { continue }
            if parts[0] == "start" {
                result.append(Reboot(node: String(parts[1]), start: t))
            } else if let i = result.lastIndex(where: { $0.node == parts[1] && $0.end == nil }) {
                result[i].end = t
            }
        }
        return result
    }

    /// The most reboots in progress at one time.
    var maxOverlap: Int {
        var events: [(Int64, Int)] = []
        for r in reboots {
            events.append((r.start, 1))
            events.append((r.end ?? Int64.max, -1))
        }
        events.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        var current = 0
        var highest = 0
        for (_, delta) in events {
            current += delta
            highest = max(highest, current)
        }
        return highest
    }

    func rebooted(_ name: String) -> Bool { reboots.contains { $0.node == name && $0.end != nil } }

    func log(_ name: String) -> String { (try? String(contentsOfFile: dir + "/" + name + "/rc.log", encoding: .utf8)) ?? "" }

    func stopAll() {
        for p in processes.values where p.isRunning { p.terminate() }
        for p in processes.values { p.waitUntilExit() }
    }

    deinit {
        stopAll()
        try? FileManager.default.removeItem(atPath: dir)
    }
}
