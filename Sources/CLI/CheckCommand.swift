import ArgumentParser
import Evaluator
import Foundation
import PolicyLang

/// `rc check`: parse, type-check and lint policies.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check policies for errors and warnings.",
        discussion: """
            Parses and type-checks every given policy file; a directory stands for every *.rcl file below it. \
            Diagnostics are printed with stable codes (docs/diagnostics.md).

            Formats: text (for people), json (an array of {file, line, column, endLine, endColumn, severity, code, \
            message, help}), sarif (SARIF 2.1.0, for code scanning) and github (workflow commands that annotate a pull request).

            Exit status: 0 clean, 2 errors, 1 warnings only and --strict, 64 usage error.
            """
    )

    @Argument(help: "Policy files or directories (default: the current directory).")
    var paths: [String] = []

    @Option(help: "Output format: text, json, sarif or github.")
    var format: DiagnosticFormat = .text

    @Flag(help: "Treat warnings as failures (exit 1).")
    var strict = false

    @Option(help: "Colour the text output: auto, always or never.")
    var color: ColorChoice = .auto

    @Option(help: "The instant a one-off window is held against (RFC 3339; default: now, from the clock).")
    var now: String?

    func run() throws {
        var clock = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        if let now {
            guard case .success(let instant) = Instant.parse(now) else {
                printError("error: --now: invalid instant \(quoteString(now)) (expected RFC 3339, e.g. 2026-12-01T09:00:00+01:00)")
                throw ExitCode(ExitStatus.usage)
            }
            clock = instant.epochMilliseconds
        }
        let files = try PolicyFiles.collectOrExit(paths.isEmpty ? ["."] : paths)
        if files.isEmpty {
            printError("error: no .rcl files found in \((paths.isEmpty ? ["."] : paths).joined(separator: ", "))")
            throw ExitCode(ExitStatus.usage)
        }
        var groups: [FileDiagnostics] = []
        var errors = 0
        var warnings = 0
        for path in files {
            let source = try PolicyFiles.readOrExit(path)
            let result = Checker.check(source, now: clock)
            errors += result.diagnostics.filter { $0.severity == .error }.count
            warnings += result.diagnostics.filter { $0.severity == .warning }.count
            if !result.diagnostics.isEmpty { groups.append(FileDiagnostics(file: source, diagnostics: result.diagnostics)) }
        }
        let renderer = DiagnosticRenderer(color: format == .text && color.enabled(for: STDOUT_FILENO), toolVersion: RCVersion.current)
        let output = renderer.render(groups, as: format)
        switch format {
        case .text:
            if !output.isEmpty { print(output + "\n") }
            let summary = "checked \(files.count) file\(files.count == 1 ? "" : "s"): \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
            print(summary)
        case .json, .sarif:
            print(output)
        case .github:
            if !output.isEmpty { print(output) }
        }
        if errors > 0 { throw ExitCode(ExitStatus.invalidPolicy) }
        if strict, warnings > 0 { throw ExitCode(ExitStatus.runtimeError) }
    }
}
