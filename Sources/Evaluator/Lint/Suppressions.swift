import PolicyLang

/// `# rc:ignore RC3xxx[,RC3yyy] reason` comments. One on its own line covers the next line that is not a comment;
/// one after code covers its own line. It suppresses the lints it names (by code or name) that start on that line.
/// A suppression without a reason still suppresses, and is itself a finding (`RC3019`); one that suppresses nothing,
/// or names something that is not a lint, is a finding too (`RC3020`): errors are never suppressed.
public struct Suppressions: Sendable {
    struct Entry {
        var comment: Comment
        var codes: [DiagnosticCode]
        var unknown: [String]
        var reason: String
        /// The 0-based line it covers.
        var line: Int
    }

    let file: SourceFile
    var entries: [Entry] = []

    /// The marker that starts a suppression inside a comment.
    public static let marker = "rc:ignore"

    /// Reads the suppressions of a parsed file.
    public init(_ tree: SyntaxTree) {
        file = tree.file
        let commentLines = Set(tree.comments.filter(\.ownLine).map { tree.file.lineIndex(of: $0.span.start) })
        for comment in tree.comments {
            var body = Substring(comment.text.drop { $0 == "#" })
            body = body.drop { $0 == " " || $0 == "\t" }
            guard body.hasPrefix(Suppressions.marker) else { continue }
            body = body.dropFirst(Suppressions.marker.count)
            var codes: [DiagnosticCode] = []
            var unknown: [String] = []
            var words = body.split(separator: " ", omittingEmptySubsequences: true)[...]
            // The first word lists the lints, separated by commas.
            if let first = words.first {
                for item in first.split(separator: ",") {
                    if let code = DiagnosticCode(lint: String(item)) { codes.append(code) } else { unknown.append(String(item)) }
                }
                words = words.dropFirst()
            }
            var line = tree.file.lineIndex(of: comment.span.start)
            if comment.ownLine {
                line += 1
                while line < tree.file.lineCount, commentLines.contains(line) || tree.file.lineText(line).allSatisfy({ $0 == " " || $0 == "\t" }) {
                    line += 1
                }
            }
            entries.append(Entry(comment: comment, codes: codes, unknown: unknown, reason: words.joined(separator: " "), line: line))
        }
    }

    /// The findings left after suppression, and the findings about the suppressions themselves. `linted`: whether
    /// the lints ran (a file with errors is not linted, so its suppressions are not called unused).
    public func apply(_ diagnostics: [Diagnostic], linted: Bool = true) -> [Diagnostic] {
        var used = Array(repeating: false, count: entries.count)
        var kept: [Diagnostic] = []
        for d in diagnostics {
            let line = file.lineIndex(of: d.span.start)
            if d.code.lintName != nil,
                let index = entries.indices.first(where: { entries[$0].line == line && entries[$0].codes.contains(d.code) })
            {
                used[index] = true
                continue
            }
            kept.append(d)
        }
        for (entry, wasUsed) in zip(entries, used) {
            let span = entry.comment.span
            if entry.codes.isEmpty && entry.unknown.isEmpty {
                kept.append(
                    Diagnostic(
                        .unusedSuppression, "`rc:ignore` names no lint", at: span, label: "suppresses nothing",
                        help: "write the lint and why, e.g. `# rc:ignore RC3014 the fleet is stopped with the etcd key`"))
                continue
            }
            for name in entry.unknown {
                let isCode = DiagnosticCode(rawValue: name.uppercased()) != nil
                kept.append(
                    Diagnostic(
                        .unusedSuppression,
                        isCode ? "\(name.uppercased()) is not a lint and cannot be suppressed" : "`\(name)` is not a lint",
                        at: span, label: "suppresses nothing",
                        help: isCode ? "fix the error instead" : "name a lint by its code or name (docs/lint.md)"))
            }
            if !entry.codes.isEmpty, !wasUsed, linted {
                kept.append(
                    Diagnostic(
                        .unusedSuppression,
                        "`rc:ignore \(entry.codes.map(\.rawValue).joined(separator: ","))` suppresses nothing on line \(entry.line + 1)",
                        at: span, label: "no such finding there", help: "delete the comment"))
            }
            if !entry.codes.isEmpty, entry.reason.isEmpty {
                kept.append(
                    Diagnostic(
                        .suppressionWithoutReason, "`rc:ignore` without a reason", at: span, label: "say why the finding does not apply",
                        help: "write the reason after the codes: `# rc:ignore \(entry.codes[0].rawValue) <why>`"))
            }
        }
        return kept
    }
}

/// The level of a lint, set in `.rc-lint.yaml`.
public enum LintLevel: String, Sendable, CaseIterable {
    case error, warning, info, off

    /// The severity findings get, `nil` for `off`.
    public var severity: Severity? {
        switch self {
        case .error: .error
        case .warning: .warning
        case .info: .note
        case .off: nil
        }
    }
}

/// What `.rc-lint.yaml` says: a level per lint, and paths that are not checked.
public struct LintConfiguration: Sendable {
    /// Levels that differ from the lints' defaults.
    public var levels: [DiagnosticCode: LintLevel] = [:]
    /// Glob patterns relative to the repository root (`*`, `?`, `**` for any number of directories).
    public var ignore: [String] = []

    public init(levels: [DiagnosticCode: LintLevel] = [:], ignore: [String] = []) {
        self.levels = levels
        self.ignore = ignore
    }

    /// The diagnostic at its configured level, or `nil` when its lint is off. Other diagnostics pass unchanged.
    public func apply(_ d: Diagnostic) -> Diagnostic? {
        guard d.code.lintName != nil, let level = levels[d.code] else { return d }
        guard let severity = level.severity else { return nil }
        var out = d
        out.severity = severity
        return out
    }

    /// Whether a path relative to the repository root is ignored.
    public func ignores(_ relativePath: String) -> Bool {
        ignore.contains { Glob.matches($0, relativePath) }
    }
}

/// Shell-style patterns on `/`-separated paths: `*` and `?` within a segment, `**` across segments; a pattern that
/// names a directory matches everything below it.
enum Glob {
    static func matches(_ pattern: String, _ path: String) -> Bool {
        let p = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let s = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        return match(p[...], s[...], prefix: true)
    }

    /// `prefix`: the pattern may match a leading directory of the path.
    private static func match(_ p: ArraySlice<String>, _ s: ArraySlice<String>, prefix: Bool) -> Bool {
        guard let head = p.first else { return s.isEmpty || prefix }
        if head == "**" {
            var rest = s
            while true {
                if match(p.dropFirst(), rest, prefix: prefix) { return true }
                guard !rest.isEmpty else { return false }
                rest = rest.dropFirst()
            }
        }
        guard let first = s.first, segment(Array(head.utf8)[...], Array(first.utf8)[...]) else { return false }
        return match(p.dropFirst(), s.dropFirst(), prefix: prefix)
    }

    private static func segment(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        guard let c = p.first else { return s.isEmpty }
        switch c {
        case UInt8(ascii: "*"):
            var rest = s
            while true {
                if segment(p.dropFirst(), rest) { return true }
                guard !rest.isEmpty else { return false }
                rest = rest.dropFirst()
            }
        case UInt8(ascii: "?"):
            return !s.isEmpty && segment(p.dropFirst(), s.dropFirst())
        default:
            return s.first == c && segment(p.dropFirst(), s.dropFirst())
        }
    }
}

/// Everything `rc check` reports about a set of policy files: syntax and type errors, lints (per file and across
/// the files of a directory), with suppressions and the configuration applied.
public enum PolicyAnalysis {
    /// The findings of each file that has any, in the order of `files`.
    /// `now` (epoch milliseconds) is the instant one-off windows are held against (RC3050); `nil` skips that check.
    public static func analyze(_ files: [SourceFile], configuration: LintConfiguration = LintConfiguration(), now: Int64? = nil) -> [FileDiagnostics] {
        var perFile: [[Diagnostic]] = []
        var checked: [(CheckedPolicy, SyntaxTree)] = []
        var trees: [SyntaxTree] = []
        var linted: [Bool] = []
        for file in files {
            let result = Checker.check(file, now: now)
            var diagnostics = result.diagnostics
            if let policy = result.policy { diagnostics += Linter.lint(policy, tree: result.tree, now: now) }
            if let policy = result.policy { checked.append((policy, result.tree)) }
            perFile.append(diagnostics)
            trees.append(result.tree)
            linted.append(result.policy != nil)
        }
        let index = Dictionary(files.enumerated().map { ($0.element.path, $0.offset) }, uniquingKeysWith: { a, _ in a })
        for finding in Linter.lintDirectory(checked) {
            if let i = index[finding.file.path] { perFile[i].append(finding.diagnostic) }
        }
        var groups: [FileDiagnostics] = []
        for (i, file) in files.enumerated() {
            let suppressed = Suppressions(trees[i]).apply(perFile[i], linted: linted[i])
            let configured = suppressed.compactMap(configuration.apply)
            if !configured.isEmpty { groups.append(FileDiagnostics(file: file, diagnostics: configured)) }
        }
        return groups
    }
}
