import Foundation
import Testing

/// An imported clusterrebootd configuration decides as clusterrebootd's code did: `rc import`, then `rc explain
/// --facts` (or `rc status`, which runs the detectors and reads the kill switch) on the policy it wrote. Each test
/// names the upstream file and function it follows (ActiDoo/clusterrebootd).
@Suite struct ImportDecisionTests {
    let cli = CLITests()

    struct Decision {
        var status: Int32
        var outcome: String?
        var blockedBy: String?
        var name: String?
        var stdout: String
    }

    /// A temporary directory holding the YAML, the imported policy and the facts.
    struct Scene {
        let dir: URL
        var policy: String { dir.appendingPathComponent("policy.rcl").path }

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-import-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }

        func write(_ name: String, _ text: String) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func remove() { try? FileManager.default.removeItem(at: dir) }
    }

    /// Runs `rc` with extra environment variables (and none of the given names inherited).
    func rc(_ arguments: [String], environment: [String: String] = [:], removing: [String] = []) throws -> CLITests.Run {
        let process = Process()
        process.executableURL = CLITests.binary
        process.arguments = arguments
        process.currentDirectoryURL = CLITests.root
        var env = ProcessInfo.processInfo.environment
        for name in removing { env[name] = nil }
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLITests.Run(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Imports `yaml` into the scene's policy; `#require`s success.
    func importing(_ yaml: String, into scene: Scene, arguments: [String] = ["--timezone", "UTC"], environment: [String: String] = [:]) throws -> String {
        let config = try scene.write("config.yaml", yaml)
        let run = try rc(["import", config, "-o", scene.policy, "--color", "never"] + arguments, environment: environment, removing: environment.isEmpty ? [] : ["TZ"])
        try #require(run.status == 0, "rc import: \(run.stderr)")
        return try String(contentsOfFile: scene.policy, encoding: .utf8)
    }

    func decision(_ run: CLITests.Run) throws -> Decision {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)\n\(run.stderr)")
        return Decision(
            status: run.status, outcome: json["outcome"] as? String, blockedBy: json["blocked_by"] as? String, name: json["name"] as? String, stdout: run.stdout)
    }

    func explain(_ scene: Scene, _ facts: String) throws -> Decision {
        let path = try scene.write("facts.yaml", facts)
        return try decision(try rc(["explain", scene.policy, "--facts", path, "--format", "json"]))
    }

    func status(_ scene: Scene, node: String) throws -> Decision {
        let state = scene.dir.appendingPathComponent("state").path
        return try decision(try rc(["status", scene.policy, "--skip-lock", "--node-name", node, "--state-dir", state, "--format", "json"]))
    }

    static let etcdNode = """
        node_name: node-a
        reboot_required_detectors: [{name: flag, type: file, path: /run/flag}]
        etcd_endpoints: [127.0.0.1:2379]

        """

    // MARK: 1. pkg/detector/detector.go, commandDetector.EvaluateCommand: no success_exit_codes → reboot when exit != 0

    @Test(arguments: [("exit 1", "reboot"), ("exit 3", "reboot"), ("exit 0", "no_reboot_needed")])
    func aCommandDetectorWithoutCodesRebootsOnANonZeroExit(_ script: String, _ outcome: String) throws {
        let scene = try Scene()
        defer { scene.remove() }
        _ = try importing("node_name: node-a\nreboot_required_detectors: [{type: command, cmd: [/bin/sh, -c, \"\(script)\"], timeout_sec: 5}]\n", into: scene)
        let d = try status(scene, node: "node-a")
        #expect(d.outcome == outcome, "\(d.stdout)")
        #expect(d.status == 0)
    }

    // MARK: 2. pkg/orchestrator/runner.go, Runner.evaluateClusterPolicies: any other node unhealthy blocks

    @Test func anUnhealthyPeerBlocksAboveTheThresholds() throws {
        let scene = try Scene()
        defer { scene.remove() }
        _ = try importing(Self.etcdNode + "cluster_policies: {min_healthy_fraction: 0.5, min_healthy_absolute: 2}\n", into: scene)
        let base = "now: \"2026-11-24T12:00:00Z\"\nnode: {name: node-a}\ndetectors: {flag: fired}\n"
        // 4 of 5 healthy clears both thresholds; clusterrebootd still blocks on the fifth.
        let blocked = try explain(scene, base + "cluster: {size: 5, healthy: 4}\n")
        #expect(blocked.outcome == "blocked" && blocked.blockedBy == "rule" && blocked.name == "no unhealthy node", "\(blocked.stdout)")
        #expect(blocked.status == 8)
        let clear = try explain(scene, base + "cluster: {size: 5, healthy: 5}\n")
        #expect(clear.outcome == "reboot" && clear.status == 0, "\(clear.stdout)")
    }

    // MARK: 3. pkg/orchestrator/runner.go, Runner.evaluateClusterPolicies: block when every healthy node is a fallback node

    @Test(arguments: [
        // Every healthy node (this one and cp-b) is a fallback node: blocked.
        ("cluster: {size: 2, healthy: 2, fallback_healthy: 2}", "blocked"),
        // web-1 is healthy and not a fallback node: allowed, though only one fallback node is healthy.
        ("cluster: {size: 2, healthy: 2, fallback_healthy: 1}", "reboot"),
        ("cluster: {size: 3, healthy: 3, fallback_healthy: 2}", "reboot"),
    ])
    func onlyFallbackNodesLeft(_ cluster: String, _ outcome: String) throws {
        let scene = try Scene()
        defer { scene.remove() }
        let yaml = Self.etcdNode.replacingOccurrences(of: "node-a", with: "cp-a")
            + "cluster_policies: {forbid_if_only_fallback_left: true, fallback_nodes: [cp-a, cp-b]}\n"
        _ = try importing(yaml, into: scene)
        let d = try explain(scene, "now: \"2026-11-24T12:00:00Z\"\nnode: {name: cp-a}\ndetectors: {flag: fired}\n" + cluster + "\n")
        #expect(d.outcome == outcome, "\(d.stdout)")
        if outcome == "blocked" { #expect(d.name == "only fallback nodes left" && d.status == 8) }
    }

    // MARK: 4. Go's time.Local (zoneinfo_unix.go, initLocal) and pkg/windows/windows.go, Evaluate on time.Now()

    @Test func windowsAreReadInTheLocalZoneOfTheImportingHost() throws {
        let scene = try Scene()
        defer { scene.remove() }
        let yaml = "node_name: node-a\nreboot_required_detectors: [{name: flag, type: file, path: /run/flag}]\nwindows: {deny: [\"* 02:00-03:00\"]}\n"
        let policy = try importing(yaml, into: scene, arguments: [], environment: ["TZ": "Europe/Berlin"])
        #expect(policy.contains("timezone \"Europe/Berlin\""))
        #expect(policy.contains("the local zone of the host that ran rc import (TZ=Europe/Berlin)"))
        let base = "node: {name: node-a}\ndetectors: {flag: fired}\n"
        // 01:30 UTC is 02:30 in Berlin: inside the deny window there, outside it in UTC.
        let inside = try explain(scene, base + "now: \"2026-11-24T01:30:00Z\"\n")
        #expect(inside.blockedBy == "window" && inside.status == 7, "\(inside.stdout)")
        let outside = try explain(scene, base + "now: \"2026-11-24T02:30:00Z\"\n")
        #expect(outside.outcome == "reboot", "\(outside.stdout)")
    }

    @Test func timezoneOverridesTheHostZone() throws {
        let scene = try Scene()
        defer { scene.remove() }
        let yaml = "node_name: node-a\nreboot_required_detectors: [{name: flag, type: file, path: /run/flag}]\nwindows: {allow: [\"Mon-Fri 09:00-17:00\"]}\n"
        let policy = try importing(yaml, into: scene, arguments: ["--timezone", "America/New_York"], environment: ["TZ": "Europe/Berlin"])
        #expect(policy.contains("timezone \"America/New_York\"") && policy.contains("given with --timezone"))
        // 15:00 UTC on a Tuesday is 10:00 in New York: inside the allow window.
        let d = try explain(scene, "node: {name: node-a}\ndetectors: {flag: fired}\nnow: \"2026-11-24T15:00:00Z\"\n")
        #expect(d.outcome == "reboot", "\(d.stdout)")
        let late = try explain(scene, "node: {name: node-a}\ndetectors: {flag: fired}\nnow: \"2026-11-24T23:00:00Z\"\n")
        #expect(late.blockedBy == "window", "\(late.stdout)")
    }

    @Test func anUnknownTimezoneIsAUsageError() throws {
        let scene = try Scene()
        defer { scene.remove() }
        let config = try scene.write("config.yaml", "node_name: a\nreboot_required_detectors: [{type: file, path: /x}]\n")
        let run = try rc(["import", config, "--timezone", "Mars/Base"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("error: --timezone \"Mars/Base\": unknown time zone"), "\(run.stderr)")
    }

    // MARK: 5. pkg/config/config.go, Config.applyDefaults: the kill switch and the reboot command

    /// `rc status` in a mount namespace of its own whose `/etc` is an empty tmpfs, with or without
    /// `/etc/clusterrebootd/disable`, so the host's `/etc` is never touched.
    func statusWithPrivateEtc(_ scene: Scene, node: String, killSwitch: Bool) throws -> Decision {
        let state = scene.dir.appendingPathComponent("state").path
        let setup = "mount -t tmpfs none /etc && mkdir /etc/clusterrebootd" + (killSwitch ? " && touch /etc/clusterrebootd/disable" : "")
        let arguments = ["-m", "/bin/sh", "-c", setup + " && exec \"$0\" \"$@\"", CLITests.binary.path]
            + ["status", scene.policy, "--skip-lock", "--node-name", node, "--state-dir", state, "--format", "json"]
        return try decision(try cli.run("/usr/bin/unshare", arguments))
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")))
    func clusterrebootdsDefaultKillSwitchBlocks() throws {
        let scene = try Scene()
        defer { scene.remove() }
        let flag = scene.dir.appendingPathComponent("flag").path
        _ = try importing("node_name: node-a\nreboot_required_detectors: [{type: file, path: \(flag)}]\n", into: scene)
        FileManager.default.createFile(atPath: flag, contents: Data())
        let blocked = try statusWithPrivateEtc(scene, node: "node-a", killSwitch: true)
        #expect(blocked.blockedBy == "kill_switch" && blocked.status == 5, "\(blocked.stdout)")
        let open = try statusWithPrivateEtc(scene, node: "node-a", killSwitch: false)
        #expect(open.outcome == "reboot" && open.status == 0, "\(open.stdout)")
    }

    @Test func clusterrebootdsDefaultTimingsAndRebootCommandAreInThePolicy() throws {
        let scene = try Scene()
        defer { scene.remove() }
        let policy = try importing(Self.etcdNode + "check_interval_sec: 0\n", into: scene)
        for line in ["check_interval   60s", "backoff          5s .. 60s", "publish_interval 15s", #"reboot command ["/sbin/shutdown", "-r", "now", "coordinated kernel reboot"]"#] {
            #expect(policy.contains(line), "\(line)\n\(policy)")
        }
        let d = try explain(scene, "now: \"2026-11-24T12:00:00Z\"\nnode: {name: node-a}\ndetectors: {flag: fired}\nkill_switch: true\n")
        #expect(d.blockedBy == "kill_switch", "\(d.stdout)")
    }

    // MARK: 9. pkg/config/config.go, Config.BaseEnvironment, and pkg/orchestrator/runner.go, runHealthWithObservability

    @Test func theHealthScriptSeesClusterrebootdsVariables() throws {
        let scene = try Scene()
        defer { scene.remove() }
        let flag = scene.dir.appendingPathComponent("flag").path
        let seen = scene.dir.appendingPathComponent("seen").path
        let script = try scene.write("health.sh", "#!/bin/sh\nenv | grep '^RC_' | sort > \(seen)\nexit 0\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let yaml = """
            node_name: node-a
            reboot_required_detectors: [{type: file, path: \(flag)}]
            health_script: \(script)
            lock_key: /prod/lock
            cluster_policies: {min_healthy_fraction: 0.75, min_healthy_absolute: 2, forbid_if_only_fallback_left: true, fallback_nodes: [cp-a, cp-b]}
            windows: {deny: ["Sat 00:00-Sun 00:00"], allow: ["* 00:00-00:00"]}

            """
        _ = try importing(yaml, into: scene)
        FileManager.default.createFile(atPath: flag, contents: Data())
        let d = try status(scene, node: "node-a")
        #expect(d.status == 0 || d.blockedBy == "window", "\(d.stdout)")
        let lines = try String(contentsOfFile: seen, encoding: .utf8).split(separator: "\n").map(String.init)
        for line in [
            // rc status is a dry-run pass: RC_DRY_RUN=true.
            "RC_NODE_NAME=node-a", "RC_DRY_RUN=true", "RC_PHASE=pre-lock", "RC_LOCK_ENABLED=false", "RC_LOCK_HELD=false", "RC_LOCK_ATTEMPTS=0",
            "RC_LOCK_KEY=/prod/lock", "RC_KILL_SWITCH_FILE=/etc/clusterrebootd/disable", "RC_CLUSTER_MIN_HEALTHY_FRACTION=0.75",
            "RC_CLUSTER_MIN_HEALTHY_ABSOLUTE=2", "RC_CLUSTER_FORBID_IF_ONLY_FALLBACK_LEFT=true", "RC_CLUSTER_FALLBACK_NODES=cp-a,cp-b",
            "RC_WINDOWS_DENY=Sat 00:00-Sun 00:00", "RC_WINDOWS_ALLOW=* 00:00-00:00",
        ] {
            #expect(lines.contains(line), "\(line) not in \(lines)")
        }
    }

    // MARK: 8. pkg/windows/windows.go, parseExpression: a whole-week window imports and always applies

    @Test func aWholeWeekWindowImportsAndAlwaysApplies() throws {
        let scene = try Scene()
        defer { scene.remove() }
        let yaml = "node_name: node-a\nreboot_required_detectors: [{name: flag, type: file, path: /run/flag}]\nwindows: {deny: [\"Mon 10:00-Mon 10:00\"]}\n"
        _ = try importing(yaml, into: scene)
        for now in ["2026-11-23T10:00:00Z", "2026-11-29T23:59:00Z", "2026-11-25T03:00:00Z"] {
            let d = try explain(scene, "node: {name: node-a}\ndetectors: {flag: fired}\nnow: \"\(now)\"\n")
            #expect(d.blockedBy == "window", "\(now): \(d.stdout)")
        }
    }

    @Test func aWindowEndingAt24IsRefusedWithExit2() throws {
        let scene = try Scene()
        defer { scene.remove() }
        let config = try scene.write("config.yaml", "node_name: a\nreboot_required_detectors: [{type: file, path: /x}]\nwindows: {deny: [\"Mon 22:00-24:00\"]}\n")
        let run = try rc(["import", config, "--color", "never"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("config.yaml:3:18: error[RC4003]: invalid window \"Mon 22:00-24:00\": hour out of range in \"24:00\""), "\(run.stderr)")
    }
}
