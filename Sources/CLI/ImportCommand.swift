import ArgumentParser
import Evaluator
import Executors
import Foundation
import PolicyLang

/// `rc import`: convert a clusterrebootd configuration.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a clusterrebootd YAML configuration into a policy.",
        discussion: """
            Reads a clusterrebootd configuration as clusterrebootd reads it and writes a formatted policy that passes \
            `rc check` and decides as clusterrebootd did: detectors, health script (and the variables clusterrebootd gave it), \
            etcd lock and TLS, kill switch, reboot command, cluster policies (as rules), windows and metrics, with \
            clusterrebootd's defaults written out where rc's differ. What clusterrebootd refuses is refused, at its line in the \
            YAML (RC4001-RC4004); where the policy has to differ (no etcd endpoints: `lock local`; no health script; a program \
            found through PATH; a relative path) it says so in a warning (RC4006).

            Windows are read in the host's local time zone as clusterrebootd (a Go program) sees it: the TZ environment \
            variable, else /etc/localtime. Run the import on a host of the fleet, or give the fleet's zone with --timezone.

            Exit status: 0 converted (with or without warnings), 2 the configuration is invalid, 64 usage error \
            (an unknown --timezone included).
            """
    )

    @Argument(help: "The clusterrebootd configuration (YAML).")
    var config: String

    @Option(name: .shortAndLong, help: "Write the policy to this file instead of standard output.")
    var output: String?

    @Option(help: ArgumentHelp("Read the windows in this IANA time zone instead of this host's local zone.", valueName: "zone"))
    var timezone: String?

    @Option(help: "Colour diagnostics: auto, always or never.")
    var color: ColorChoice = .auto

    func run() throws {
        if let timezone {
            // The zone must be one rc's `timezone` takes; ask the checker, as the policy will.
            let probe = Checker.check(SourceFile(path: "--timezone", text: "policy \"p\" {}\ntimezone \(quoteString(timezone))\n"))
            if let problem = probe.diagnostics.first(where: { $0.severity == .error }) {
                printError("error: --timezone \(quoteString(timezone)): \(problem.message)" + (problem.help.map { "; \($0)" } ?? ""))
                throw ExitCode(ExitStatus.usage)
            }
        }
        let source = try PolicyFiles.readOrExit(config)
        let environment = ProcessInfo.processInfo.environment
        let zone = timezone.map { Result<ImportTimeZone, ImportProblem>.success(.given($0)) } ?? ImportTimeZone.host(environment: environment)
        let result = ClusterRebootdImporter.convert(source, options: ClusterRebootdImporter.Options(timeZone: zone, environment: environment))
        let renderer = DiagnosticRenderer(color: color.enabled(for: STDERR_FILENO), toolVersion: RCVersion.current)
        if !result.diagnostics.isEmpty {
            printError(renderer.text([FileDiagnostics(file: source, diagnostics: result.diagnostics)]) + "\n")
        }
        guard let policy = result.policy else { throw ExitCode(ExitStatus.invalidPolicy) }
        let generated = SourceFile(path: output ?? "<imported>", text: policy)
        let checked = Checker.check(generated)
        let formatted = Formatter.format(checked.tree)
        if checked.hasErrors {
            printError(renderer.text([FileDiagnostics(file: generated, diagnostics: checked.diagnostics)]))
            printError("error: the imported policy does not check; this is a bug in rc import")
            throw ExitCode(ExitStatus.runtimeError)
        }
        if let output {
            do {
                try AtomicFile.write(formatted, to: output)
            } catch {
                printError("error: \(error)")
                throw ExitCode(ExitStatus.runtimeError)
            }
            printError("wrote \(output)")
        } else {
            FileHandle.standardOutput.write(Data(formatted.utf8))
        }
    }
}
