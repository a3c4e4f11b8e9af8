import Foundation
import Testing

/// `rc check` as a linter in a repository: `.rc-lint.yaml`, `--fail-level`, `--fix` and the machine formats.
@Suite struct LintCommandTests {
    let cli = CLITests()

    /// A policy with one warning (a constant rule) and one note (no kill switch).
    let policy = """
        policy "p" {}
        detector "apt" debian
        rule "off" { deny when false }

        """

    /// A repository (a directory with `.git`) holding `files`.
    func repository(_ files: [String: String], _ body: (URL) throws -> Void) throws {
        try cli.withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(".git"), withIntermediateDirectories: true)
            for (path, text) in files {
                let url = dir.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try text.write(to: url, atomically: true, encoding: .utf8)
            }
            try body(dir)
        }
    }

    @Test func failLevelDecidesWhichFindingsFail() throws {
        try repository(["p.rcl": policy]) { (dir: URL) throws in
            #expect(try cli.rc(["check", "p.rcl"], in: dir).status == 0)
            #expect(try cli.rc(["check", "--strict", "p.rcl"], in: dir).status == 1)
            #expect(try cli.rc(["check", "--fail-level", "warning", "p.rcl"], in: dir).status == 1)
            #expect(try cli.rc(["check", "--fail-level", "info", "p.rcl"], in: dir).status == 1)
            #expect(try cli.rc(["check", "--fail-level", "fatal", "p.rcl"], in: dir).status == 64)
            #expect(try cli.rc(["check", "--strict", "--fail-level", "info", "p.rcl"], in: dir).status == 64)
        }
        // Only a note left: it fails at info, not at warning.
        try repository(["p.rcl": "policy \"p\" {}\ndetector \"apt\" debian\n"]) { (dir: URL) throws in
            #expect(try cli.rc(["check", "--fail-level", "warning", "p.rcl"], in: dir).status == 0)
            #expect(try cli.rc(["check", "--fail-level", "info", "p.rcl"], in: dir).status == 1)
        }
    }

    @Test func theConfigurationSetsLevelsAndIgnoresPaths() throws {
        let config = """
            rules:
              constant-rule: error
              RC3014: off
            ignore:
              - drafts

            """
        try repository(["p.rcl": policy, "drafts/broken.rcl": "policy {", ".rc-lint.yaml": config, "sub/q.rcl": policy]) { (dir: URL) throws in
            let run = try cli.rc(["check", "--color", "never", "."], in: dir)
            #expect(run.status == 2)
            #expect(run.stdout.contains("p.rcl:3:24: error[RC3007]: rule \"off\" never denies"))
            #expect(!run.stdout.contains("RC3014"))
            #expect(!run.stdout.contains("broken.rcl"))
            #expect(run.stdout.contains("checked 2 files: 2 errors, 0 warnings"))
            // The root is found from a path below it: the configuration applies from a subdirectory too.
            let sub = try cli.rc(["check", "--color", "never", "q.rcl"], in: dir.appendingPathComponent("sub"))
            #expect(sub.stdout.contains("error[RC3007]"))
        }
    }

    @Test func anInvalidConfigurationIsALocatedErrorAndNothingIsChecked() throws {
        try repository(["p.rcl": policy, ".rc-lint.yaml": "rules:\n  constant-rules: error\n  RC3014: loud\nignore: 3\n"]) { (dir: URL) throws in
            let run = try cli.rc(["check", "--color", "never", "p.rcl"], in: dir)
            #expect(run.status == 2)
            #expect(run.stderr.contains(".rc-lint.yaml:2:3: error[RC4007]: `constant-rules` is not a lint"))
            #expect(run.stderr.contains("did you mean `constant-rule`?"))
            #expect(run.stderr.contains(".rc-lint.yaml:3:11: error[RC4007]: the level of `RC3014` must be error, warning, info or off"))
            #expect(run.stderr.contains("`ignore` must be a list of strings"))
            #expect(run.stdout.isEmpty)
        }
        try repository(["p.rcl": policy]) { (dir: URL) throws in
            #expect(try cli.rc(["check", "--config", "missing.yaml", "p.rcl"], in: dir).status == 64)
        }
    }

    @Test func fixRepairsDayNamesDuplicatesAndFormattingAtomically() throws {
        let broken = """
            policy "p" {}
            detector "apt" debian
            kill_switch file "/etc/rc/disable"
            window allow "nights"   Tues..Thu 22:00 .. 04:00
            window allow "weekend" Sat..Sun
            window allow "weekend-again" Sat..Sun
            test "a" {
              given { detector "apt" clear }
              expect no_reboot
            }
            test "b" {
              given { detector "apt" clear }
              expect no_reboot
            }

            """
        let fixed = """
            policy "p" {}
            detector "apt" debian
            kill_switch file "/etc/rc/disable"
            window allow "nights" Tue..Thu 22:00 .. 04:00
            window allow "weekend" Sat..Sun
            test "a" {
              given { detector "apt" clear }
              expect no_reboot
            }

            """
        try repository(["p.rcl": broken]) { (dir: URL) throws in
            let run = try cli.rc(["check", "--fix", "--color", "never", "p.rcl"], in: dir)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(run.stderr.contains("fixed p.rcl: write `Tue`"))
            let text = try String(contentsOf: dir.appendingPathComponent("p.rcl"), encoding: .utf8)
            #expect(text == fixed)
            #expect(run.stdout.contains("checked 1 file: 0 errors, 0 warnings"))
            // Nothing left to fix: the file stays byte for byte.
            let again = try cli.rc(["check", "--fix", "p.rcl"], in: dir)
            #expect(!again.stderr.contains("fixed"))
            #expect(try String(contentsOf: dir.appendingPathComponent("p.rcl"), encoding: .utf8) == fixed)
        }
    }

    @Test func sarifHasTheRequiredPropertiesAndPathsRelativeToTheRoot() throws {
        try repository(["policies/web/p.rcl": policy]) { (dir: URL) throws in
            let run = try cli.rc(["check", "--format", "sarif", "policies"], in: dir)
            let log = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            // SARIF 2.1.0's required properties: sarifLog {version, runs}, run {tool}, tool {driver}, driver {name},
            // reportingDescriptor {id}, result {message}, message {text}.
            #expect(log["version"] as? String == "2.1.0")
            let runs = try #require(log["runs"] as? [[String: Any]])
            let driver = try #require((runs[0]["tool"] as? [String: Any])?["driver"] as? [String: Any])
            #expect(driver["name"] as? String == "rc")
            let rules = try #require(driver["rules"] as? [[String: Any]])
            #expect(rules.allSatisfy { $0["id"] is String })
            #expect(rules.contains { $0["id"] as? String == "RC3007" && $0["name"] as? String == "constant-rule" })
            let bases = try #require(runs[0]["originalUriBaseIds"] as? [String: [String: String]])
            let rootURI = try #require(bases["SRCROOT"]?["uri"])
            #expect(rootURI.hasPrefix("file:///") && rootURI.hasSuffix("/"))
            #expect(URL(string: rootURI)?.standardizedFileURL.path == dir.standardizedFileURL.path)
            let results = try #require(runs[0]["results"] as? [[String: Any]])
            #expect(results.count == 2)
            for result in results {
                #expect(((result["message"] as? [String: Any])?["text"] as? String)?.isEmpty == false)
                let artifact = try #require(
                    (((result["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])?["artifactLocation"]) as? [String: String])
                #expect(artifact == ["uri": "policies/web/p.rcl", "uriBaseId": "SRCROOT"])
            }
        }
    }

    @Test func jsonAndGitHubCarryTheLintNameAndItsNotes() throws {
        let text = "policy \"p\" {}\ndetector \"apt\" debian\nkill_switch file \"/etc/rc/disable\"\nrule \"a\" { deny when cluster.healthy < 3 }\nrule \"b\" { deny when cluster.healthy < 2 }\n"
        try repository(["p.rcl": text]) { (dir: URL) throws in
            let run = try cli.rc(["check", "--format", "json", "p.rcl"], in: dir)
            let items = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
            #expect(items.count == 1)
            #expect(items[0]["code"] as? String == "RC3008")
            #expect(items[0]["name"] as? String == "shadowed-rule")
            #expect(items[0]["line"] as? Int == 5)
            let notes = try #require(items[0]["notes"] as? [[String: Any]])
            #expect(notes.count == 1)
            #expect(notes[0]["message"] as? String == "the earlier condition")
            #expect(notes[0]["line"] as? Int == 4 && notes[0]["column"] as? Int == 22)
            let github = try cli.rc(["check", "--format", "github", "p.rcl"], in: dir)
            #expect(github.stdout.hasPrefix("::warning file=p.rcl,line=5,col=22,"))
            #expect(github.stdout.contains("title=RC3008::rule \"b\" holds only when rule \"a\" already denies"))
        }
    }

    @Test func policiesOfOneDirectoryThatGovernTheSameNodeAreReported() throws {
        let a = "policy \"web\" { applies_to node.name matches /^web-/ }\ndetector \"apt\" debian\nkill_switch file \"/etc/rc/disable\"\ntest \"w\" {\n  given { detector \"apt\" fired  node.name \"web-1\" }\n  expect reboot\n}\n"
        let b = "policy \"all\" { applies_to node.name != \"db-1\" }\ndetector \"apt\" debian\nkill_switch file \"/etc/rc/disable\"\n"
        try repository(["fleet/a.rcl": a, "fleet/b.rcl": b, "other/b.rcl": b]) { (dir: URL) throws in
            let run = try cli.rc(["check", "--color", "never", "."], in: dir)
            #expect(run.stdout.contains("fleet/b.rcl:1:8: warning[RC3018]: policies \"web\" and \"all\" both govern node \"web-1\""))
            // Policies of different directories are different repositories' choices: not compared.
            #expect(!run.stdout.contains("other/b.rcl:1:8: warning[RC3018]"))
        }
    }
}
