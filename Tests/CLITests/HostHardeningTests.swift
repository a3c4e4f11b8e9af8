import Foundation
import Testing

/// rc runs as root: an unprivileged user of the host must not turn it against the host. Each test makes that user,
/// lets it do what it can (plant a link, swap a script), and checks that rc refuses and touches nothing outside
/// its state directory.
@Suite(.serialized) struct HostHardeningTests {
    let cli = CLITests()
    static let intruder = "rc-intruder"

    /// The unprivileged user (made once) and a directory for one test.
    func world() throws -> String {
        if try cli.run("/usr/bin/id", ["-u", Self.intruder]).status != 0 {
            let made = try cli.run("/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", Self.intruder])
            try #require(made.status == 0, "useradd: \(made.stderr)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-host-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return dir
    }

    /// Runs a command as the unprivileged user.
    @discardableResult
    func asIntruder(_ arguments: [String]) throws -> CLITests.Run {
        let run = try cli.run("/usr/sbin/runuser", ["-u", Self.intruder, "--"] + arguments)
        #expect(run.status == 0, "as \(Self.intruder): \(arguments): \(run.stderr)")
        return run
    }

    func write(_ path: String, _ text: String, mode: Int) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    func writePolicy(_ dir: String, extra: String = "") throws -> String {
        let path = dir + "/policy.rcl"
        try write(path, """
            policy "h" {}
            detector "flag" file "\(dir)/flag"
            reboot command ["/bin/true"]
            \(extra)
            """, mode: 0o644)
        FileManager.default.createFile(atPath: dir + "/flag", contents: Data())
        try write(dir + "/boot_id", "boot-1\n", mode: 0o644)
        return path
    }

    @Test func aLinkPlantedAtTheLockPathOrTheStateDirectoryIsRefused() throws {
        let dir = try world()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let policy = try writePolicy(dir)
        // A root-owned secret the link points at.
        let secret = dir + "/secret"
        try write(secret, "root only\n", mode: 0o600)
        // A state directory the intruder can write: it plants `lock` pointing at the secret.
        let state = dir + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: state)
        try asIntruder(["/bin/ln", "-s", secret, state + "/lock"])
        for arguments in [["run", policy, "--once", "--dry-run"], ["run", policy, "--once"], ["status", policy]] {
            let run = try cli.rc(arguments + ["--state-dir", state, "--node-name", "n", "--boot-id-file", dir + "/boot_id"])
            #expect(run.status != 0, "\(arguments): \(run.stdout)\(run.stderr)")
            #expect((run.stdout + run.stderr).contains("writable by others"), "\(arguments): \(run.stdout)\(run.stderr)")
        }
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "root only\n", "the secret was changed")
        // The same link in a state directory that is rc's own (made by root, 0755) but with the link already there.
        let own = dir + "/own"
        try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try FileManager.default.createSymbolicLink(atPath: own + "/lock", withDestinationPath: secret)
        let linked = try cli.rc(["run", policy, "--once", "--dry-run", "--state-dir", own, "--node-name", "n", "--boot-id-file", dir + "/boot_id"])
        #expect(linked.status == 4 && linked.stdout.contains("it is a symbolic link"), "\(linked.stdout)\(linked.stderr)")
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "root only\n")
        // The state directory itself a link the intruder planted (to a directory of root's): refused, nothing written.
        let target = dir + "/root-dir"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let playground = dir + "/playground"
        try FileManager.default.createDirectory(atPath: playground, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: playground)
        try asIntruder(["/bin/ln", "-s", target, playground + "/state"])
        let viaLink = try cli.rc(["run", policy, "--once", "--state-dir", playground + "/state", "--node-name", "n", "--boot-id-file", dir + "/boot_id"])
        #expect(viaLink.status != 0 && viaLink.stderr.contains("\(playground)/state is a symbolic link"), "\(viaLink.stdout)\(viaLink.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty, "rc wrote into the link's target")
        // A dangling link: rc status creates nothing at its target.
        let dangling = dir + "/dangling"
        try FileManager.default.createDirectory(atPath: dangling, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try FileManager.default.createSymbolicLink(atPath: dangling + "/lock", withDestinationPath: dir + "/created-by-rc")
        _ = try cli.rc(["status", policy, "--state-dir", dangling, "--node-name", "n", "--boot-id-file", dir + "/boot_id"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/created-by-rc"))
    }

    @Test func aHealthScriptSwappedForALinkOrInAGroupWritableDirectoryIsRefused() throws {
        let dir = try world()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A directory others can write holds a root-owned script that fails; the intruder swaps it for a link
        // to /bin/true, which would let every reboot through.
        let open = dir + "/open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: open)
        try write(open + "/check.sh", "#!/bin/sh\nexit 1\n", mode: 0o755)
        try asIntruder(["/bin/rm", "-f", open + "/check.sh"])
        try asIntruder(["/bin/ln", "-s", "/bin/true", open + "/check.sh"])
        let policy = try writePolicy(dir, extra: #"health "gate" script "\#(open)/check.sh""#)
        let state = dir + "/state"
        let run = try cli.rc(["status", policy, "--state-dir", state, "--node-name", "n", "--boot-id-file", dir + "/boot_id", "--color", "never"])
        #expect(run.status == 3, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("refused to run: the directory \(open) is writable by others (mode 777)"), "\(run.stdout)")
        // A group-writable directory (the intruder's group) is refused as well.
        let shared = dir + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o775])
        try FileManager.default.setAttributes([.posixPermissions: 0o775], ofItemAtPath: shared)
        _ = try cli.run("/bin/chgrp", [Self.intruder, shared])
        try write(shared + "/check.sh", "#!/bin/sh\nexit 0\n", mode: 0o755)
        let groupPolicy = try writePolicy(dir, extra: #"health "gate" script "\#(shared)/check.sh""#)
        let group = try cli.rc(["status", groupPolicy, "--state-dir", state, "--node-name", "n", "--boot-id-file", dir + "/boot_id", "--color", "never"])
        #expect(group.status == 3 && group.stdout.contains("refused to run: the directory \(shared) is writable by its group"), "\(group.stdout)")
        // The same script in a directory only root can write runs, and the file checked is the one that runs.
        let safe = dir + "/safe"
        try FileManager.default.createDirectory(atPath: safe, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try write(safe + "/check.sh", "#!/bin/sh\necho checked\nexit 0\n", mode: 0o755)
        let safePolicy = try writePolicy(dir, extra: #"health "gate" script "\#(safe)/check.sh""#)
        let ok = try cli.rc(["status", safePolicy, "--state-dir", state, "--node-name", "n", "--boot-id-file", dir + "/boot_id", "--color", "never"])
        #expect(ok.status == 0 && ok.stdout.contains("checked"), "\(ok.stdout)\(ok.stderr)")
    }
}
