import Foundation
import Testing

/// `rc run` and `rc status` on this host with real files, real processes and a real flock: a fake reboot command
/// (a script that writes a marker), a boot id file the test rewrites to simulate a reboot, signals.
@Suite struct RunCommandTests {
    let cli = CLITests()

    /// A node's world in a temporary directory.
    struct Scene {
        let dir: String
        var policy: String { dir + "/policy.rcl" }
        var flag: String { dir + "/flag" }
        var marker: String { dir + "/rebooted" }
        var bootID: String { dir + "/boot_id" }
        var state: String { dir + "/state" }
        var lock: String { dir + "/lock" }

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-run-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try "boot-1\n".write(toFile: bootID, atomically: true, encoding: .utf8)
            // The fake reboot: log the call; with NEW_BOOT set, also "reboot" by changing the boot id.
            try script("reboot.sh", "echo \"reboot $*\" >> \(marker)\n[ -f \(dir)/new-boot ] && cat \(dir)/new-boot > \(bootID)\nexit 0")
        }

        func script(_ name: String, _ body: String) throws {
            let path = dir + "/" + name
            try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }

        func write(_ extra: String = "", interval: String = "1h") throws {
            try """
                policy "t" {}
                detector "flag" file "\(flag)"
                kill_switch file "\(dir)/disable"
                lock local { path "\(lock)" }
                reboot command ["\(dir)/reboot.sh", "${node.name}"]
                cluster { check_interval \(interval)  backoff 1s .. 2s }
                \(extra)
                """.write(toFile: policy, atomically: true, encoding: .utf8)
        }

        func touch(_ path: String) { FileManager.default.createFile(atPath: path, contents: Data()) }

        var reboots: [String] {
            ((try? String(contentsOfFile: marker, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        var args: [String] { ["--state-dir", state, "--node-name", "n1", "--boot-id-file", bootID] }

        /// Whether nobody holds the lock file's flock (probed with flock(1) from util-linux).
        var lockIsFree: Bool {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            p.arguments = ["--nonblock", "--exclusive", lock, "true"]
            try? p.run()
            p.waitUntilExit()
            return p.terminationStatus == 0
        }

        func remove() { try? FileManager.default.removeItem(atPath: dir) }
    }

    func once(_ scene: Scene, _ extra: [String] = []) throws -> CLITests.Run {
        try cli.rc(["run", scene.policy, "--once"] + scene.args + extra)
    }

    @Test func aDetectorFileMakesTheRebootCommandRunOnce() throws {
        let scene = try Scene()
        defer { scene.remove() }
        try scene.write()
        #expect(try once(scene).status == 0)
        #expect(scene.reboots.isEmpty, "no detector fired")
        scene.touch(scene.flag)
        let run = try once(scene)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(scene.reboots == ["reboot n1"])
        #expect(run.stdout.contains("n1: reboot (exit 0)"))
        // The record of the reboot under way, with the boot id of before.
        let record = try String(contentsOfFile: scene.state + "/rebooting.json", encoding: .utf8)
        #expect(record.contains("\"boot_id\":\"boot-1\""))
        // The facts of the decision are kept and replay to the same decision.
        let replay = try cli.rc(["explain", scene.policy, "--facts", scene.state + "/last-decision.json", "--color", "never"])
        #expect(replay.status == 0 && replay.stdout.hasPrefix("reboot (exit 0)"), "\(replay.stdout)\(replay.stderr)")
    }

    @Test func dryRunPrintsTheCommandInstead() throws {
        let scene = try Scene()
        defer { scene.remove() }
        try scene.write()
        scene.touch(scene.flag)
        let run = try once(scene, ["--dry-run"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("dry run: would reboot with: \(scene.dir)/reboot.sh n1"))
        #expect(scene.reboots.isEmpty)
        #expect(scene.lockIsFree)
    }

    @Test func eachGateBlocksWithItsExitCode() throws {
        let scene = try Scene()
        defer { scene.remove() }
        scene.touch(scene.flag)
        try scene.script("fail.sh", "echo quorum at risk; exit 1")
        try scene.write("health \"gate\" script \"\(scene.dir)/fail.sh\"")
        #expect(try once(scene).status == 3)
        try scene.write("detector \"gone\" command [\"\(scene.dir)/no-such-program\"] { reboot_when exit == 1 }")
        try FileManager.default.removeItem(atPath: scene.flag)
        let missing = try once(scene)
        #expect(missing.status == 6, "\(missing.stdout)")
        scene.touch(scene.flag)
        try scene.write("window deny \"always\" daily 00:00 .. 24:00")
        #expect(try once(scene).status == 7)
        try scene.write("rule \"not n1\" { deny when node.name == \"n1\" }")
        #expect(try once(scene).status == 8)
        try scene.write()
        scene.touch(scene.dir + "/disable")
        #expect(try once(scene).status == 5)
        #expect(scene.reboots.isEmpty, "nothing rebooted")
        #expect(scene.lockIsFree)
    }

    @Test func aFullLockBlocksWithExitFour() throws {
        let scene = try Scene()
        defer { scene.remove() }
        try scene.write()
        scene.touch(scene.flag)
        // Another holder keeps the flock for the duration of the pass.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [scene.lock, "sleep", "30"]
        try holder.run()
        defer { holder.terminate() }
        var tries = 0
        while scene.lockIsFree, tries < 500 {
            usleep(10_000)
            tries += 1
        }
        #expect(try once(scene).status == 4)
        #expect(scene.reboots.isEmpty)
    }

    @Test func aDetectorClearedUnderTheLockMeansNoRebootAndAFreeLock() throws {
        let scene = try Scene()
        defer { scene.remove() }
        scene.touch(scene.flag)
        // The pre-lock health check clears the detector; the check under the lock then sees nothing to do.
        try scene.script("clear.sh", "rm -f \(scene.flag)")
        try scene.write("health \"clears\" script \"\(scene.dir)/clear.sh\" { run pre_lock }")
        let run = try once(scene)
        #expect(run.status == 0)
        #expect(run.stdout.contains("no reboot needed"), "\(run.stdout)")
        #expect(scene.reboots.isEmpty)
        #expect(scene.lockIsFree)
    }

    @Test func aSimulatedRebootRunsThePostBootGateAndReleases() throws {
        let scene = try Scene()
        defer { scene.remove() }
        scene.touch(scene.flag)
        try scene.script("gate.sh", "echo \"$RC_PHASE\" >> \(scene.dir)/phases; [ \"$RC_PHASE\" != post-boot ] || [ -f \(scene.dir)/healthy ]")
        try scene.write("health \"gate\" script \"\(scene.dir)/gate.sh\" { run pre_lock, post_lock, post_boot }")
        try "boot-2\n".write(toFile: scene.dir + "/new-boot", atomically: true, encoding: .utf8)
        #expect(try once(scene).status == 0)
        #expect(scene.reboots == ["reboot n1"])
        try FileManager.default.removeItem(atPath: scene.flag)
        // "After the boot": a new boot id; the post-boot gate fails first and the record stays.
        let failing = try once(scene)
        #expect(failing.status == 3, "\(failing.stdout)")
        #expect(FileManager.default.fileExists(atPath: scene.state + "/rebooting.json"))
        scene.touch(scene.dir + "/healthy")
        let passing = try once(scene)
        #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
        #expect(passing.stderr.contains("the post-boot gate passed and the lock slot is released"))
        #expect(!FileManager.default.fileExists(atPath: scene.state + "/rebooting.json"))
        let phases = try String(contentsOfFile: scene.dir + "/phases", encoding: .utf8)
        #expect(phases == "pre-lock\npost-lock\npost-boot\npost-boot\n")
    }

    @Test func aRebootWhoseBootIDDidNotChangeIsNotRunAgain() throws {
        let scene = try Scene()
        defer { scene.remove() }
        try scene.write()
        scene.touch(scene.flag)
        #expect(try once(scene).status == 0)
        // The command ran, the boot id is unchanged: the reboot was interrupted or is still to come (a delayed
        // `shutdown -r +5`). The next passes keep its record and do not run the command again.
        for _ in 0..<2 {
            let again = try once(scene)
            #expect(again.status == 4, "\(again.stdout)\(again.stderr)")
            #expect(again.stdout.contains("blocked by lock (exit 4): the reboot recorded at") && again.stdout.contains("has not happened (boot id unchanged)"), "\(again.stdout)")
        }
        #expect(scene.reboots == ["reboot n1"], "the reboot command ran once for its record")
        #expect(FileManager.default.fileExists(atPath: scene.state + "/rebooting.json"))
    }

    @Test func aRebootRecordThatCannotBeReadBlocksWithItsPath() throws {
        let scene = try Scene()
        defer { scene.remove() }
        try scene.write()
        scene.touch(scene.flag)
        try FileManager.default.createDirectory(atPath: scene.state, withIntermediateDirectories: true)
        try "{\"boot_id\": tru".write(toFile: scene.state + "/rebooting.json", atomically: true, encoding: .utf8)
        let run = try once(scene)
        #expect(run.status == 4, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("\(scene.state)/rebooting.json is not a reboot record rc can read"), "\(run.stdout)")
        #expect(scene.reboots.isEmpty)
        #expect(FileManager.default.fileExists(atPath: scene.state + "/rebooting.json"), "the record is left for the operator")
    }

    @Test func aRebootRecordThatCannotBeRemovedBlocksWithItsPath() throws {
        let scene = try Scene()
        defer {
            _ = try? cli.run("/usr/bin/chattr", ["-i", scene.state])
            scene.remove()
        }
        try scene.write()
        scene.touch(scene.flag)
        try "boot-2\n".write(toFile: scene.dir + "/new-boot", atomically: true, encoding: .utf8)
        #expect(try once(scene).status == 0)
        try FileManager.default.removeItem(atPath: scene.flag)
        // Back after the boot, on a state directory nothing can be removed from (immutable, as root is too).
        let immutable = try cli.run("/usr/bin/chattr", ["+i", scene.state])
        try #require(immutable.status == 0, "chattr +i: \(immutable.stderr)")
        for _ in 0..<2 {
            let run = try once(scene)
            #expect(run.status == 4, "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("\(scene.state)/rebooting.json cannot be removed: Operation not permitted"), "\(run.stdout)")
        }
        #expect(scene.reboots == ["reboot n1"])
    }

    @Test func aSecondDaemonOnTheSameStateDirectoryIsRefused() throws {
        let scene = try Scene()
        defer { scene.remove() }
        try scene.write()
        let (first, log) = try start(scene)
        defer {
            first.terminate()
            first.waitUntilExit()
        }
        #expect(waitFor("running policy", in: log))
        let second = try once(scene)
        #expect(second.status == 1, "\(second.stdout)\(second.stderr)")
        #expect(second.stderr.contains("\(scene.state) is in use by another rc run (pid \(first.processIdentifier))"), "\(second.stderr)")
        #expect(first.isRunning)
    }

    /// Starts `rc run` in the background with its standard error in a file.
    func start(_ scene: Scene) throws -> (Process, String) {
        let log = scene.dir + "/rc.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = ["run", scene.policy, "--log-format", "text"] + scene.args
        p.standardError = FileHandle(forWritingAtPath: log)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return (p, log)
    }

    func waitFor(_ text: String, in log: String, seconds: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains(text) { return true }
            usleep(20_000)
        }
        return false
    }

    @Test func sigtermStopsTheDaemonWithTheLockFree() throws {
        let scene = try Scene()
        defer { scene.remove() }
        try scene.write()
        let (p, log) = try start(scene)
        #expect(waitFor("decision: no reboot needed", in: log))
        let sent = Date()
        p.terminate()
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(sent)
        #expect(p.terminationStatus == 0)
        #expect(seconds < 1, "took \(seconds) s to stop")
        #expect(waitFor("stopped; the lock slot is free", in: log, seconds: 1))
        #expect(scene.lockIsFree)
    }

    @Test func sighupKeepsTheOldPolicyWhenTheNewOneIsBroken() throws {
        let scene = try Scene()
        defer { scene.remove() }
        try scene.write(interval: "1s")
        let (p, log) = try start(scene)
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        #expect(waitFor("decision: no reboot needed", in: log))
        try "policy \"t\" {\ndetector \"flag\" fyle \"/x\"\n".write(toFile: scene.policy, atomically: true, encoding: .utf8)
        kill(p.processIdentifier, SIGHUP)
        #expect(waitFor("does not check; the old policy stays in force", in: log))
        #expect(waitFor("error[RC1", in: log), "the diagnostics are logged")
        // The old policy still decides: the flag file makes it reboot.
        scene.touch(scene.flag)
        #expect(waitFor("reboot is under way", in: log))
        #expect(scene.reboots == ["reboot n1"])
        // A good policy is taken.
        try scene.write("rule \"never\" { deny when true }", interval: "1s")
        kill(p.processIdentifier, SIGHUP)
        #expect(waitFor("SIGHUP: reloaded policy \"t\"", in: log))
    }

    @Test func sighupRefusesAPolicyThatChangesTheLock() throws {
        let scene = try Scene()
        defer { scene.remove() }
        try scene.write(interval: "1s")
        let (p, log) = try start(scene)
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        #expect(waitFor("decision: no reboot needed", in: log))
        // The lock was built from the old block: a reload would log the new one and keep the old.
        try scene.write(interval: "1s")
        let text = try String(contentsOfFile: scene.policy, encoding: .utf8).replacingOccurrences(of: "path \"\(scene.lock)\"", with: "path \"\(scene.lock)-2\"")
        try text.write(toFile: scene.policy, atomically: true, encoding: .utf8)
        kill(p.processIdentifier, SIGHUP)
        #expect(waitFor("changes the lock block or the fleet's publish_interval/forget_after, which a reload cannot apply; the old policy stays in force", in: log))
        #expect(!((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("SIGHUP: reloaded"))
    }

    @Test func statusReportsWithoutRebootingOrHoldingTheLock() throws {
        let scene = try Scene()
        defer { scene.remove() }
        scene.touch(scene.flag)
        try scene.script("gate.sh", "echo \"lock:$RC_LOCK_ENABLED skip:$RC_SKIP_LOCK\" > \(scene.dir)/env")
        try scene.write("health \"gate\" script \"\(scene.dir)/gate.sh\"")
        let run = try cli.rc(["status", scene.policy, "--color", "never"] + scene.args)
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("reboot (exit 0)"))
        #expect(run.stdout.contains("✓ detector \"flag\"  → fired"))
        #expect(run.stdout.contains("✓ health \"gate\"  → ok"))
        #expect(scene.reboots.isEmpty)
        #expect(scene.lockIsFree)
        #expect(!FileManager.default.fileExists(atPath: scene.state + "/rebooting.json"))
        // A command detector sees what `rc status` skips.
        try scene.script("probe.sh", "echo \"health:$RC_SKIP_HEALTH lock:$RC_SKIP_LOCK\" > \(scene.dir)/probe-env; exit 0")
        try scene.write("health \"gate\" script \"\(scene.dir)/gate.sh\"\ndetector \"probe\" command [\"\(scene.dir)/probe.sh\"] { reboot_when exit == 1 }")
        let skipped = try cli.rc(["status", scene.policy, "--skip-lock", "--skip-health", "--format", "json"] + scene.args)
        #expect(skipped.status == 0 && skipped.stdout.contains("\"outcome\": \"reboot\""))
        #expect(try String(contentsOfFile: scene.dir + "/probe-env", encoding: .utf8) == "health:1 lock:1\n")
        let env = try String(contentsOfFile: scene.dir + "/env", encoding: .utf8)
        #expect(env == "lock:true skip:\n", "only the first status ran the script")
    }

    @Test func theEmbeddedDefaultIsTheShippedDefaultPolicy() throws {
        let source = try String(contentsOf: CLITests.root.appendingPathComponent("Sources/CLI/DefaultPolicy.swift"), encoding: .utf8)
        let file = try String(contentsOf: CLITests.root.appendingPathComponent("policies/defaults/default.rcl"), encoding: .utf8)
        #expect(source.contains("#\"\"\"\n" + file + "\"\"\"#"))
        let scene = try Scene()
        defer { scene.remove() }
        let run = try cli.rc(["run", "--once", "--dry-run"] + scene.args)
        #expect(run.status == 0 || run.status == 5, "\(run.stderr)")
        #expect(run.stderr.contains("dry run: the reboot command is printed, never run"))
    }

    @Test func badInputIsRefused() throws {
        let scene = try Scene()
        defer { scene.remove() }
        try "policy \"t\" {\n".write(toFile: scene.policy, atomically: true, encoding: .utf8)
        let broken = try once(scene)
        #expect(broken.status == 2 && broken.stderr.contains("error[RC"))
        // etcd unreachable: no reboot, exit 4, every endpoint named with its reason.
        scene.touch(scene.flag)
        try "policy \"e\" {}\ndetector \"flag\" file \"\(scene.flag)\"\nlock etcd { endpoints [\"http://127.0.0.1:1\", \"http://127.0.0.1:2\"] }\nreboot command [\"\(scene.dir)/reboot.sh\"]\n"
            .write(toFile: scene.policy, atomically: true, encoding: .utf8)
        let etcd = try once(scene)
        #expect(etcd.status == 4, "\(etcd.stdout)\(etcd.stderr)")
        #expect(etcd.stdout.contains("etcd is unreachable: http://127.0.0.1:1: connection refused; http://127.0.0.1:2: connection refused"))
        #expect(scene.reboots.isEmpty)
    }
}
