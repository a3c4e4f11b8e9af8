import Evaluator
import Foundation
import PolicyLang

/// `.rc-lint.yaml` at a repository's root:
///
/// ```yaml
/// rules:
///   never-eligible: error      # a lint by name or code: error, warning, info or off
///   RC3014: off
/// ignore:
///   - vendor/**                # globs relative to the root; a directory stands for everything below it
/// ```
public enum LintConfigurationFile {
    /// The file's name.
    public static let name = ".rc-lint.yaml"

    /// The located problems that make a configuration unusable.
    public struct Invalid: Error, Sendable {
        public var diagnostics: [Diagnostic]
    }

    /// The configuration in a file, or the located problems that make it unusable.
    public static func parse(_ file: SourceFile) -> Result<LintConfiguration, Invalid> {
        var reader = YAMLReader(file: file, unknownFieldLabel: "not a field of \(name)")
        guard let root = reader.compose(emptyMessage: "\(name) is empty", emptyHelp: "give `rules:` or `ignore:`, or delete the file") else {
            return .failure(Invalid(diagnostics: reader.diagnostics))
        }
        var configuration = LintConfiguration()
        var problems: [Diagnostic] = []
        if let fields = reader.mapping(root, allowed: ["rules", "ignore"], context: name) {
            if let rules = fields["rules"] {
                for (key, keyNode, value) in reader.entries(rules, allowed: nil, context: "`rules`") ?? [] {
                    guard let code = DiagnosticCode(lint: key) else {
                        let names = DiagnosticCode.lints.compactMap(\.lintName)
                        problems.append(
                            Diagnostic(
                                .lintConfiguration, "`\(key)` is not a lint", at: reader.span(keyNode), label: "unknown lint",
                                help: closestMatch(key, in: names).map { "did you mean `\($0)`?" } ?? "the lints are listed in docs/lint.md"))
                        continue
                    }
                    guard case .scalar(let scalar) = value, let level = LintLevel(rawValue: value.bool == false ? "off" : scalar.string) else {
                        problems.append(
                            Diagnostic(
                                .lintConfiguration, "the level of `\(key)` must be error, warning, info or off", at: reader.span(value),
                                label: "not a level"))
                        continue
                    }
                    configuration.levels[code] = level
                }
            }
            if let ignore = fields["ignore"], let patterns = reader.stringList(ignore, "ignore") {
                configuration.ignore = patterns
            }
        }
        problems = reader.diagnostics + problems
        return problems.isEmpty ? .success(configuration) : .failure(Invalid(diagnostics: problems))
    }

    /// The repository root for `path`: the nearest directory at or above it that holds `.rc-lint.yaml` or `.git`;
    /// the current directory when there is none.
    public static func root(for path: String) -> String {
        let fm = FileManager.default
        var url = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        if !fm.fileExists(atPath: url.path, isDirectory: &isDirectory) || !isDirectory.boolValue { url.deleteLastPathComponent() }
        while true {
            if fm.fileExists(atPath: url.appendingPathComponent(name).path) || fm.fileExists(atPath: url.appendingPathComponent(".git").path) {
                return url.path
            }
            let parent = url.deletingLastPathComponent()
            if parent.path == url.path { return fm.currentDirectoryPath }
            url = parent
        }
    }

    /// `path` relative to `root` when it lies below it, else as given.
    public static func relative(_ path: String, to root: String) -> String {
        let full = URL(fileURLWithPath: path).standardizedFileURL.path
        let base = root.hasSuffix("/") ? root : root + "/"
        return full.hasPrefix(base) ? String(full.dropFirst(base.count)) : path
    }
}
