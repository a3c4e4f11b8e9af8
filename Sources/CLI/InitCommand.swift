import ArgumentParser
import Evaluator
import Executors
import Foundation
import PolicyLang

/// `rc init`: a starting policy with tests, clean under every lint.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a starting policy with tests.",
        discussion: """
            Writes a policy for one operating system's reboot flag: nightly weekday window, a health gate \
            (`systemctl is-system-running`), a kill switch, and tests that cover every window and rule. Without \
            --etcd it keeps a local lock (one host); with --etcd it shares a one-slot lock on etcd with TLS (edit \
            the certificate paths), checks health under the lock too and keeps three quarters of the fleet up. \
            The policy passes `rc check --fail-level info`, `rc fmt --check` and `rc test --min-coverage 100`. \
            docs/authoring.md goes on from there.

            Exit status: 0 written, 1 the file exists (give --force), 64 usage error.
            """
    )

    enum OS: String, ExpressibleByArgument, CaseIterable {
        case debian, rhel, suse
    }

    @Option(help: "The operating system whose reboot flag the policy watches: debian, rhel or suse.")
    var os: OS = .debian

    @Option(help: ArgumentHelp("Share the lock on this etcd endpoint (https://host:2379).", valueName: "endpoint"))
    var etcd: String?

    @Option(name: .shortAndLong, help: "Write the policy here (default: standard output).")
    var output: String?

    @Flag(help: "Replace the output file when it exists.")
    var force = false

    func validate() throws {
        if let etcd {
            guard let url = URL(string: etcd), url.scheme == "https", url.host != nil else {
                throw ValidationError("--etcd takes an https:// endpoint, e.g. https://etcd-1.example:2379: rc keeps its lock over TLS")
            }
        }
    }

    func run() throws {
        // Written through the formatter, so the file is already as `rc fmt` would leave it.
        let text = Formatter.format(Parser.parse(SourceFile(path: "init.rcl", text: InitTemplate(os: os, etcd: etcd).text)))
        guard let output else {
            print(text, terminator: "")
            return
        }
        if FileManager.default.fileExists(atPath: output), !force {
            printError("error: \(output) exists; give --force to replace it")
            throw ExitCode(ExitStatus.runtimeError)
        }
        do {
            try AtomicFile.write(text, to: output)
        } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.runtimeError)
        }
        printError("wrote \(output): check it with `rc check \(output)` and `rc test \(output)`")
    }
}

/// The policy `rc init` writes.
struct InitTemplate {
    var os: InitCommand.OS
    var etcd: String?

    var detector: (name: String, line: String) {
        switch os {
        case .debian: ("apt", "detector \"apt\" debian  # /var/run/reboot-required")
        case .rhel: ("needs-restarting", "detector \"needs-restarting\" rhel { timeout 60s }  # needs-restarting -r")
        case .suse: ("zypper", "detector \"zypper\" suse  # /run/reboot-needed, zypper needs-rebooting")
        }
    }

    var text: String {
        let d = detector
        var lines: [String] = [
            "# A starting policy written by `rc init`. docs/authoring.md explains each part.",
            "policy \"\(os.rawValue)\" {",
            "  description \"\(os.rawValue) hosts: reboot at night when the package manager asks\"",
            "}",
            "",
            d.line,
            "",
            "timezone \"UTC\"",
            "window allow \"weeknights\" Mon..Fri 01:00 .. 05:00",
            "",
            "# Exits 0 only when every unit is up (\"running\", not \"degraded\").",
            "health \"services\" script [\"/usr/bin/systemctl\", \"is-system-running\"] {",
            "  timeout 30s",
            "  run     \(etcd == nil ? "pre_lock, post_boot" : "pre_lock, post_lock, post_boot")",
            "}",
            "",
        ]
        if let etcd {
            lines += [
                "lock etcd {",
                "  endpoints [\(quoteString(etcd))]",
                "  tls { ca \"/etc/rc/etcd-ca.crt\"  cert \"/etc/rc/node.crt\"  key \"/etc/rc/node.key\" }",
                "  ttl   120s",
                "  slots 1",
                "}",
                "",
                "kill_switch file \"/etc/rc/disable\"",
                "kill_switch etcd",
                "",
                "rule \"keep most of the fleet up\" { deny when cluster.healthy < 75% of cluster.size }",
            ]
        } else {
            lines += ["lock local", "kill_switch file \"/etc/rc/disable\""]
        }
        let fleet = etcd == nil ? "" : "\n    cluster.size 4\n    cluster.healthy 4"
        lines += [
            "",
            "test \"reboots on a weeknight\" {",
            "  given {",
            "    now 2026-11-24T02:00:00Z",
            "    detector \"\(d.name)\" fired\(fleet)",
            "  }",
            "  expect reboot",
            "}",
            "",
            "test \"waits for the night\" {",
            "  given { now 2026-11-24T14:00:00Z  detector \"\(d.name)\" fired }",
            "  expect blocked by window \"weeknights\"",
            "}",
            "",
            "test \"a degraded host waits\" {",
            "  given {",
            "    now 2026-11-24T02:00:00Z",
            "    detector \"\(d.name)\" fired",
            "    health \"services\" fails \"degraded\"",
            "  }",
            "  expect blocked by health \"services\"",
            "}",
            "",
            "test \"nothing to do\" {",
            "  given { detector \"\(d.name)\" clear }",
            "  expect no_reboot",
            "}",
        ]
        if etcd != nil {
            lines += [
                "",
                "test \"most of the fleet stays up\" {",
                "  given {",
                "    now 2026-11-24T02:00:00Z",
                "    detector \"\(d.name)\" fired",
                "    cluster.size 4",
                "    cluster.healthy 2",
                "  }",
                "  expect blocked by rule \"keep most of the fleet up\"",
                "}",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
