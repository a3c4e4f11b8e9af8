import Executors
import Foundation
import RCTestSupport
import Testing

/// Operating `rc run` (docs/operations.md): its metrics over real HTTP, scraped by a real Prometheus, and its
/// health endpoints.
@Suite(.serialized) struct OperationsTests {
    /// A node's files: a reboot flag, a detector script, a health script, a kill switch path and a policy.
    struct Node {
        let dir: String
        let port: Int
        var policy: String { dir + "/policy.rcl" }
        var log: String { dir + "/rc.log" }

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-ops-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir + "/state", withIntermediateDirectories: true)
            port = try EtcdHarness.freePort()
            // The detector fails (exit 3: neither reboot_when nor ok_when) while `broken` exists.
            try write("probe.sh", "#!/bin/sh\n[ -e \(dir)/broken ] && exit 3\nexit 0\n", mode: 0o755)
            try write("health.sh", "#!/bin/sh\nexit 0\n", mode: 0o755)
        }

        func write(_ name: String, _ text: String, mode: Int = 0o644) throws {
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: dir + "/" + name)
        }

        /// The policy: check every `interval`, a dry run unless `dryRun` is false, metrics on `port`.
        func writePolicy(interval: String, dryRun: Bool = true, stuckAfter: String? = nil) throws {
            try write(
                "policy.rcl",
                """
                policy "ops" {}
                detector "flag" file "\(dir)/flag"
                detector "probe" command ["\(dir)/probe.sh"] { reboot_when exit == 1  ok_when exit == 0 }
                health "gate" script "\(dir)/health.sh" { timeout 5s  run pre_lock, post_lock }
                kill_switch file "\(dir)/stop"
                lock local { path "\(dir)/state/lock" }
                reboot command ["/usr/bin/touch", "\(dir)/rebooted"]
                cluster { check_interval \(interval)  backoff 1s .. 2s }
                metrics { listen "127.0.0.1:\(port)"\(stuckAfter.map { "  stuck_after \($0)" } ?? "") }
                dry_run \(dryRun)

                """)
        }

        func start() throws -> Process {
            FileManager.default.createFile(atPath: log, contents: nil)
            let p = Process()
            p.executableURL = CLITests.binary
            p.arguments = ["run", policy, "--state-dir", dir + "/state", "--node-name", "ops-1"]
            p.standardError = FileHandle(forWritingAtPath: log)
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return p
        }

        func remove() { try? FileManager.default.removeItem(atPath: dir) }

        /// The value of the sample `series` (name and labels as exposed) on `/metrics`, nil when it is not there.
        func sample(_ series: String) -> Double? {
            guard let (status, body) = httpGet(port: port, "/metrics"), status == 200 else { return nil }
            for line in body.split(separator: "\n") where line.hasPrefix(series + " ") {
                return Double(line.dropFirst(series.count + 1))
            }
            return nil
        }

        /// Waits until `condition` holds, at most `seconds` (sleeping without holding a thread of the test pool, which
        /// other suites' etcd sessions need).
        func until(_ seconds: Double = 20, _ condition: () -> Bool) async -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if condition() { return true }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return condition()
        }
    }

    @Test func everyMetricIsServedOverHTTPWithWhatThePassesDid() async throws {
        let node = try Node()
        defer { node.remove() }
        try node.writePolicy(interval: "1s")
        try Data().write(to: URL(fileURLWithPath: node.dir + "/flag"))
        let started = Date().timeIntervalSince1970
        let p = try node.start()
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        // Passes that decide to reboot (a dry run): the detector fired, the health gate ran before and under the lock.
        #expect(await node.until { (node.sample(#"rc_decisions_total{outcome="reboot",blocked_by=""}"#) ?? 0) >= 2 }, "\(node.sample("rc_build_info") as Any)")
        #expect(node.sample(#"rc_build_info{version="\#(rcVersion)"}"#) == 1)
        #expect(node.sample("rc_reboot_required") == 1)
        let since = try #require(node.sample("rc_reboot_required_since_seconds"))
        // The first pass that saw the flag, after the daemon started and before now, and it stays put on later passes.
        #expect(since >= started - 0.001 && since <= Date().timeIntervalSince1970, "since \(since), started \(started)")
        #expect((node.sample(#"rc_health_checks_total{check="gate",phase="pre-lock",result="ok"}"#) ?? 0) >= 2)
        #expect((node.sample(#"rc_health_checks_total{check="gate",phase="post-lock",result="ok"}"#) ?? 0) >= 2)
        #expect((node.sample(#"rc_health_check_duration_seconds_count{check="gate",phase="pre-lock"}"#) ?? 0) >= 2)
        #expect((node.sample(#"rc_lock_acquire_seconds_count{acquired="true"}"#) ?? 0) >= 2)
        #expect(node.sample("rc_lock_held") == 0, "a dry run gives the slot back")
        #expect(node.sample("rc_lock_waiting_position") == 0)
        #expect(node.sample(#"rc_fleet_members{state="healthy"}"#) == 1)
        #expect(node.sample("rc_reboots_total") == 0)
        // clusterrebootd's names for the same facts.
        #expect((node.sample(#"clusterrebootd_orchestration_outcomes_total{status="ready"}"#) ?? 0) >= 2)
        #expect((node.sample(#"clusterrebootd_health_checks_total{phase="pre-lock",result="pass"}"#) ?? 0) >= 2)
        #expect((node.sample(#"clusterrebootd_lock_attempts_total{result="success"}"#) ?? 0) >= 2)
        // The kill switch blocks: the reason is the one gauge at 1; lifted, it goes back to 0.
        try Data().write(to: URL(fileURLWithPath: node.dir + "/stop"))
        #expect(await node.until { node.sample(#"rc_blocked{blocked_by="kill_switch",name=""}"#) == 1 })
        #expect((node.sample(#"rc_decisions_total{outcome="blocked",blocked_by="kill_switch"}"#) ?? 0) >= 1)
        try FileManager.default.removeItem(atPath: node.dir + "/stop")
        #expect(await node.until { node.sample(#"rc_blocked{blocked_by="kill_switch",name=""}"#) == 0 })
        #expect(node.sample("rc_reboot_required_since_seconds") == since, "the first pass that needed a reboot, not the last")
        // A detector that fails is counted.
        try Data().write(to: URL(fileURLWithPath: node.dir + "/broken"))
        #expect(await node.until { (node.sample(#"rc_detector_errors_total{detector="probe"}"#) ?? 0) >= 1 })
        try FileManager.default.removeItem(atPath: node.dir + "/broken")
        // A reload that does not check, then one that does (no longer a dry run): the reboot command runs.
        try node.write("policy.rcl", "policy \"ops\" {\n")
        kill(p.processIdentifier, SIGHUP)
        #expect(await node.until { node.sample(#"rc_policy_reloads_total{result="rejected"}"#) == 1 })
        try node.writePolicy(interval: "1s", dryRun: false)
        kill(p.processIdentifier, SIGHUP)
        #expect(await node.until { node.sample(#"rc_policy_reloads_total{result="applied"}"#) == 1 })
        #expect(await node.until { node.sample("rc_reboots_total") == 1 })
        #expect(FileManager.default.fileExists(atPath: node.dir + "/rebooted"))
        #expect(node.sample("rc_lock_held") == 1, "the slot stays held across the reboot")
        // Every metric the daemon names was served; rc_health_value only where a check measures, as this policy's script
        // does not (theValueAMeasuringCheckSawIsAGauge).
        let body = try #require(httpGet(port: node.port, "/metrics")?.body)
        for name in RCMetrics.names where name != "rc_health_value" {
            #expect(body.contains("\n\(name)") || body.hasPrefix(name) || body.contains("# TYPE \(name) "), "\(name) missing from /metrics")
        }
    }

    @Test func healthzSaysWhenAPassIsStuckAndReadyzWhenOneHasEnded() async throws {
        let node = try Node()
        defer { node.remove() }
        // A health check that hangs for 12 s (within its timeout of 25 s); /healthz calls a pass stuck after 3 s.
        try node.write("health.sh", "#!/bin/sh\n[ -e \(node.dir)/hang ] && sleep 12\nexit 0\n", mode: 0o755)
        try node.writePolicy(interval: "1s", stuckAfter: "3s")
        try node.write("policy.rcl", (try String(contentsOfFile: node.policy, encoding: .utf8)).replacingOccurrences(of: "timeout 5s", with: "timeout 25s"))
        try Data().write(to: URL(fileURLWithPath: node.dir + "/flag"))
        let p = try node.start()
        defer {
            // Killed outright: a graceful stop would wait for the hanging pass.
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        #expect(await node.until { httpGet(port: node.port, "/readyz")?.status == 200 })
        #expect(httpGet(port: node.port, "/healthz")?.status == 200)
        try Data().write(to: URL(fileURLWithPath: node.dir + "/hang"))
        #expect(await node.until(10) { httpGet(port: node.port, "/healthz")?.status == 503 })
        #expect(httpGet(port: node.port, "/healthz")?.body.contains("a pass has been running for") == true)
        #expect(httpGet(port: node.port, "/nowhere")?.status == 404)
    }

    @Test func anAddressInUseIsAStartupError() async throws {
        let node = try Node()
        defer { node.remove() }
        try node.writePolicy(interval: "1s")
        let first = try node.start()
        defer {
            first.terminate()
            first.waitUntilExit()
        }
        #expect(await node.until { httpGet(port: node.port, "/readyz") != nil })
        let second = try CLITests().rc(["run", node.policy, "--state-dir", node.dir + "/other", "--node-name", "ops-2"])
        #expect(second.status == 2, "\(second.stdout)\(second.stderr)")
        #expect(second.stderr.contains("cannot listen on 127.0.0.1:\(node.port) for metrics"), "\(second.stderr)")
    }

    @Test func jsonLogLinesParseAndTheSameDecisionIsLoggedOnce() async throws {
        let node = try Node()
        defer { node.remove() }
        try node.writePolicy(interval: "1s")
        try Data().write(to: URL(fileURLWithPath: node.dir + "/flag"))
        try Data().write(to: URL(fileURLWithPath: node.dir + "/stop"))
        // Standard error is a file, not a terminal: JSON lines by default.
        let p = try node.start()
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        #expect(await node.until { (node.sample(#"rc_decisions_total{outcome="blocked",blocked_by="kill_switch"}"#) ?? 0) >= 4 })
        try FileManager.default.removeItem(atPath: node.dir + "/stop")
        #expect(await node.until { (node.sample(#"rc_decisions_total{outcome="reboot",blocked_by=""}"#) ?? 0) >= 1 })
        p.terminate()
        p.waitUntilExit()
        let lines = try String(contentsOfFile: node.log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 4)
        var decisions: [[String: Any]] = []
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            guard let object else { continue }
            #expect(object["ts"] is String && object["level"] is String && object["message"] is String, "\(line)")
            #expect(object["node"] as? String == "ops-1" && object["policy"] as? String == "ops", "\(line)")
            if object["event"] as? String == "decision" { decisions.append(object) }
        }
        let blocked = decisions.filter { $0["blocked_by"] as? String == "kill_switch" }
        #expect(blocked.count == 1, "four passes blocked by the kill switch, logged once: \(blocked.count)")
        #expect(decisions.contains { $0["outcome"] as? String == "reboot" }, "the change is logged")
    }

    @Test func noSecretAppearsInAnyOutput() async throws {
        let node = try Node()
        defer { node.remove() }
        let password = "hunter2-etcd-password"
        let keyMaterial = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secretkeymaterial"
        try node.write("pw", password + "\n", mode: 0o600)
        try node.write("n.key", "-----BEGIN PRIVATE KEY-----\n\(keyMaterial)\n-----END PRIVATE KEY-----\n", mode: 0o600)
        try node.write("n.crt", "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        try node.write(
            "policy.rcl",
            """
            policy "ops" {}
            detector "flag" file "\(node.dir)/flag"
            lock etcd {
              endpoints ["https://127.0.0.1:9"]
              user "rc"
              password_file "\(node.dir)/pw"
              tls { ca "\(node.dir)/n.crt"  cert "\(node.dir)/n.crt"  key "\(node.dir)/n.key" }
            }

            """)
        try Data().write(to: URL(fileURLWithPath: node.dir + "/flag"))
        let cli = CLITests()
        let state = ["--state-dir", node.dir + "/state", "--node-name", "ops-1"]
        var outputs: [String] = []
        for arguments in [["run", node.policy, "--once"] + state, ["status", node.policy] + state, ["lock", "status", node.policy], ["run", "--help"]] {
            let run = try cli.rc(arguments)
            outputs.append(run.stdout + run.stderr)
        }
        #expect(outputs[0].contains("error") || outputs[0].contains("blocked"), "the run says why it cannot go on: \(outputs[0])")
        for output in outputs {
            #expect(!output.contains(password), "the etcd password leaked: \(output)")
            #expect(!output.contains("secretkeymaterial"), "the TLS key leaked: \(output)")
        }
        let files = try FileManager.default.subpathsOfDirectory(atPath: node.dir + "/state")
        for file in files {
            let text = (try? String(contentsOfFile: node.dir + "/state/" + file, encoding: .utf8)) ?? ""
            #expect(!text.contains(password) && !text.contains("secretkeymaterial"), "a secret in \(file)")
        }
    }

    /// A node whose policy tells `hook` of every event (token from the environment), reboots for real and checks
    /// every second; its boot id lives in a file the test changes to stand for a reboot.
    func hookedNode(_ hook: String, timeout: String = "2s", retries: Int = 1) throws -> Node {
        let node = try Node()
        try node.writePolicy(interval: "1s", dryRun: false)
        let policy = try String(contentsOfFile: node.policy, encoding: .utf8)
        try node.write(
            "policy.rcl",
            policy + """
                notify webhook "\(hook)" {
                  events blocked, lock_acquired, rebooting, rebooted, released, error
                  timeout \(timeout)  retries \(retries)
                  header "Authorization"  token_env "RC_TEST_HOOK_TOKEN"
                }

                """)
        try node.write("boot_id", "boot-1\n")
        try Data().write(to: URL(fileURLWithPath: node.dir + "/flag"))
        try Data().write(to: URL(fileURLWithPath: node.dir + "/stop"))
        return node
    }

    func startHooked(_ node: Node) throws -> Process {
        FileManager.default.createFile(atPath: node.log, contents: nil)
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = ["run", node.policy, "--state-dir", node.dir + "/state", "--node-name", "ops-1", "--boot-id-file", node.dir + "/boot_id"]
        var environment = ProcessInfo.processInfo.environment
        environment["RC_TEST_HOOK_TOKEN"] = "Bearer t0ken-for-the-hook"
        p.environment = environment
        let log = FileHandle(forWritingAtPath: node.log)
        log?.seekToEndOfFile()
        p.standardError = log
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }

    @Test func webhooksHearEveryEventInOrder() async throws {
        let receiver = try RecordingHTTPServer()
        let node = try hookedNode(receiver.url)
        defer { node.remove() }
        var p = try startHooked(node)
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        // Blocked by the kill switch (told once however many passes), then the reboot.
        #expect(await node.until { receiver.requests.count >= 1 })
        try FileManager.default.removeItem(atPath: node.dir + "/stop")
        #expect(await node.until { FileManager.default.fileExists(atPath: node.dir + "/rebooted") })
        #expect(await node.until { receiver.requests.count >= 3 })
        // The node "reboots": the daemon goes down and comes back on a new boot id, runs its post-boot gate and
        // gives the slot back.
        p.terminate()
        p.waitUntilExit()
        try node.write("boot_id", "boot-2\n")
        p = try startHooked(node)
        #expect(await node.until { receiver.requests.count >= 4 })
        let bodies = receiver.requests.map { (try? JSONSerialization.jsonObject(with: Data($0.body.utf8))) as? [String: Any] ?? [:] }
        #expect(bodies.compactMap { $0["event"] as? String }.prefix(4) == ["blocked", "lock_acquired", "rebooting", "rebooted"], "\(receiver.requests.map(\.body))")
        let first = bodies.first ?? [:]
        #expect(first["node"] as? String == "ops-1" && first["policy"] as? String == "ops" && first["version"] as? String == rcVersion)
        #expect(first["outcome"] as? String == "blocked" && first["blocked_by"] as? String == "kill_switch" && first["at"] is String, "\(first)")
        #expect(Set(first.keys) == ["event", "node", "outcome", "blocked_by", "name", "reason", "value", "needs", "at", "policy", "version"], "\(first.keys)")
        #expect(first["reason"] as? String == "the kill switch is active (file \(node.dir)/stop)" && first["value"] is NSNull && first["needs"] is NSNull, "\(first)")
        #expect(receiver.requests.allSatisfy { $0.head.contains("Authorization: Bearer t0ken-for-the-hook") && $0.head.hasPrefix("POST /hook ") })
        let log = try String(contentsOfFile: node.log, encoding: .utf8)
        #expect(!log.contains("t0ken-for-the-hook"), "the token is in the log")
    }

    @Test func aWebhookThatIsDownIsLoggedOnceAndTheRebootGoesOn() async throws {
        // Nothing listens on the port.
        let port = try EtcdHarness.freePort()
        let node = try hookedNode("http://127.0.0.1:\(port)/hook", timeout: "1s", retries: 1)
        defer { node.remove() }
        let p = try startHooked(node)
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        #expect(await node.until { ((try? String(contentsOfFile: node.log, encoding: .utf8)) ?? "").contains("webhook http://127.0.0.1:\(port)/hook fails") })
        try FileManager.default.removeItem(atPath: node.dir + "/stop")
        #expect(await node.until { FileManager.default.fileExists(atPath: node.dir + "/rebooted") })
        // lock_acquired and rebooting fail too: still one line.
        try await Task.sleep(for: .seconds(3))
        let log = try String(contentsOfFile: node.log, encoding: .utf8)
        #expect(log.components(separatedBy: "webhook http://127.0.0.1:\(port)/hook fails").count - 1 == 1, "\(log)")
    }

    @Test func aHangingWebhookNeitherBlocksNorDelaysTheReboot() async throws {
        let receiver = try RecordingHTTPServer(hang: true)
        let node = try hookedNode(receiver.url, timeout: "5s", retries: 2)
        defer { node.remove() }
        let p = try startHooked(node)
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        #expect(await node.until { receiver.requests.count >= 1 }, "the first event was sent")
        let lifted = Date()
        try FileManager.default.removeItem(atPath: node.dir + "/stop")
        #expect(await node.until { FileManager.default.fileExists(atPath: node.dir + "/rebooted") })
        let took = Date().timeIntervalSince(lifted)
        // Waiting for the webhook would take its three tries of 5 s each; the passes come every second.
        #expect(took < 8, "the reboot came \(took) s after the kill switch was lifted, with the webhook hanging")
        // Each try hangs for its 5 s timeout: the failure is logged once, however many events fail.
        #expect(await node.until(40) { ((try? String(contentsOfFile: node.log, encoding: .utf8)) ?? "").contains("webhook http://127.0.0.1:\(receiver.port)/hook fails") })
        let log = try String(contentsOfFile: node.log, encoding: .utf8)
        #expect(log.components(separatedBy: "webhook http://127.0.0.1:\(receiver.port)/hook fails").count - 1 == 1, "\(log)")
    }

    @Test func aLoggedDecisionReplaysToTheSameOutcomeAndATornLineIsSkipped() async throws {
        let node = try Node()
        defer { node.remove() }
        try node.writePolicy(interval: "1s")
        try Data().write(to: URL(fileURLWithPath: node.dir + "/flag"))
        try Data().write(to: URL(fileURLWithPath: node.dir + "/stop"))
        var p = try node.start()
        #expect(await node.until { (node.sample(#"rc_decisions_total{outcome="blocked",blocked_by="kill_switch"}"#) ?? 0) >= 3 })
        try FileManager.default.removeItem(atPath: node.dir + "/stop")
        #expect(await node.until { (node.sample(#"rc_decisions_total{outcome="reboot",blocked_by=""}"#) ?? 0) >= 3 })
        p.terminate()
        p.waitUntilExit()
        let cli = CLITests()
        let state = ["--state-dir", node.dir + "/state"]
        let show = try cli.rc(["log", "show"] + state)
        let lines = show.stdout.split(separator: "\n").map(String.init)
        // Three passes blocked and three that would reboot: two entries, as the decision changed once.
        #expect(show.status == 0 && lines.count == 2, "\(show.stdout)\(show.stderr)")
        #expect(lines.first?.hasPrefix("1  ") == true && lines.first?.contains("pre-lock  blocked by kill_switch") == true, "\(show.stdout)")
        #expect(lines.last?.hasPrefix("2  ") == true && lines.last?.contains("post-lock  reboot") == true, "\(show.stdout)")
        let first = try cli.rc(["log", "explain", "1", node.policy, "--color", "never"] + state)
        #expect(first.status == 5 && first.stdout.contains("blocked by kill_switch"), "\(first.stdout)\(first.stderr)")
        let second = try cli.rc(["log", "explain", "2", node.policy, "--color", "never"] + state)
        #expect(second.status == 0 && !second.stderr.contains("decides otherwise"), "\(second.stdout)\(second.stderr)")
        let missing = try cli.rc(["log", "explain", "3", node.policy] + state)
        #expect(missing.status == 64 && missing.stderr.contains("no entry 3"), "\(missing.stderr)")
        // A crash cut the last line short: it is skipped with a warning, and the next entry lands on a line of its own.
        let log = node.dir + "/state/decisions.jsonl"
        let handle = try #require(FileHandle(forWritingAtPath: log))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"at":"2026-12-0"#.utf8))
        try handle.close()
        let torn = try cli.rc(["log", "show", "--format", "json"] + state)
        let entries = (try? JSONSerialization.jsonObject(with: Data(torn.stdout.utf8))) as? [[String: Any]] ?? []
        #expect(torn.status == 0 && entries.count == 2 && torn.stderr.contains("skipped 1 unreadable line"), "\(torn.stdout)\(torn.stderr)")
        try Data().write(to: URL(fileURLWithPath: node.dir + "/stop"))
        p = try node.start()
        #expect(await node.until { (node.sample(#"rc_decisions_total{outcome="blocked",blocked_by="kill_switch"}"#) ?? 0) >= 1 })
        p.terminate()
        p.waitUntilExit()
        let after = try cli.rc(["log", "show", "--last", "1"] + state)
        #expect(after.stdout.contains("blocked by kill_switch") && after.stdout.hasPrefix("3  "), "\(after.stdout)\(after.stderr)")
    }

    @Test func theValueAMeasuringCheckSawIsAGauge() async throws {
        let node = try Node()
        defer { node.remove() }
        let rate = Text("0.034")
        // Answers as Prometheus's /api/v1/query does for a scalar (HealthGateE2ETests runs the real one).
        let server = try ScriptedHTTPServer { _ in
            .respond(status: 200, contentType: "application/json", body: #"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"\#(rate.value)"]}}"#)
        }
        defer { server.stop() }
        try node.write(
            "policy.rcl",
            """
            policy "ops" {}
            detector "flag" file "\(node.dir)/flag"
            health "errors" prometheus "\(server.url)" query "sum(rate(e[5m]))" { ok when value < 0.01  timeout 5s }
            lock local { path "\(node.dir)/state/lock" }
            reboot command ["/usr/bin/touch", "\(node.dir)/rebooted"]
            cluster { check_interval 1s  backoff 1s .. 2s }
            metrics { listen "127.0.0.1:\(node.port)" }
            dry_run true

            """)
        try Data().write(to: URL(fileURLWithPath: node.dir + "/flag"))
        let p = try node.start()
        #expect(await node.until { node.sample(#"rc_health_value{check="errors"}"#) == 0.034 }, "\(node.sample(#"rc_health_value{check="errors"}"#) as Any)")
        #expect(await node.until { node.sample(#"rc_blocked{blocked_by="health",name="errors"}"#) == 1 })
        rate.value = "0.002"
        #expect(await node.until { node.sample(#"rc_health_value{check="errors"}"#) == 0.002 })
        #expect(await node.until { (node.sample(#"rc_decisions_total{outcome="reboot",blocked_by=""}"#) ?? 0) >= 1 })
        #expect(httpGet(port: node.port, "/metrics")?.body.contains("# TYPE rc_health_value gauge") == true)
        p.terminate()
        p.waitUntilExit()
        // The decision log carries the value the check saw and what it needed, beside the reason.
        let state = ["--state-dir", node.dir + "/state"]
        let show = try CLITests().rc(["log", "show"] + state)
        let lines = show.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains(#"blocked by health "errors" (needs value < 0.01, was 0.034): "#) == true, "\(show.stdout)\(show.stderr)")
        let json = try CLITests().rc(["log", "show", "--format", "json"] + state)
        let entries = (try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8))) as? [[String: Any]] ?? []
        #expect(entries.first?["value"] as? Double == 0.034 && entries.first?["needs"] as? String == "needs value < 0.01, was 0.034", "\(json.stdout)")
        // A decision no measuring check blocked has neither.
        #expect(entries.count >= 2 && entries.dropFirst().allSatisfy { $0["value"] is NSNull && $0["needs"] is NSNull }, "\(json.stdout)")
        let raw = try String(contentsOfFile: node.dir + "/state/decisions.jsonl", encoding: .utf8)
        #expect(raw.split(separator: "\n").first?.contains(#""value":0.034,"needs":"needs value < 0.01, was 0.034""#) == true, "\(raw)")
        // So does the daemon's log line of that decision.
        let logged = try String(contentsOfFile: node.log, encoding: .utf8).split(separator: "\n").first { $0.contains(#""blocked_by":"health""#) }
        #expect(logged?.contains(#""needs":"needs value < 0.01, was 0.034""#) == true && logged?.contains(#""value":"0.034""#) == true, "\(logged ?? "")")
    }

    @Test func prometheusScrapesTheDaemon() async throws {
        let node = try Node()
        defer { node.remove() }
        // One pass in the test's time (every hour): it reboots, for real (the command touches a file).
        try node.writePolicy(interval: "1h", dryRun: false)
        try Data().write(to: URL(fileURLWithPath: node.dir + "/flag"))
        let p = try node.start()
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        let prometheus = try await MonitoringServer.prometheus(scraping: node.port, job: "rc", in: node.dir)
        defer { prometheus.stop() }
        func query(_ q: String) -> Double? {
            let encoded = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q
            guard let (status, body) = httpGet(port: prometheus.port, "/api/v1/query?query=\(encoded)"), status == 200,
                let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], let data = json["data"] as? [String: Any],
                let result = data["result"] as? [[String: Any]], let first = result.first, let value = first["value"] as? [Any], let text = value.last as? String
            else { return nil }
            return Double(text)
        }
        #expect(await node.until(60) { query("rc_reboots_total") == 1 }, "Prometheus never saw the reboot")
        #expect(query(#"rc_decisions_total{outcome="reboot"}"#) == 1)
        #expect(query("rc_lock_held") == 1)
        #expect(query("rc_reboot_required") == 1)
        #expect(query(#"up{job="rc"}"#) == 1)
        // Every query of the Grafana dashboard is PromQL that Prometheus runs.
        for expr in try Self.dashboardQueries() {
            let encoded = expr.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expr
            let answer = httpGet(port: prometheus.port, "/api/v1/query?query=\(encoded)")
            #expect(answer?.status == 200 && answer?.body.contains(#""status":"success""#) == true, "\(expr): \(answer?.body ?? "no answer")")
        }
    }

    /// The queries of packaging/grafana/rc-dashboard.json.
    static func dashboardQueries() throws -> [String] {
        let url = CLITests.root.appendingPathComponent("packaging/grafana/rc-dashboard.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let panels = try #require(json["panels"] as? [[String: Any]])
        return panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
    }

    @Test func theDashboardQueriesOnlyMetricsTheDaemonExports() throws {
        let queries = try Self.dashboardQueries()
        #expect(queries.count >= 10)
        let pattern = try Regex(#"\b(rc|clusterrebootd)_[a-z_]+"#)
        var used: Set<String> = []
        for query in queries {
            for match in query.matches(of: pattern) {
                var name = String(query[match.range])
                for suffix in ["_bucket", "_count", "_sum"] where name.hasSuffix(suffix) && !RCMetrics.names.contains(name) { name = String(name.dropLast(suffix.count)) }
                #expect(RCMetrics.names.contains(name), "the dashboard queries \(name), which rc does not export (\(query))")
                used.insert(name)
            }
        }
        // The dashboard shows what an operator looks for: reboots needed, blocked reasons, the lock, health, the fleet.
        for name in ["rc_reboot_required", "rc_blocked", "rc_lock_held", "rc_lock_waiting_position", "rc_reboots_total", "rc_health_check_duration_seconds", "rc_fleet_members"] {
            #expect(used.contains(name), "no panel shows \(name)")
        }
    }
}
