/// How serious a diagnostic is.
public enum Severity: String, Sendable, Comparable, CaseIterable {
    case note
    case warning
    case error

    private var rank: Int {
        switch self {
        case .note: 0
        case .warning: 1
        case .error: 2
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// A secondary message, optionally pointing at another place in the same file.
public struct DiagnosticNote: Sendable, Hashable {
    /// The text of the note.
    public var message: String
    /// Where the note points, if anywhere.
    public var span: Span?

    /// Creates a note.
    public init(_ message: String, span: Span? = nil) {
        self.message = message
        self.span = span
    }
}

/// One finding about a source file: an error, a warning or a note.
///
/// `message` is the terse summary, `label` is printed under the exact `span`, `notes` add context
/// (possibly located elsewhere) and `help` says how to fix it.
public struct Diagnostic: Sendable, Hashable {
    /// The stable code, e.g. `RC2001`.
    public var code: DiagnosticCode
    /// Severity; defaults to the code's severity.
    public var severity: Severity
    /// The summary line.
    public var message: String
    /// The exact place the diagnostic is about.
    public var span: Span
    /// Text printed under the underline.
    public var label: String?
    /// Additional notes.
    public var notes: [DiagnosticNote]
    /// How to fix it.
    public var help: String?

    /// Creates a diagnostic.
    public init(
        _ code: DiagnosticCode, _ message: String, at span: Span, label: String? = nil,
        notes: [DiagnosticNote] = [], help: String? = nil, severity: Severity? = nil
    ) {
        self.code = code
        self.severity = severity ?? code.defaultSeverity
        self.message = message
        self.span = span
        self.label = label
        self.notes = notes
        self.help = help
    }
}

/// A list of diagnostics collected while working on one file.
public struct DiagnosticBag: Sendable {
    /// The diagnostics in the order they were found.
    public private(set) var items: [Diagnostic] = []

    /// Creates an empty bag.
    public init() {}

    /// Adds a diagnostic.
    public mutating func add(_ diagnostic: Diagnostic) { items.append(diagnostic) }

    /// Adds several diagnostics.
    public mutating func add(contentsOf diagnostics: [Diagnostic]) { items.append(contentsOf: diagnostics) }

    /// Whether any diagnostic is an error.
    public var hasErrors: Bool { items.contains { $0.severity == .error } }
}

/// Diagnostics for one file, ready to render.
public struct FileDiagnostics: Sendable {
    /// The file the diagnostics are about.
    public var file: SourceFile
    /// The diagnostics, sorted by position.
    public var diagnostics: [Diagnostic]

    /// Creates a group, sorting the diagnostics by position.
    public init(file: SourceFile, diagnostics: [Diagnostic]) {
        self.file = file
        self.diagnostics = diagnostics.sorted { ($0.span.start, $0.span.end) < ($1.span.start, $1.span.end) }
    }
}
