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

/// A replacement of one span of a file's text.
public struct TextEdit: Sendable, Hashable {
    public var span: Span
    public var replacement: String

    public init(_ span: Span, _ replacement: String) {
        self.span = span
        self.replacement = replacement
    }

    /// `text` with the edits applied; `nil` when two edits overlap.
    public static func apply(_ edits: [TextEdit], to bytes: [UInt8]) -> [UInt8]? {
        let sorted = edits.sorted { ($0.span.start, $0.span.end) < ($1.span.start, $1.span.end) }
        var out: [UInt8] = []
        var at = 0
        for edit in sorted {
            guard edit.span.start >= at, edit.span.end <= bytes.count else { return nil }
            out += bytes[at..<edit.span.start]
            out += Array(edit.replacement.utf8)
            at = edit.span.end
        }
        out += bytes[at...]
        return out
    }
}

/// A change that resolves a finding and is safe to apply without review (`rc check --fix`).
public struct Fix: Sendable, Hashable {
    /// What the fix does, e.g. "delete the repeated window".
    public var description: String
    public var edits: [TextEdit]

    public init(_ description: String, _ edits: [TextEdit]) {
        self.description = description
        self.edits = edits
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
    /// A fix `rc check --fix` may apply.
    public var fix: Fix?

    /// Creates a diagnostic.
    public init(
        _ code: DiagnosticCode, _ message: String, at span: Span, label: String? = nil,
        notes: [DiagnosticNote] = [], help: String? = nil, severity: Severity? = nil, fix: Fix? = nil
    ) {
        self.fix = fix
        self.code = code
        self.severity = severity ?? code.defaultSeverity
        self.message = message
        self.span = span
        self.label = label
        self.notes = notes
        self.help = help
    }
}

/// The diagnostics of one file, bounded: the first ``limit`` are kept, the others only counted, so a broken file of
/// any size costs a bounded number of messages (docs/diagnostics.md, RC1018). Errors come before warnings and
/// notes, so that a file with errors always shows some; among the same severity the first in source order win.
public struct DiagnosticBag: Sendable {
    /// How many diagnostics of one file are shown.
    public static let defaultLimit = 100

    /// How many diagnostics are kept.
    public let limit: Int
    /// The kept diagnostics, unsorted; trimmed to `limit + 1` whenever it reaches twice that.
    private var kept: [Diagnostic] = []
    /// Diagnostics added but not kept, by severity.
    private var omitted: [Severity: Int] = [:]
    /// Where the first diagnostic not kept starts.
    private var firstOmitted: Int?
    /// After a trim, the last kept diagnostic's place in ``Diagnostic/byPriority`` order: one that comes after it will
    /// never be kept.
    private var cutoff: (severity: Severity, start: Int, end: Int)?
    /// The largest length of any text of a kept diagnostic (message, label, note, help).
    static let maxTextLength = 400

    /// Whether any diagnostic added was an error.
    public private(set) var hasErrors = false

    /// Creates an empty bag keeping the first `limit` diagnostics.
    public init(limit: Int = DiagnosticBag.defaultLimit) {
        self.limit = max(1, limit)
    }

    /// Adds a diagnostic.
    public mutating func add(_ diagnostic: Diagnostic) {
        if diagnostic.severity == .error { hasErrors = true }
        kept.append(diagnostic)
        if kept.count >= 2 * (limit + 1) { trim() }
    }

    /// Adds several diagnostics.
    public mutating func add(contentsOf diagnostics: [Diagnostic]) {
        for d in diagnostics { add(d) }
    }

    /// Adds the diagnostics of another bag, with what it counted but did not keep.
    public mutating func add(contentsOf other: DiagnosticBag) {
        for d in other.kept { add(d) }
        for (severity, n) in other.omitted { omitted[severity, default: 0] += n }
        if let o = other.firstOmitted { firstOmitted = min(firstOmitted ?? o, o) }
        hasErrors = hasErrors || other.hasErrors
    }

    /// Keeps the `limit + 1` first (one more than shown, to say where the omitted ones begin).
    private mutating func trim() {
        kept.sort(by: Diagnostic.byPriority)
        guard kept.count > limit + 1 else { return }
        for d in kept[(limit + 1)...] {
            omitted[d.severity, default: 0] += 1
            firstOmitted = min(firstOmitted ?? d.span.start, d.span.start)
        }
        kept.removeSubrange((limit + 1)...)
        let last = kept[limit]
        cutoff = (last.severity, last.span.start, last.span.end)
    }

    /// Counts a diagnostic of `severity` starting at `start` without keeping it when it could not be kept (the bag
    /// already holds enough before it); returns whether it did. Spares building messages that would be dropped.
    public mutating func countIfLeftOut(_ severity: Severity, at start: Int) -> Bool {
        guard let cutoff else { return false }
        // Left out when it sorts after the cutoff whatever its end: a lower severity, or the same one starting later.
        guard severity < cutoff.severity || (severity == cutoff.severity && start > cutoff.start) else { return false }
        if severity == .error { hasErrors = true }
        omitted[severity, default: 0] += 1
        firstOmitted = min(firstOmitted ?? start, start)
        return true
    }

    /// The `limit` diagnostics kept (errors first, see the type), in source order, each with its texts shortened to a
    /// bounded length; when there were more, a final note (RC1018) counts them and points at the first one left out.
    public var items: [Diagnostic] {
        var bag = self
        bag.trim()
        var shown = bag.kept.prefix(bag.limit).map { $0.bounded(DiagnosticBag.maxTextLength) }
        shown.sort(by: Diagnostic.inSourceOrder)
        guard bag.kept.count > bag.limit else { return shown }
        var counts = bag.omitted
        let next = bag.kept[bag.limit]
        counts[next.severity, default: 0] += 1
        let firstOmitted = min(bag.firstOmitted ?? next.span.start, next.span.start)
        // The note comes last: at the first diagnostic left out when that follows every one shown (the usual case),
        // else (warnings left out for later errors) just after the last one shown.
        let last = shown.last!
        let afterShown = firstOmitted >= last.span.start
        shown.append(
            .tooManyDiagnostics(
                at: afterShown ? firstOmitted : max(last.span.end, last.span.start), counts: counts, limit: bag.limit,
                label: afterShown ? "the first one not shown" : "the others are not shown"))
        return shown
    }
}

extension Diagnostic {
    /// Orders diagnostics by where they start, then where they end.
    static func inSourceOrder(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        (a.span.start, a.span.end) < (b.span.start, b.span.end)
    }

    /// Errors first, then warnings, then notes; each in source order.
    static func byPriority(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        if a.severity != b.severity { return a.severity > b.severity }
        return inSourceOrder(a, b)
    }

    /// The diagnostic with every text at most `length` characters long (a long one keeps its start and end).
    func bounded(_ length: Int) -> Diagnostic {
        var d = self
        d.message = message.elided(to: length)
        d.label = label?.elided(to: length)
        d.help = help?.elided(to: length)
        d.notes = notes.map { DiagnosticNote($0.message.elided(to: length), span: $0.span) }
        return d
    }
}

extension String {
    /// The string itself when it has at most `length` characters; otherwise its start and end around ` … `.
    func elided(to length: Int) -> String {
        guard utf8.count > length, index(startIndex, offsetBy: length, limitedBy: endIndex).map({ $0 < endIndex }) ?? false
        else { return self }
        let tail = length / 5
        return String(prefix(length - tail - 3)) + " … " + String(suffix(tail))
    }
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
