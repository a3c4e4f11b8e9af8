import Foundation
import Testing

/// End-to-end tests of the `rc` executable: exit codes, output formats, files on disk.
@Suite struct CLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built `rc` binary beside the test bundle.
    static var binary: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("rc")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/rc")
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    func rc(_ arguments: [String], stdin: String? = nil, in directory: URL? = nil) throws -> Run {
        try run(Self.binary.path, arguments, stdin: stdin, in: directory)
    }

    /// Runs a program and collects its exit status and output.
    @discardableResult
    func run(_ program: String, _ arguments: [String], stdin: String? = nil, in directory: URL? = nil) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? Self.root
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Runs `body` with a new temporary directory that is removed afterwards.
    func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(dir)
    }

    let golden = "Tests/PolicyLangTests/Golden/"

    @Test func checkExitCodes() throws {
        #expect(try rc(["check", "policies/"]).status == 0)
        #expect(try rc(["check", golden + "RC2001-unknown-name.rcl"]).status == 2)
        #expect(try rc(["check", golden + "RC3001-no-detectors.rcl"]).status == 0)
        #expect(try rc(["check", "--strict", golden + "RC3001-no-detectors.rcl"]).status == 1)
        #expect(try rc(["check", "--format", "yaml", "policies/"]).status == 64)
        let missing = try rc(["check", "no/such/file.rcl"])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("no/such/file.rcl: no such file or directory"))
        #expect(try rc(["frobnicate"]).status == 64)
    }

    @Test func checkTextOutput() throws {
        let run = try rc(["check", "--color", "never", golden + "RC2001-unknown-name.rcl"])
        #expect(run.stdout.contains("\(golden)RC2001-unknown-name.rcl:5:27: error[RC2001]: unknown name `clster`"))
        #expect(run.stdout.contains("= help: did you mean `cluster`?"))
        #expect(!run.stdout.contains("\u{1B}["))
        #expect(run.stdout.contains("checked 1 file: 2 errors, 0 warnings"))
        let colored = try rc(["check", "--color", "always", golden + "RC2001-unknown-name.rcl"])
        #expect(colored.stdout.contains("\u{1B}[1;31merror[RC2001]"))
    }

    @Test func checkJSON() throws {
        let run = try rc(["check", "--format", "json", golden + "RC2002-type-mismatch.rcl", "policies/"])
        #expect(run.status == 2)
        let items = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(items.count == 3)
        let first = items[0]
        #expect(
            Set(first.keys) == ["file", "line", "column", "endLine", "endColumn", "severity", "code", "name", "message", "label", "help", "fix", "notes"])
        #expect(first["name"] is NSNull)
        #expect(first["code"] as? String == "RC2002")
        #expect(first["line"] as? Int == 5)
        #expect(first["severity"] as? String == "error")
        let clean = try rc(["check", "--format", "json", "policies/"])
        #expect(clean.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }

    @Test func checkSARIF() throws {
        let run = try rc(["check", "--format", "sarif", golden + "RC2005-duplicate-name.rcl", golden + "RC3002-plaintext-etcd.rcl"])
        let log = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")
        #expect((log["$schema"] as? String)?.contains("sarif-2.1.0") == true)
        let runs = try #require(log["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        let driver = try #require((runs[0]["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["name"] as? String == "rc")
        let rules = try #require(driver["rules"] as? [[String: Any]])
        let results = try #require(runs[0]["results"] as? [[String: Any]]).filter { ["RC2005", "RC3002"].contains($0["ruleId"] as? String) }
        #expect(results.count == 2)
        for result in results {
            let ruleId = try #require(result["ruleId"] as? String)
            let index = try #require(result["ruleIndex"] as? Int)
            #expect(rules[index]["id"] as? String == ruleId)
            #expect(["error", "warning", "note"].contains(result["level"] as? String ?? ""))
            #expect(((result["message"] as? [String: Any])?["text"] as? String)?.isEmpty == false)
            let location = try #require((result["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])
            let region = try #require(location["region"] as? [String: Int])
            #expect(region["startLine"]! >= 1 && region["startColumn"]! >= 1)
            #expect(region["endLine"]! >= region["startLine"]!)
        }
        #expect(results[0]["relatedLocations"] != nil)
        #expect(results[1]["level"] as? String == "warning")
    }

    @Test func checkGitHub() throws {
        let run = try rc(["check", "--format", "github", golden + "RC2016-duplicate-field.rcl"])
        #expect(run.status == 2)
        #expect(run.stdout.hasPrefix("::error file=\(golden)RC2016-duplicate-field.rcl,line=7,col=3,endLine=7,endColumn=11,title=RC2016::field `cooldown` is given twice%0Ahelp: remove one of them"))
    }

    @Test func checkDirectoryRecurses() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("a/b"), withIntermediateDirectories: true)
        try "policy \"x\" {}\ndetector \"a\" debian\n".write(to: dir.appendingPathComponent("a/b/x.rcl"), atomically: true, encoding: .utf8)
        try "not a policy".write(to: dir.appendingPathComponent("a/notes.txt"), atomically: true, encoding: .utf8)
        let run = try rc(["check", dir.path])
        #expect(run.status == 0)
        #expect(run.stdout.contains("checked 1 file"))
        let empty = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(try rc(["check", empty.path]).status == 64)
    }

    @Test func formatCheckWriteAndStdout() throws {
        try withTemporaryDirectory { dir in
            let file = dir.appendingPathComponent("p.rcl")
            let messy = "# keep me\npolicy   \"p\"{applies_to node.name==\"a\"}\ndetector \"apt\"   debian # and me\n"
            try messy.write(to: file, atomically: true, encoding: .utf8)
            let check = try rc(["fmt", "--check", file.path])
            #expect(check.status == 1)
            #expect(check.stdout.contains("-policy   \"p\"{applies_to node.name==\"a\"}"))
            #expect(check.stdout.contains("+policy \"p\" { applies_to node.name == \"a\" }"))
            #expect(try String(contentsOf: file, encoding: .utf8) == messy)
            let stdout = try rc(["fmt", "--stdout", file.path])
            #expect(stdout.stdout == "# keep me\npolicy \"p\" { applies_to node.name == \"a\" }\ndetector \"apt\" debian  # and me\n")
            #expect(try rc(["fmt", file.path]).status == 0)
            #expect(try String(contentsOf: file, encoding: .utf8) == stdout.stdout)
            #expect(try rc(["fmt", "--check", file.path]).status == 0)
            let piped = try rc(["fmt", "-"], stdin: messy)
            #expect(piped.stdout == stdout.stdout)
        }
    }

    @Test func formatLeavesBrokenFilesUntouched() throws {
        try withTemporaryDirectory { dir in
            let file = dir.appendingPathComponent("broken.rcl")
            let broken = "policy \"p\" {\nrule \"r\" { deny when ( }\n"
            try broken.write(to: file, atomically: true, encoding: .utf8)
            let run = try rc(["fmt", "--color", "never", file.path])
            #expect(run.status == 2)
            #expect(run.stderr.contains("error[RC"))
            #expect(try String(contentsOf: file, encoding: .utf8) == broken)
        }
    }

    @Test func importWritesACheckedFormattedPolicy() throws {
        try withTemporaryDirectory { dir in
            let out = dir.appendingPathComponent("node-a.rcl")
            let run = try rc(["import", "Tests/ExecutorsTests/Golden/full-config.yaml", "-o", out.path])
            #expect(run.status == 0)
            // Errors none; the lints may say what the clusterrebootd configuration itself does (overlapping thresholds).
            #expect(try rc(["check", out.path]).status == 0)
            #expect(try rc(["fmt", "--check", out.path]).status == 0)
            let bad = try rc(["import", "--color", "never", "Tests/ExecutorsTests/Golden/RC4002-unknown-field.yaml"])
            #expect(bad.status == 2)
            #expect(bad.stderr.contains("RC4002-unknown-field.yaml:5:1: error[RC4002]"))
            #expect(try rc(["import", "missing.yaml"]).status == 64)
        }
    }

    @Test func versionAndHelp() throws {
        #expect(try rc(["version"]).stdout.hasPrefix("rc "))
        for verb in ["check", "fmt", "import"] {
            let help = try rc([verb, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("USAGE"))
        }
    }
}
