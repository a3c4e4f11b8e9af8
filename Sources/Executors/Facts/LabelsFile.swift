import Foundation
import PolicyLang

/// A node's labels file (`/etc/rc/labels` by default, written by configuration management): one `KEY=VALUE` a
/// line, `#` comments and blank lines allowed. Keys are letters, digits and `-_./`, starting with a letter or a
/// digit; a value is the rest of the line, trimmed, in double quotes when it has to keep surrounding spaces.
public struct LabelsFile: Sendable {
    /// Where the daemon reads labels when `--labels-file` is not given.
    public static let defaultPath = "/etc/rc/labels"

    public let file: SourceFile
    public var labels: [String: String] = [:]
    public var diagnostics: [Diagnostic] = []

    /// Parses `file`.
    public init(_ file: SourceFile) {
        self.file = file
        var first: [String: Span] = [:]
        for index in 0..<file.lineCount {
            let range = file.lineRange(index)
            let text = file.lineText(index)
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let lead = text.utf8.count - text.drop { $0 == " " || $0 == "\t" }.utf8.count
            let lineSpan = Span(range.lowerBound + lead, range.lowerBound + text.utf8.count)
            guard let equals = text.firstIndex(of: "=") else {
                diagnostics.append(
                    Diagnostic(.labelsSyntax, "a labels line must be KEY=VALUE", at: lineSpan, label: "no `=` on this line", help: "write `tier=canary`; `#` starts a comment"))
                continue
            }
            let key = text[..<equals].trimmingCharacters(in: .whitespaces)
            let keyStart = range.lowerBound + lead
            let keySpan = Span(keyStart, keyStart + max(1, key.utf8.count))
            guard let head = key.unicodeScalars.first, CharacterSet.alphanumerics.contains(head),
                key.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "-_./".unicodeScalars.contains($0) })
            else {
                diagnostics.append(
                    Diagnostic(
                        .labelsSyntax, key.isEmpty ? "a label needs a key" : "\(quoteString(key)) is not a label key", at: keySpan,
                        label: "keys are letters, digits and `-_./`, starting with a letter or digit", help: "write `tier=canary`"))
                continue
            }
            var value = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            if let earlier = first[key] {
                diagnostics.append(
                    Diagnostic(
                        .labelsSyntax, "label \(quoteString(key)) is given twice", at: keySpan, label: "given again here",
                        notes: [DiagnosticNote("first given here", span: earlier)], help: "keep one of the two lines"))
                continue
            }
            first[key] = keySpan
            labels[key] = value
        }
    }

    /// The labels of the file at `path`: `nil` when it does not exist and `required` is false (the node has no
    /// labels file); a file that exists but cannot be read is an error.
    public static func load(_ path: String, required: Bool) throws(LabelsError) -> LabelsFile? {
        guard FileManager.default.fileExists(atPath: path) else {
            if required { throw .unreadable(path: path, "no such file") }
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path, "cannot be read") }
        return LabelsFile(SourceFile(path: path, bytes: Array(data)))
    }
}

/// A labels file that cannot be read.
public enum LabelsError: Error, Sendable, CustomStringConvertible {
    case unreadable(path: String, String)

    public var description: String {
        switch self {
        case .unreadable(let path, let why): "the labels file \(path): \(why)"
        }
    }
}
