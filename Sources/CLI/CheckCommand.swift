import ArgumentParser
import Evaluator
import Executors
import Foundation
import PolicyLang

/// The least severe finding that fails `rc check`.
enum FailLevel: String, ExpressibleByArgument, CaseIterable {
    case error, warning, info

    var severity: Severity {
        switch self {
        case .error: .error
        case .warning: .warning
        case .info: .note
        }
    }
}

/// `rc check`: parse, type-check and lint policies.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check policies for errors and lint them.",
        discussion: """
            Parses, type-checks and lints every given policy file; a directory stands for every *.rcl file below it. \
            Findings have stable codes: RC1xxx/RC2xxx errors (docs/diagnostics.md), RC3xxx lints (docs/lint.md), \
            among them policies that can never reboot, windows and rules that never matter, thresholds that never \
            hold, and two policies of one directory that govern the same node.

            Configuration: `.rc-lint.yaml` at the repository root (the nearest directory above the first path with \
            that file or `.git`) sets each lint's level (`rules: {never-eligible: error, RC3014: off}`; levels error, \
            warning, info, off) and paths not checked (`ignore: [vendor/**]`). A comment `# rc:ignore RC3xxx reason` \
            suppresses that lint on its own line (after code) or on the next line; one without a reason, or one that \
            suppresses nothing, is itself a finding.

            --fix applies the safe fixes in place, each file replaced atomically: a day name's spelling, a repeated \
            window, detector or test deleted, and the formatting of `rc fmt`. A file is left as it was when the fixed \
            text would not check cleanly.

            Formats: text (for people), json (an array of {file, line, column, endLine, endColumn, severity, code, \
            name, message, label, help, notes: [{message, file, line, column, endLine, endColumn}]}), sarif (SARIF \
            2.1.0; paths relative to the repository root, uriBaseId SRCROOT) and github (workflow commands that \
            annotate a pull request).

            Exit status: 0 clean, 2 errors (or an invalid .rc-lint.yaml), 1 findings at or above --fail-level \
            (default: error, so only errors fail; --strict is --fail-level warning), 64 usage error.
            """
    )

    @Argument(help: "Policy files or directories (default: the current directory).")
    var paths: [String] = []

    @Option(help: "Output format: text, json, sarif or github.")
    var format: DiagnosticFormat = .text

    @Flag(help: "Fail on warnings too (the same as --fail-level warning).")
    var strict = false

    @Option(name: .customLong("fail-level"), help: "The least severe finding that fails: error, warning or info.")
    var failLevel: FailLevel?

    @Flag(help: "Apply the safe fixes in place, then report what is left.")
    var fix = false

    @Option(help: "The lint configuration (default: .rc-lint.yaml at the repository root).")
    var config: String?

    @Option(help: "Colour the text output: auto, always or never.")
    var color: ColorChoice = .auto

    @Option(help: "The instant a one-off window is held against (RFC 3339; default: now, from the clock).")
    var now: String?

    func validate() throws {
        if strict, let failLevel, failLevel != .warning {
            throw ValidationError("--strict is --fail-level warning; give one of them")
        }
    }

    func run() throws {
        var clock = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        if let now {
            guard case .success(let instant) = Instant.parse(now) else {
                printError("error: --now: invalid instant \(quoteString(now)) (expected RFC 3339, e.g. 2026-12-01T09:00:00+01:00)")
                throw ExitCode(ExitStatus.usage)
            }
            clock = instant.epochMilliseconds
        }
        let inputs = paths.isEmpty ? ["."] : paths
        let root = LintConfigurationFile.root(for: inputs[0])
        let configuration = try loadConfiguration(root: root)
        let files = try PolicyFiles.collectOrExit(inputs).filter {
            !configuration.ignores(LintConfigurationFile.relative($0, to: root))
        }
        if files.isEmpty {
            printError("error: no .rcl files to check in \(inputs.joined(separator: ", "))")
            throw ExitCode(ExitStatus.usage)
        }
        var sources = try files.map { try PolicyFiles.readOrExit($0) }
        if fix { sources = try applyFixes(sources, configuration, now: clock) }
        let groups = PolicyAnalysis.analyze(sources, configuration: configuration, now: clock)
        let all = groups.flatMap(\.diagnostics)
        let errors = all.count { $0.severity == .error }
        let warnings = all.count { $0.severity == .warning }
        let notes = all.count { $0.severity == .note }
        var relative: [String: String] = [:]
        for file in files {
            let r = LintConfigurationFile.relative(file, to: root)
            if !r.hasPrefix("/") { relative[file] = r }
        }
        let renderer = DiagnosticRenderer(
            color: format == .text && color.enabled(for: STDOUT_FILENO), toolVersion: RCVersion.current, sourceRoot: root,
            relativePaths: relative)
        let output = renderer.render(groups, as: format)
        switch format {
        case .text:
            if !output.isEmpty { print(output + "\n") }
            var summary = "checked \(files.count) file\(files.count == 1 ? "" : "s"): \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
            if notes > 0 { summary += ", \(notes) note\(notes == 1 ? "" : "s")" }
            print(summary)
        case .json, .sarif:
            print(output)
        case .github:
            if !output.isEmpty { print(output) }
        }
        if errors > 0 { throw ExitCode(ExitStatus.invalidPolicy) }
        let level = (failLevel ?? (strict ? .warning : .error)).severity
        if all.contains(where: { $0.severity >= level }) { throw ExitCode(ExitStatus.runtimeError) }
    }

    private func loadConfiguration(root: String) throws -> LintConfiguration {
        let path = config ?? (root as NSString).appendingPathComponent(LintConfigurationFile.name)
        guard FileManager.default.fileExists(atPath: path) else {
            if config != nil {
                printError("error: \(path): no such file")
                throw ExitCode(ExitStatus.usage)
            }
            return LintConfiguration()
        }
        let source = try PolicyFiles.readOrExit(path)
        switch LintConfigurationFile.parse(source) {
        case .success(let configuration): return configuration
        case .failure(let invalid):
            let renderer = DiagnosticRenderer(color: color.enabled(for: STDERR_FILENO), toolVersion: RCVersion.current)
            printError(renderer.text([FileDiagnostics(file: source, diagnostics: invalid.diagnostics)]) + "\n")
            printError("error: \(path) is not a valid lint configuration; nothing was checked")
            throw ExitCode(ExitStatus.invalidPolicy)
        }
    }

    /// Applies every safe fix, then formats; a file whose result would have errors it did not have is left alone.
    private func applyFixes(_ sources: [SourceFile], _ configuration: LintConfiguration, now: Int64) throws -> [SourceFile] {
        var out = sources
        for (i, source) in sources.enumerated() {
            var current = source
            var applied: [String] = []
            // Fixes can uncover others (a deleted duplicate leaves a blank line to format): a few rounds at most.
            for _ in 0..<3 {
                let findings = PolicyAnalysis.analyze([current], configuration: configuration, now: now).flatMap(\.diagnostics)
                let fixes = findings.compactMap(\.fix)
                var edits: [TextEdit] = []
                for fix in fixes where !fix.edits.contains(where: { e in edits.contains { $0.span.start < e.span.end && e.span.start < $0.span.end } }) {
                    edits += fix.edits
                    applied.append(fix.description)
                }
                guard !edits.isEmpty, let bytes = TextEdit.apply(edits, to: current.bytes) else { break }
                current = SourceFile(path: source.path, bytes: bytes)
            }
            let tree = Parser.parse(current)
            if !tree.diagnostics.contains(where: { $0.severity == .error }) {
                let formatted = Formatter.format(tree)
                if formatted != String(decoding: current.bytes, as: UTF8.self) {
                    current = SourceFile(path: source.path, text: formatted)
                    applied.append("format")
                }
            }
            guard current.bytes != source.bytes else { continue }
            let before = Checker.check(source, now: now).diagnostics.count { $0.severity == .error }
            let after = Checker.check(current, now: now).diagnostics.count { $0.severity == .error }
            if after > before {
                printError("warning: \(source.path): the fixes would leave \(after) error\(after == 1 ? "" : "s"); the file was not changed")
                continue
            }
            do {
                try AtomicFile.write(current.bytes, to: source.path)
            } catch {
                printError("error: \(error)")
                throw ExitCode(ExitStatus.runtimeError)
            }
            printError("fixed \(source.path): \(applied.joined(separator: "; "))")
            out[i] = current
        }
        return out
    }
}
