import Evaluator
import Executors
import Foundation
import PolicyLang
import Testing

/// Executors against real processes and real files in temporary directories.
@Suite struct ProcessExecutorTests {
    func withDirectory(_ body: (String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-exec-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await body(dir)
    }

    func script(_ path: String, _ body: String, mode: Int = 0o755) throws {
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    func prepare(_ text: String) throws -> PreparedPolicy {
        let result = Checker.check(SourceFile(path: "t.rcl", text: text))
        return PreparedPolicy(try #require(result.policy, "\(result.diagnostics.map(\.message))"))
    }

    @Test func runnerCapturesOutputAndExitCodes() async {
        let r = await ProcessRunner().run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], environment: [:], timeout: 5000)
        #expect(r.ending == .exited(3) && r.stdout == "out\n" && r.stderr == "err\n" && !r.truncated)
        let env = await ProcessRunner().run(["/bin/sh", "-c", "printf %s \"$RC_X\""], environment: ["RC_X": "y"], timeout: 5000)
        #expect(env.stdout == "y")
        let missing = await ProcessRunner().run(["/nonexistent/program"], environment: [:], timeout: 5000)
        #expect(missing.ending == .launchFailed("/nonexistent/program: No such file or directory"))
        let relative = await ProcessRunner().run(["sh"], environment: [:], timeout: 5000)
        #expect(relative.ending == .launchFailed("the program must be an absolute path"))
    }

    @Test func outputIsBounded() async {
        let r = await ProcessRunner().run(["/bin/sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x"], environment: [:], timeout: 10_000)
        #expect(r.ending == .exited(0))
        #expect(r.stdout.utf8.count == ProcessRunner.outputLimit && r.truncated)
    }

    @Test func timeoutKillsTheWholeProcessGroup() async throws {
        try await withDirectory { dir in
            let marker = dir + "/grandchild-alive"
            // The child starts a grandchild that would write the marker after 2 s; the timeout must kill both.
            let r = await ProcessRunner().run(["/bin/sh", "-c", "(sleep 2; touch \(marker)) & sleep 30"], environment: [:], timeout: 300)
            #expect(r.ending == .timedOut)
            try await Task.sleep(for: .milliseconds(2500))
            #expect(!FileManager.default.fileExists(atPath: marker), "the grandchild outlived the timeout")
        }
    }

    @Test func whatAProgramLeavesBehindIsKilledAndDoesNotHoldItsCheckUp() async throws {
        try await withDirectory { dir in
            // The program exits 0 at once, leaving a process in a session of its own and a double-forked one,
            // both holding its output open.
            let body = "setsid sleep 60 & echo $! > \(dir)/first; ( sleep 61 & echo $! > \(dir)/second ) & sleep 0.2; exit 0"
            let r = await ProcessRunner().run(["/bin/sh", "-c", body], environment: [:], timeout: 20_000)
            #expect(r.ending == .exited(0))
            #expect(r.duration < 3_000, "the run waited for what the program left behind: \(r.duration) ms")
            for name in ["first", "second"] {
                let pid = try #require(Int32(String(contentsOfFile: dir + "/" + name, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
                var state = ""
                for _ in 0..<50 {
                    state = ((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "").split(separator: " ").dropFirst(2).first.map(String.init) ?? "gone"
                    if state == "gone" || state == "Z" { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(state == "gone" || state == "Z", "\(name) (pid \(pid)) outlived its check: state \(state)")
            }
        }
    }

    @Test func fileAndCommandDetectors() async throws {
        try await withDirectory { dir in
            try script(dir + "/check", "exit \"$(cat \(dir)/code)\"")
            let policy = try prepare(
                """
                policy "d" {}
                detector "flag" file "\(dir)/reboot-needed"
                detector "cmd" command ["\(dir)/check"] { reboot_when exit == 1  ok_when exit == 0  timeout 2s }
                detector "gone" command ["\(dir)/missing"] { reboot_when exit == 1 }
                detector "slow" command ["/bin/sleep", "5"] { reboot_when exit == 1  timeout 200ms }
                """)
            let runner = DetectorRunner()
            try "1".write(toFile: dir + "/code", atomically: true, encoding: .utf8)
            var seen = await runner.observeAll(policy)
            #expect(seen["flag"]?.state == .clear)
            #expect(seen["cmd"]?.state == .fired)
            #expect(seen["gone"]?.state == .error("cannot run \(dir)/missing: No such file or directory"))
            #expect(seen["slow"]?.state == .error("/bin/sleep timed out after 200ms"))
            FileManager.default.createFile(atPath: dir + "/reboot-needed", contents: nil)
            try "0".write(toFile: dir + "/code", atomically: true, encoding: .utf8)
            seen = await runner.observeAll(policy)
            #expect(seen["flag"]?.state == .fired)
            #expect(seen["cmd"]?.state == .clear)
            try "7".write(toFile: dir + "/code", atomically: true, encoding: .utf8)
            #expect(await runner.observeAll(policy)["cmd"]?.state == .error("unexpected exit 7"))
            // A decision over these real observations: the fired file detector needs a reboot.
            #expect(policy.decide(Facts(detectors: seen)).outcome == .reboot)
        }
    }

    @Test func builtinDetectorsOnAFakeRoot() async throws {
        try await withDirectory { dir in
            let bin = dir + "/bin"
            try FileManager.default.createDirectory(atPath: dir + "/var/run", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/proc/sys/kernel", withIntermediateDirectories: true)
            for k in ["6.1.0-9-amd64", "6.1.0-28-amd64"] {
                try FileManager.default.createDirectory(atPath: dir + "/lib/modules/" + k, withIntermediateDirectories: true)
            }
            try "6.1.0-9-amd64\n".write(toFile: dir + "/proc/sys/kernel/osrelease", atomically: true, encoding: .utf8)
            try script(bin + "/needs-restarting", "[ \"$1\" = -r ] && exit 1; exit 9")
            try script(bin + "/needrestart", "echo NEEDRESTART-VER: 3.6\necho NEEDRESTART-KCUR: 6.1.0-9-amd64\necho NEEDRESTART-KSTA: 3")
            let policy = try prepare(
                """
                policy "b" {}
                detector "deb" debian
                detector "rhel" rhel
                detector "suse" suse
                detector "nr" needrestart
                detector "kernel" kernel
                """)
            let runner = DetectorRunner(paths: HostPaths(root: dir, programDirectories: [bin]))
            var seen = await runner.observeAll(policy)
            #expect(seen["deb"]?.state == .clear)
            #expect(seen["rhel"]?.state == .fired)
            #expect(seen["suse"]?.state == .error("zypper: not found in \(bin)"), "a missing program is an error, never a reboot")
            #expect(seen["nr"]?.state == .fired)
            #expect(seen["kernel"]?.state == .fired && seen["kernel"]?.output == "running 6.1.0-9-amd64, installed 6.1.0-28-amd64")
            try "linux-image-6.1.0-28-amd64\nlibc6\n".write(toFile: dir + "/var/run/reboot-required.pkgs", atomically: true, encoding: .utf8)
            FileManager.default.createFile(atPath: dir + "/var/run/reboot-required", contents: nil)
            try FileManager.default.createDirectory(atPath: dir + "/run", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: dir + "/run/reboot-needed", contents: nil)
            try "6.1.0-28-amd64\n".write(toFile: dir + "/proc/sys/kernel/osrelease", atomically: true, encoding: .utf8)
            seen = await runner.observeAll(policy)
            #expect(seen["deb"] == DetectorObservation(.fired, output: "/var/run/reboot-required; packages: linux-image-6.1.0-28-amd64, libc6"))
            #expect(seen["suse"]?.state == .fired)
            #expect(seen["kernel"]?.state == .clear)
        }
    }

    @Test func healthScripts() async throws {
        try await withDirectory { dir in
            let ok = dir + "/ok.sh", fail = dir + "/fail.sh", open = dir + "/open.sh", slow = dir + "/slow.sh"
            try script(ok, "echo \"$RC_PHASE $RC_NODE_NAME $RC_DRY_RUN $RC_LOCK_HELD $RC_LOCK_SLOTS $RC_FALLBACK_NODES\"")
            try script(fail, "echo quorum at risk; exit 1")
            try script(open, "exit 0", mode: 0o777)
            try script(slow, "sleep 10")
            let policy = try prepare(
                """
                policy "h" {}
                detector "apt" debian
                health "ok" script "\(ok)" { run pre_lock, post_boot }
                health "fail" script "\(fail)"
                health "open" script "\(open)"
                health "slow" script "\(slow)" { timeout 300ms }
                lock etcd { endpoints ["https://127.0.0.1:2379"]  slots 3 }
                cluster { fallback_nodes ["cp-a", "cp-b"] }
                """)
            let runner = HealthRunner()
            let context = HealthContext(phase: .preLock, nodeName: "web-1", dryRun: true, lockHeld: false, lockAttempts: 0)
            let seen = await runner.runAll(policy, context)
            #expect(seen["ok"]?.ok == true && seen["ok"]?.output == "pre-lock web-1 true false 3 cp-a,cp-b")
            #expect(seen["fail"] == HealthObservation(ok: false, exitCode: 1, output: "quorum at risk", duration: seen["fail"]?.duration))
            #expect(seen["open"]?.ok == false && seen["open"]?.output == "refused to run: \(open) is writable by others (mode 777)")
            #expect(seen["slow"]?.ok == false && seen["slow"]?.output == "timed out after 300ms")
            let afterBoot = await runner.runAll(policy, HealthContext(phase: .postBoot, nodeName: "web-1", dryRun: false, lockHeld: true, lockAttempts: 1))
            #expect(Array(afterBoot.keys) == ["ok"])
            // A script of another user is refused.
            #expect(HealthRunner(owners: [12345]).refusal(ok)?.contains("is owned by uid \(getuid()), not by root") == true)
            // The decision over real results: blocked by the failing check.
            let decision = policy.decide(Facts(detectors: ["apt": DetectorObservation(.fired)], health: seen))
            #expect(decision.blockedBy == .health && decision.name == "fail" && decision.exitCode == 3)
        }
    }
}
