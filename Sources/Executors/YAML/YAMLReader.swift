import PolicyLang
import Yams

/// Reads a YAML (or JSON) document for inputs that report located diagnostics: `rc import` configurations and
/// facts files. Every problem is a `Diagnostic` at the line and column of the offending node.
struct YAMLReader {
    let file: SourceFile
    var diagnostics: [Diagnostic] = []
    /// The label under an unknown field, e.g. "not a clusterrebootd field".
    let unknownFieldLabel: String

    init(file: SourceFile, unknownFieldLabel: String) {
        self.file = file
        self.unknownFieldLabel = unknownFieldLabel
    }

    /// Parses the file; `nil` (with a diagnostic) when it is not YAML or is empty.
    mutating func compose(emptyMessage: String, emptyHelp: String) -> Node? {
        let text = String(decoding: file.bytes, as: UTF8.self)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            let mark: Mark? =
                switch error {
                case .scanner(_, _, let m, _), .parser(_, _, let m, _), .composer(_, _, let m, _): m
                default: nil
                }
            let offset = mark.map { file.offset(line: $0.line, column: $0.column) } ?? 0
            diagnostics.append(Diagnostic(.importSyntax, "invalid YAML: \(YAMLReader.problem(error))", at: Span(offset, offset + 1), label: "here"))
            return nil
        } catch {
            diagnostics.append(Diagnostic(.importSyntax, "invalid YAML: \(error)", at: .at(0), label: "here"))
            return nil
        }
        guard let root else {
            diagnostics.append(Diagnostic(.importMissingField, emptyMessage, at: .at(0), label: "no fields", help: emptyHelp))
            return nil
        }
        return root
    }

    private static func problem(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        case .reader(let problem, _, _, _): problem
        default: "\(error)"
        }
    }

    /// The span of a node: a scalar's text, or the rest of the line where a collection starts.
    func span(_ node: Node) -> Span {
        guard let mark = node.mark else { return .at(0) }
        let start = file.offset(line: mark.line, column: mark.column)
        var end = start
        if case .scalar(let s) = node {
            end = min(file.lineRange(file.lineIndex(of: start)).upperBound, start + max(1, s.string.utf8.count + (s.style == .plain ? 0 : 2)))
        } else {
            end = file.lineRange(file.lineIndex(of: start)).upperBound
        }
        return Span(start, max(end, start + 1))
    }

    mutating func invalid(_ node: Node, _ message: String, help: String? = nil) {
        diagnostics.append(Diagnostic(.importInvalidValue, message, at: span(node), label: "invalid value", help: help))
    }

    mutating func string(_ node: Node?, _ field: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let s) = node, node.tag.description != "tag:yaml.org,2002:null" else {
            invalid(node, "`\(field)` must be a string")
            return nil
        }
        return s.string
    }

    mutating func bool(_ node: Node?, _ field: String) -> Bool? {
        guard let node else { return nil }
        if let b = node.bool { return b }
        invalid(node, "`\(field)` must be true or false")
        return nil
    }

    mutating func int(_ node: Node?, _ field: String, min lower: Int = 0) -> Int? {
        guard let node else { return nil }
        guard let i = node.int else {
            invalid(node, "`\(field)` must be a whole number")
            return nil
        }
        if i < lower {
            invalid(node, "`\(field)` must be at least \(lower)")
            return nil
        }
        return i
    }

    mutating func stringList(_ node: Node?, _ field: String) -> [String]? {
        guard let node else { return nil }
        guard case .sequence(let seq) = node else {
            invalid(node, "`\(field)` must be a list of strings")
            return nil
        }
        var out: [String] = []
        for item in seq {
            guard let s = string(item, field) else { return nil }
            out.append(s)
        }
        return out
    }

    /// The fields of a mapping, reporting unknown and duplicate keys. `allowed: nil` accepts any key.
    mutating func mapping(_ node: Node, allowed: [String]?, context: String) -> [String: Node]? {
        entries(node, allowed: allowed, context: context).map { Dictionary($0.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }) }
    }

    /// The fields of a mapping in order, with their key nodes.
    mutating func entries(_ node: Node, allowed: [String]?, context: String) -> [(name: String, key: Node, value: Node)]? {
        guard case .mapping(let m) = node else {
            invalid(node, "\(context) must be a mapping of fields")
            return nil
        }
        var out: [(name: String, key: Node, value: Node)] = []
        for (key, value) in m {
            let name = key.string ?? ""
            if let allowed, !allowed.contains(name) {
                diagnostics.append(
                    Diagnostic(
                        .importUnknownField, "unknown field `\(name)` in \(context)", at: span(key), label: unknownFieldLabel,
                        help: closestMatch(name, in: allowed).map { "did you mean `\($0)`?" }))
                continue
            }
            if out.contains(where: { $0.name == name }) {
                diagnostics.append(Diagnostic(.importInvalidValue, "field `\(name)` is given twice", at: span(key), label: "duplicate"))
                continue
            }
            out.append((name, key, value))
        }
        return out
    }
}
