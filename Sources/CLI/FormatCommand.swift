import ArgumentParser
import Evaluator
import Executors
import Foundation
import PolicyLang

/// `rc fmt`: rewrite policies in the canonical layout.
struct FormatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fmt",
        abstract: "Format policies in the canonical layout.",
        discussion: """
            Rewrites each file in place (atomically: the new text is written beside the file and renamed over it). \
            Every comment is kept on the line it annotates, lists and and/or chains over 100 columns are broken one \
            element per line, and formatting a formatted file changes nothing. A file with syntax errors is \
            reported and left untouched. A directory stands for every *.rcl file below it; `-` reads standard input \
            and writes standard output.

            Exit status: 0 done (or, with --check, nothing to change), 1 with --check when a file would change \
            (a diff is shown), 2 a file has syntax errors, 64 usage error.
            """
    )

    @Argument(help: "Policy files or directories, or - for standard input.")
    var paths: [String]

    @Flag(help: "Do not write; show a diff and exit 1 if any file would change.")
    var check = false

    @Flag(help: "Print the formatted text instead of rewriting the files.")
    var stdout = false

    @Option(help: "Colour diagnostics: auto, always or never.")
    var color: ColorChoice = .auto

    func run() throws {
        let files: [String]
        do {
            files = try paths == ["-"] ? ["-"] : PolicyFiles.collect(paths)
        } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.usage)
        }
        let renderer = DiagnosticRenderer(color: color.enabled(for: STDERR_FILENO), toolVersion: RCVersion.current)
        var broken = 0
        var changed: [String] = []
        for path in files {
            let source = try PolicyFiles.readOrExit(path)
            let tree = Parser.parse(source)
            let errors = tree.diagnostics.filter { $0.severity == .error }
            if !errors.isEmpty {
                printError(renderer.text([FileDiagnostics(file: source, diagnostics: errors)]) + "\n")
                printError("error: \(source.path) has syntax errors; it was not formatted")
                broken += 1
                continue
            }
            let formatted = Formatter.format(tree)
            let original = String(decoding: source.bytes, as: UTF8.self)
            if stdout || path == "-" {
                FileHandle.standardOutput.write(Data(formatted.utf8))
                continue
            }
            guard formatted != original else { continue }
            changed.append(path)
            if check {
                print(LineDiff.unified(original, formatted, oldName: "\(path)", newName: "\(path) (formatted)"))
            } else {
                do {
                    try AtomicFile.write(formatted, to: path)
                } catch {
                    printError("error: \(error)")
                    throw ExitCode(ExitStatus.runtimeError)
                }
            }
        }
        if broken > 0 { throw ExitCode(ExitStatus.invalidPolicy) }
        if check, !changed.isEmpty {
            printError("\(changed.count) file\(changed.count == 1 ? "" : "s") would be reformatted: \(changed.joined(separator: ", "))")
            throw ExitCode(ExitStatus.runtimeError)
        }
        if !check, !stdout, !changed.isEmpty {
            printError("formatted \(changed.count) file\(changed.count == 1 ? "" : "s")")
        }
    }
}
