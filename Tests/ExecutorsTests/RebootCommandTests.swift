import Evaluator
import Executors
import Foundation
import PolicyLang
import Testing

/// The reboot command and the kill switch against real files and a real process.
@Suite struct RebootCommandTests {
    @Test func interpolatesAndRunsWithoutAShell() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-reboot-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = dir + "/fake-reboot"
        try "#!/bin/sh\nprintf '%s|' \"$@\" > \(dir)/marker\n".write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let result = Checker.check(
            SourceFile(
                path: "r.rcl",
                text: """
                    policy "web" {}
                    detector "apt" debian
                    kill_switch file "\(dir)/disable"
                    reboot command ["\(script)", "for ${node.name}", "${phase}/${policy.name}"]
                    """))
        let policy = try #require(result.policy)
        // A node name with shell syntax stays one argument.
        let command = RebootCommand(policy: policy, nodeName: "web-1; touch /tmp/pwned", phase: .postLock)
        #expect(command.argv == [script, "for web-1; touch /tmp/pwned", "post-lock/web"])
        #expect(command.display == "\(script) 'for web-1; touch /tmp/pwned' post-lock/web")
        let run = await ProcessRunner().run(command.argv, environment: [:], timeout: 5000)
        #expect(run.ending == .exited(0))
        #expect(try String(contentsOfFile: dir + "/marker", encoding: .utf8) == "for web-1; touch /tmp/pwned|post-lock/web|")

        let switches = KillSwitchFiles()
        #expect(switches.active(policy).isEmpty)
        FileManager.default.createFile(atPath: dir + "/disable", contents: nil)
        #expect(switches.active(policy) == [dir + "/disable"])
        let defaulted = try #require(Checker.check(SourceFile(path: "d.rcl", text: "policy \"d\" {}\ndetector \"apt\" debian\n")).policy)
        #expect(RebootCommand(policy: defaulted, nodeName: "n", phase: .postLock).argv == defaultRebootCommand)
    }
}
