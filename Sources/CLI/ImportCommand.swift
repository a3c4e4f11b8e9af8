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
            Reads a clusterrebootd configuration and writes an equivalent, formatted policy that passes `rc check`: \
            detectors, health script, etcd lock and TLS, kill switch, reboot command (${RC_NODE_NAME} becomes ${node.name}), \
            cluster policies (as rules), windows (UTC) and metrics. Without etcd endpoints the policy uses `lock local`. \
            An unknown field or a bad value is reported at its line in the YAML (codes RC4001-RC4004).

            Exit status: 0 converted, 2 the configuration is invalid, 64 usage error.
            """
    )

    @Argument(help: "The clusterrebootd configuration (YAML).")
    var config: String

    @Option(name: .shortAndLong, help: "Write the policy to this file instead of standard output.")
    var output: String?

    @Option(help: "Colour diagnostics: auto, always or never.")
    var color: ColorChoice = .auto

    func run() throws {
        let source = try PolicyFiles.readOrExit(config)
        let result = ClusterRebootdImporter.convert(source)
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
