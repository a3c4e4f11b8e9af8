/// Output formats for diagnostics.
public enum DiagnosticFormat: String, Sendable, CaseIterable {
    case text, json, sarif, github
}

/// Renders diagnostics as text for people (rustc style), JSON, SARIF 2.1.0 or GitHub workflow commands.
public struct DiagnosticRenderer: Sendable {
    /// Whether to use ANSI colours (text only).
    public var color: Bool
    /// The tool version, for SARIF.
    public var toolVersion: String
    /// The absolute path of the repository root: SARIF gives file paths relative to it (`uriBaseId` `SRCROOT`).
    public var sourceRoot: String?
    /// Each file's path relative to `sourceRoot` (files not below it keep their path and get no `uriBaseId`).
    public var relativePaths: [String: String]

    /// Creates a renderer.
    public init(color: Bool = false, toolVersion: String = "dev", sourceRoot: String? = nil, relativePaths: [String: String] = [:]) {
        self.color = color
        self.toolVersion = toolVersion
        self.sourceRoot = sourceRoot
        self.relativePaths = relativePaths
    }

    private func paint(_ text: String, _ code: String) -> String {
        color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    private func severityColor(_ severity: Severity) -> String {
        switch severity {
        case .error: "1;31"
        case .warning: "1;33"
        case .note: "1;36"
        }
    }

    // MARK: - Text

    /// One diagnostic as text: `path:line:col: error[CODE]: message`, the source line, an underline, notes and help.
    public func text(_ diagnostic: Diagnostic, in file: SourceFile) -> String {
        let start = file.location(of: diagnostic.span.start)
        var lines: [String] = []
        let head = "\(file.path):\(start.line):\(start.column): "
        let severity = paint("\(diagnostic.severity.rawValue)[\(diagnostic.code.rawValue)]", severityColor(diagnostic.severity))
        lines.append(paint(head, "1") + severity + paint(": " + diagnostic.message, "1"))
        var snippetLines = [file.lineIndex(of: min(diagnostic.span.start, file.bytes.count))]
        for note in diagnostic.notes { if let s = note.span { snippetLines.append(file.lineIndex(of: s.start)) } }
        let gutterWidth = String((snippetLines.max() ?? 0) + 1).count
        let gutter = String(repeating: " ", count: gutterWidth)
        lines.append(paint("\(gutter) |", "1;34"))
        lines.append(contentsOf: snippet(file, diagnostic.span, label: diagnostic.label, marker: "^", color: severityColor(diagnostic.severity), gutterWidth: gutterWidth))
        for note in diagnostic.notes {
            if let span = note.span {
                lines.append(paint("\(gutter) |", "1;34"))
                lines.append(contentsOf: snippet(file, span, label: note.message, marker: "-", color: "1;34", gutterWidth: gutterWidth))
            }
        }
        for note in diagnostic.notes where note.span == nil {
            lines.append(paint("\(gutter) = ", "1;34") + paint("note", "1") + ": " + note.message)
        }
        if let help = diagnostic.help {
            lines.append(paint("\(gutter) = ", "1;34") + paint("help", "1;36") + ": " + help)
        }
        return lines.joined(separator: "\n")
    }

    /// The most bytes of one source line a snippet shows; a longer line is cut around the span, marked with `…`.
    static let maxSnippetBytes = 120
    /// How many bytes before the span a cut line keeps.
    static let snippetContextBytes = 40

    private func snippet(_ file: SourceFile, _ span: Span, label: String?, marker: Character, color: String, gutterWidth: Int) -> [String] {
        let bytes = file.bytes
        let lineIndex = file.lineIndex(of: min(span.start, bytes.count))
        let range = file.lineRange(lineIndex)
        // The part of the line that is shown: all of it, or a window that starts a little before the span.
        var from = range.lowerBound
        var to = range.upperBound
        if to - from > Self.maxSnippetBytes {
            let anchor = max(from, min(span.start, to))
            from = max(from, anchor - Self.snippetContextBytes)
            while from > range.lowerBound, bytes[from] & 0xC0 == 0x80 { from -= 1 }
            to = min(to, from + Self.maxSnippetBytes)
            while to > from, to < range.upperBound, bytes[to] & 0xC0 == 0x80 { to -= 1 }
        }
        let cutBefore = from > range.lowerBound ? "…" : ""
        let cutAfter = to < range.upperBound ? "…" : ""
        let lineBytes = bytes[from..<to]
        let startInLine = max(0, min(span.start, to) - from)
        let endInLine = max(startInLine, min(span.end, to) - from)
        // Display columns: tabs become four spaces, invalid UTF-8 shows as one replacement character.
        func display(_ bytes: ArraySlice<UInt8>) -> String {
            String(decoding: bytes, as: UTF8.self).replacingTabs()
        }
        let shown = cutBefore + display(lineBytes) + cutAfter
        let prefixWidth = cutBefore.count + display(lineBytes.prefix(startInLine)).unicodeScalars.count
        var underlineWidth = display(lineBytes.dropFirst(startInLine).prefix(endInLine - startInLine)).unicodeScalars.count
        if underlineWidth == 0 { underlineWidth = 1 }
        let number = String(lineIndex + 1)
        let numberPad = String(repeating: " ", count: gutterWidth - number.count)
        var underline = String(repeating: " ", count: prefixWidth) + String(repeating: marker, count: underlineWidth)
        if let label { underline += " " + label }
        return [
            paint("\(number)\(numberPad) |", "1;34") + " " + shown,
            paint("\(String(repeating: " ", count: gutterWidth)) |", "1;34") + " " + paint(underline, color),
        ]
    }

    /// All diagnostics of several files as text, separated by blank lines.
    public func text(_ groups: [FileDiagnostics]) -> String {
        groups.flatMap { group in group.diagnostics.map { text($0, in: group.file) } }.joined(separator: "\n\n")
    }

    // MARK: - JSON

    private func location(_ d: Diagnostic, _ file: SourceFile) -> (SourceLocation, SourceLocation) {
        let start = file.location(of: d.span.start)
        let end = file.location(of: max(d.span.end, d.span.start))
        return (start, end)
    }

    /// An array of `{file, line, column, endLine, endColumn, severity, code, name, message, label, help, fix, notes}`;
    /// `name` is the lint's name (null for other codes), each note `{message, file, line, column, endLine,
    /// endColumn}` with the location null when the note points nowhere.
    public func json(_ groups: [FileDiagnostics]) -> String {
        var items: [JSON] = []
        for group in groups {
            for d in group.diagnostics {
                let (start, end) = location(d, group.file)
                let notes: [JSON] = d.notes.map { note in
                    var fields: [(String, JSON)] = [("message", .string(note.message))]
                    if let span = note.span {
                        let s = group.file.location(of: span.start)
                        let e = group.file.location(of: max(span.end, span.start))
                        fields += [
                            ("file", .string(group.file.path)), ("line", .int(Int64(s.line))), ("column", .int(Int64(s.column))),
                            ("endLine", .int(Int64(e.line))), ("endColumn", .int(Int64(e.column))),
                        ]
                    } else {
                        fields += [("file", .null), ("line", .null), ("column", .null), ("endLine", .null), ("endColumn", .null)]
                    }
                    return .object(fields)
                }
                items.append(
                    .object([
                        ("file", .string(group.file.path)),
                        ("line", .int(Int64(start.line))),
                        ("column", .int(Int64(start.column))),
                        ("endLine", .int(Int64(end.line))),
                        ("endColumn", .int(Int64(end.column))),
                        ("severity", .string(d.severity.rawValue)),
                        ("code", .string(d.code.rawValue)),
                        ("name", d.code.lintName.map(JSON.string) ?? .null),
                        ("message", .string(d.message)),
                        ("label", d.label.map(JSON.string) ?? .null),
                        ("help", .optional(d.help)),
                        ("fix", d.fix.map { JSON.string($0.description) } ?? .null),
                        ("notes", .array(notes)),
                    ]))
            }
        }
        return JSON.array(items).serialized(indent: 2)
    }

    // MARK: - SARIF

    /// A SARIF 2.1.0 log with one run.
    public func sarif(_ groups: [FileDiagnostics]) -> String {
        let codes = DiagnosticCode.allCases
        let rules: [JSON] = codes.map { code in
            .object([
                ("id", .string(code.rawValue)),
                ("shortDescription", .object([("text", .string(code.title))])),
                ("name", .string(code.lintName ?? code.rawValue)),
                ("help", .object([("text", .string("See \(code.rawValue) in docs/\(code.lintName == nil ? "diagnostics" : "lint").md for a bad example and its fix."))])),
                ("defaultConfiguration", .object([("level", .string(sarifLevel(code.defaultSeverity)))])),
            ])
        }
        var results: [JSON] = []
        for group in groups {
            for d in group.diagnostics {
                let (start, end) = location(d, group.file)
                var text = d.message
                if let help = d.help { text += "\nhelp: " + help }
                var result: [(String, JSON)] = [
                    ("ruleId", .string(d.code.rawValue)),
                    ("ruleIndex", .int(Int64(codes.firstIndex(of: d.code) ?? 0))),
                    ("level", .string(sarifLevel(d.severity))),
                    ("message", .object([("text", .string(text))])),
                    ("locations", .array([physicalLocation(group.file, start, end)])),
                ]
                let related = d.notes.compactMap { note -> JSON? in
                    guard let span = note.span else { return nil }
                    let s = group.file.location(of: span.start)
                    let e = group.file.location(of: span.end)
                    guard case .object(var fields) = physicalLocation(group.file, s, e) else { return nil }
                    fields.append(("message", .object([("text", .string(note.message))])))
                    return .object(fields)
                }
                if !related.isEmpty { result.append(("relatedLocations", .array(related))) }
                results.append(.object(result))
            }
        }
        let log = JSON.object([
            ("$schema", .string("https://json.schemastore.org/sarif-2.1.0.json")),
            ("version", .string("2.1.0")),
            ("runs", .array([
                .object([
                    ("tool", .object([("driver", .object([
                        ("name", .string("rc")),
                        ("version", .string(toolVersion)),
                        ("rules", .array(rules)),
                    ]))])),
                    ("columnKind", .string("unicodeCodePoints")),
                    ("originalUriBaseIds", .object(sourceRoot.map { [("SRCROOT", .object([("uri", .string(rootURI($0)))]))] } ?? [])),
                    ("results", .array(results)),
                ])
            ])),
        ])
        return log.serialized(indent: 2)
    }

    /// The file relative to the source root, with `uriBaseId` `SRCROOT`; without a root, the path as given.
    private func artifactLocation(_ path: String) -> [(String, JSON)] {
        guard sourceRoot != nil, let relative = relativePaths[path] else { return [("uri", .string(path.sarifURI()))] }
        return [("uri", .string(relative.sarifURI())), ("uriBaseId", .string("SRCROOT"))]
    }

    private func rootURI(_ root: String) -> String {
        "file://" + (root.hasSuffix("/") ? root : root + "/").sarifURI()
    }

    private func sarifLevel(_ severity: Severity) -> String {
        switch severity {
        case .error: "error"
        case .warning: "warning"
        case .note: "note"
        }
    }

    private func physicalLocation(_ file: SourceFile, _ start: SourceLocation, _ end: SourceLocation) -> JSON {
        .object([
            ("physicalLocation", .object([
                ("artifactLocation", .object(artifactLocation(file.path))),
                ("region", .object([
                    ("startLine", .int(Int64(start.line))),
                    ("startColumn", .int(Int64(start.column))),
                    ("endLine", .int(Int64(end.line))),
                    ("endColumn", .int(Int64(max(end.column, end.line == start.line ? start.column + 1 : 1)))),
                ])),
            ]))
        ])
    }

    // MARK: - GitHub

    /// GitHub Actions workflow commands: `::error file=…,line=…,col=…::message`.
    public func github(_ groups: [FileDiagnostics]) -> String {
        var lines: [String] = []
        for group in groups {
            for d in group.diagnostics {
                let (start, end) = location(d, group.file)
                let command = d.severity == .error ? "error" : d.severity == .warning ? "warning" : "notice"
                var message = d.message
                if let help = d.help { message += "\nhelp: " + help }
                let properties = [
                    "file=\(escapeProperty(group.file.path))", "line=\(start.line)", "col=\(start.column)", "endLine=\(end.line)",
                    "endColumn=\(end.column)", "title=\(escapeProperty(d.code.rawValue))",
                ]
                lines.append("::\(command) \(properties.joined(separator: ","))::\(escapeData(message))")
            }
        }
        return lines.joined(separator: "\n")
    }

    private func escapeData(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "%": out += "%25"
            case "\r": out += "%0D"
            case "\n": out += "%0A"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    private func escapeProperty(_ s: String) -> String {
        var out = ""
        for c in escapeData(s).unicodeScalars {
            switch c {
            case ":": out += "%3A"
            case ",": out += "%2C"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Renders in the given format.
    public func render(_ groups: [FileDiagnostics], as format: DiagnosticFormat) -> String {
        switch format {
        case .text: text(groups)
        case .json: json(groups)
        case .sarif: sarif(groups)
        case .github: github(groups)
        }
    }
}

extension String {
    func replacingTabs() -> String {
        var out = ""
        for c in unicodeScalars {
            if c == "\t" { out += "    " } else { out.unicodeScalars.append(c) }
        }
        return out
    }

    /// A relative path as a SARIF URI reference (spaces and `%` percent-encoded).
    func sarifURI() -> String {
        var out = ""
        for c in unicodeScalars {
            switch c {
            case " ": out += "%20"
            case "%": out += "%25"
            case "#": out += "%23"
            case "?": out += "%3F"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
