import Foundation
import Testing

/// The facts a live node gives its rules: its labels (`--label`, a labels file) and its name, and a single policy
/// file that does not apply to the node.
@Suite struct NodeFactsTests {
    let cli = CLITests()

    /// A node with a reboot pending and a canary rule, in a temporary directory.
    struct Node {
        let dir: String
        var policy: String { dir + "/policy.rcl" }
        var args: [String] { ["--state-dir", dir + "/state", "--boot-id-file", dir + "/boot_id", "--dry-run"] }

        init(appliesTo: String? = nil) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-node-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try "boot-1\n".write(toFile: dir + "/boot_id", atomically: true, encoding: .utf8)
            FileManager.default.createFile(atPath: dir + "/flag", contents: Data())
            try """
                policy "web" {\(appliesTo.map { "\n  applies_to \($0)\n" } ?? "")}
                detector "flag" file "\(dir)/flag"
                lock local { path "\(dir)/lock" }
                reboot command ["/bin/true"]
                rule "canaries soak" { deny when node.labels["tier"] == "canary" }
                """.write(toFile: policy, atomically: true, encoding: .utf8)
        }

        func write(_ name: String, _ text: String) throws -> String {
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            return dir + "/" + name
        }

        func remove() { try? FileManager.default.removeItem(atPath: dir) }
    }

    @Test func aCanaryRuleFiresOnALiveNodeWithALabelOrALabelsFile() throws {
        let node = try Node()
        defer { node.remove() }
        let base = ["run", node.policy, "--once", "--node-name", "web-1"] + node.args
        let plain = try cli.rc(base + ["--labels-file", try node.write("none", "# no labels\n")])
        #expect(plain.status == 0 && plain.stdout.contains("reboot (exit 0)"), "\(plain.stdout)\(plain.stderr)")
        let flagged = try cli.rc(base + ["--label", "tier=canary"])
        #expect(flagged.status == 8 && flagged.stdout.contains("blocked by rule \"canaries soak\""), "\(flagged.stdout)\(flagged.stderr)")
        let file = try node.write("labels", "# written by configuration management\n\nzone = eu-1\ntier=canary\n")
        let fromFile = try cli.rc(base + ["--labels-file", file])
        #expect(fromFile.status == 8 && fromFile.stdout.contains("blocked by rule \"canaries soak\""), "\(fromFile.stdout)\(fromFile.stderr)")
        // --label wins over the file.
        let overridden = try cli.rc(base + ["--labels-file", file, "--label", "tier=web"])
        #expect(overridden.status == 0, "\(overridden.stdout)\(overridden.stderr)")
        // rc status shows the same.
        let status = try cli.rc(["status", node.policy, "--node-name", "web-1", "--label", "tier=canary", "--color", "never"] + node.args.dropLast())
        #expect(status.status == 8 && status.stdout.contains("node.labels[\"tier\"] == \"canary\""), "\(status.stdout)\(status.stderr)")
    }

    @Test func aBadLabelsFileIsALocatedError() throws {
        let node = try Node()
        defer { node.remove() }
        let file = try node.write("labels", "tier=canary\nthis line has no equals sign\n=empty\ntier=again\n")
        let run = try cli.rc(["run", node.policy, "--once", "--node-name", "web-1", "--labels-file", file] + node.args)
        #expect(run.status == 2)
        #expect(run.stderr.contains("\(file):2:1: error[RC4005]: a labels line must be KEY=VALUE"), "\(run.stderr)")
        #expect(run.stderr.contains("\(file):3:1: error[RC4005]: a label needs a key"), "\(run.stderr)")
        #expect(run.stderr.contains("\(file):4:1: error[RC4005]: label \"tier\" is given twice"), "\(run.stderr)")
        let missing = try cli.rc(["status", node.policy, "--node-name", "web-1", "--labels-file", node.dir + "/nope"])
        #expect(missing.status == 2 && missing.stderr.contains("the labels file \(node.dir)/nope: no such file"), "\(missing.stderr)")
        let usage = try cli.rc(["run", node.policy, "--once", "--node-name", "web-1", "--label", "tier"] + node.args)
        #expect(usage.status == 64 && usage.stderr.contains("--label takes KEY=VALUE"), "\(usage.stderr)")
    }

    @Test func aPolicyThatReadsLabelsOnANodeWithoutAnyIsWarnedAbout() throws {
        try #require(!FileManager.default.fileExists(atPath: "/etc/rc/labels"), "this host has a labels file")
        let node = try Node()
        defer { node.remove() }
        let status = try cli.rc(["status", node.policy, "--node-name", "web-1"] + node.args.dropLast())
        #expect(status.stderr.contains("warning: policy \"web\" reads node.labels, but this node has no labels"), "\(status.stderr)")
        let labelled = try cli.rc(["status", node.policy, "--node-name", "web-1", "--label", "tier=web"] + node.args.dropLast())
        #expect(!labelled.stderr.contains("reads node.labels"))
        let daemon = try cli.rc(["run", node.policy, "--once", "--node-name", "web-1"] + node.args)
        #expect(daemon.stderr.contains("reads node.labels, but this node has no labels"), "\(daemon.stderr)")
    }

    @Test func aSingleFileThatDoesNotApplyToTheNodeIsRefused() throws {
        let node = try Node(appliesTo: "node.name matches /^web-[0-9]+$/")
        defer { node.remove() }
        let facts = try node.write("facts.yaml", "node: {name: db-1}\ndetectors: {flag: fired}\n")
        let runs = [
            ["run", node.policy, "--once", "--node-name", "db-1"] + node.args,
            ["status", node.policy, "--node-name", "db-1"] + node.args.dropLast(),
            ["explain", node.policy, "--facts", facts],
        ]
        for arguments in runs {
            let run = try cli.rc(arguments)
            #expect(run.status == 2, "\(arguments[0]): \(run.stdout)\(run.stderr)")
            #expect(
                run.stderr.contains("error: policy \"web\" (\(node.policy)) does not apply to node \"db-1\": its applies_to `node.name matches /^web-[0-9]+$/` is false for it"),
                "\(arguments[0]): \(run.stderr)")
            #expect(run.stderr.contains("help: run as the node it is for (--node-name NAME or RC_NODE_NAME)"))
        }
        #expect(!FileManager.default.fileExists(atPath: node.dir + "/state/rebooting.json"))
        let web = try cli.rc(["run", node.policy, "--once", "--node-name", "web-1", "--label", "tier=web"] + node.args)
        #expect(web.status == 0, "\(web.stdout)\(web.stderr)")
    }

    @Test func anImportedPerNodePolicyRunsAsTheNodeItNames() throws {
        let node = try Node()
        defer { node.remove() }
        let config = try node.write("config.yaml", "node_name: db-1\nreboot_required_detectors:\n  - type: file\n    path: \(node.dir)/flag\n")
        let imported = try cli.rc(["import", config, "-o", node.dir + "/db-1.rcl"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let text = try String(contentsOfFile: node.dir + "/db-1.rcl", encoding: .utf8)
        #expect(text.contains("# node_name: rc runs as node \"db-1\", as clusterrebootd did") && text.contains("node_name  \"db-1\""), "\(text)")
        // No --node-name: the daemon runs as the node the configuration named.
        let run = try cli.rc(["run", node.dir + "/db-1.rcl", "--once"] + node.args)
        #expect(run.status == 0 && run.stdout.split(separator: "\n").last == "db-1: reboot (exit 0): detector \"file:\(node.dir)/flag\" fired", "\(run.stdout)\(run.stderr)")
        // A name given on the command line wins, and the policy does not govern that node.
        let other = try cli.rc(["run", node.dir + "/db-1.rcl", "--once", "--node-name", "web-1"] + node.args)
        #expect(other.status == 2 && other.stderr.contains("does not apply to node \"web-1\""), "\(other.stderr)")
    }
}
