import Foundation
import Testing

/// `rc init` writes a policy that passes every lint, is formatted, and whose tests pass with full coverage.
@Suite struct InitCommandTests {
    let cli = CLITests()

    @Test(arguments: ["debian", "rhel", "suse"], [nil, "https://etcd-1.example:2379"] as [String?])
    func theStartingPolicyIsCleanAndTested(_ os: String, _ etcd: String?) throws {
        try cli.withTemporaryDirectory { (dir: URL) throws in
            let path = dir.appendingPathComponent("policy.rcl").path
            let written = try cli.rc(["init", "--os", os, "-o", path] + (etcd.map { ["--etcd", $0] } ?? []))
            #expect(written.status == 0, "\(written.stderr)")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.contains("policy \"\(os)\""))
            #expect(text.contains("lock etcd") == (etcd != nil))
            let check = try cli.rc(["check", "--fail-level", "info", "--color", "never", path])
            #expect(check.status == 0, "\(check.stdout)")
            #expect(try cli.rc(["fmt", "--check", path]).status == 0)
            let test = try cli.rc(["test", "--min-coverage", "100", path])
            #expect(test.status == 0, "\(test.stdout)")
        }
    }

    @Test func itRefusesPlainHTTPAndKeepsAnExistingFile() throws {
        try cli.withTemporaryDirectory { (dir: URL) throws in
            #expect(try cli.rc(["init", "--etcd", "http://10.0.0.1:2379"]).status == 64)
            #expect(try cli.rc(["init", "--os", "windows"]).status == 64)
            let path = dir.appendingPathComponent("policy.rcl").path
            try "mine\n".write(toFile: path, atomically: true, encoding: .utf8)
            let run = try cli.rc(["init", "-o", path])
            #expect(run.status == 1)
            #expect(run.stderr.contains("exists; give --force"))
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "mine\n")
            #expect(try cli.rc(["init", "--force", "-o", path]).status == 0)
            #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("# A starting policy"))
        }
    }
}
