/// A name written in the source, with its span.
public struct Identifier: Sendable {
    /// The text.
    public var name: String
    /// Where it is.
    public var span: Span

    /// Creates an identifier.
    public init(_ name: String, span: Span) {
        self.name = name
        self.span = span
    }
}

/// A string literal: its parts (text and `${…}` interpolations) and span.
public struct StringLiteral: Sendable {
    /// The decoded parts.
    public var parts: [StringPart]
    /// The span including the quotes.
    public var span: Span

    /// The text with interpolations written back as `${a.b}`.
    public var value: String {
        parts.map {
            switch $0 {
            case .text(let t): t
            case .interpolation(let path, _): "${" + path.joined(separator: ".") + "}"
            }
        }.joined()
    }
}

/// A unary operator.
public enum UnaryOperator: String, Sendable {
    case not
    case negate = "-"
}

/// A binary operator, lowest precedence first.
public enum BinaryOperator: String, Sendable, CaseIterable {
    case or
    case and
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessEqual = "<="
    case greater = ">"
    case greaterEqual = ">="
    case `in`
    case notIn = "not in"
    case matches
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"

    /// Binding strength: higher binds tighter.
    public var precedence: Int {
        switch self {
        case .or: 1
        case .and: 2
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual, .in, .notIn, .matches: 4
        case .add, .subtract: 5
        case .multiply, .divide: 6
        }
    }

    /// Whether this is a comparison (non-associative).
    public var isComparison: Bool { precedence == 4 }
}

/// An expression node. `id` is unique within one syntax tree and keys the checker's side tables.
public struct Expr: Sendable {
    /// Unique id within the tree.
    public var id: Int
    /// What it is.
    public var kind: ExprKind
    /// Where it is.
    public var span: Span
}

/// The shapes an expression can take.
public indirect enum ExprKind: Sendable {
    case bool(Bool)
    case integer(Int64)
    /// A decimal number: `0.01`.
    case number(Double)
    case percent(Double)
    /// Milliseconds.
    case duration(Int64)
    /// Minutes since midnight.
    case timeOfDay(Int)
    case instant(Instant)
    case string(StringLiteral)
    case regex(pattern: String, flags: String)
    /// A bare name: a fact root (`node`, `cluster`, `now`…) or a local (`exit` in `reboot_when`).
    case name(String)
    case member(Expr, Identifier)
    case index(Expr, Expr)
    case call(Identifier, [Expr])
    case unary(UnaryOperator, Expr)
    case binary(BinaryOperator, Expr, Expr)
    /// `P% of X`.
    case percentOf(Expr, Expr)
    case list([Expr])
    case map([(key: Expr, value: Expr)])
    /// Stands in for an expression that did not parse.
    case error

    /// The direct sub-expressions, for generic walks.
    public var children: [Expr] {
        switch self {
        case .bool, .integer, .number, .percent, .duration, .timeOfDay, .instant, .string, .regex, .name, .error: []
        case .member(let e, _): [e]
        case .index(let a, let b): [a, b]
        case .call(_, let args): args
        case .unary(_, let e): [e]
        case .binary(_, let a, let b): [a, b]
        case .percentOf(let a, let b): [a, b]
        case .list(let items): items
        case .map(let entries): entries.flatMap { [$0.key, $0.value] }
        }
    }
}

/// A `{ name value … }` block of settings.
public struct Block: Sendable {
    /// The fields in source order.
    public var fields: [Field]
    /// The span from `{` to `}`.
    public var span: Span
    /// Whether the block was written on one line.
    public var singleLine: Bool

    /// The first field with this name.
    public func field(_ name: String) -> Field? { fields.first { $0.name.name == name } }
}

/// One `name value` entry of a block.
public struct Field: Sendable {
    /// The field's name (`deny when` counts as one name).
    public var name: Identifier
    /// The value.
    public var value: FieldValue
    /// The whole entry.
    public var span: Span
}

/// The value of a field.
public enum FieldValue: Sendable {
    /// One value, or several separated by commas (`run pre_lock, post_lock`).
    case exprs([Expr])
    /// `low .. high`.
    case range(Expr, Expr)
    /// A nested block (`tls { … }`).
    case block(Block)
}

/// A day reference in a window (`Mon`).
public struct DayRef: Sendable {
    /// The day, or `nil` when the word is not a day (already diagnosed).
    public var day: Weekday?
    /// The word as written.
    public var word: Identifier
}

/// `Mon` or `Mon..Fri`.
public struct DayRange: Sendable {
    public var from: DayRef
    public var to: DayRef?
}

/// Which days a window applies to.
public enum DaySpec: Sendable {
    case daily(Span)
    case days([DayRange])

    /// The span of the whole day specification.
    public var span: Span {
        switch self {
        case .daily(let s): s
        case .days(let ranges):
            ranges.reduce(ranges.first.map { $0.from.word.span } ?? .at(0)) { acc, r in
                acc.union(r.from.word.span).union(r.to?.word.span ?? r.from.word.span)
            }
        }
    }
}

/// A time of day written in a window.
public struct TimeOfDayLiteral: Sendable {
    /// Minutes since midnight (0…1440).
    public var minutes: Int
    public var span: Span
}

/// `window allow|deny NAME DAYS [START .. [END_DAY] END] [in "TZ"]`.
public struct WindowDecl: Sendable {
    public var effect: Identifier
    public var name: StringLiteral
    public var days: DaySpec
    public var start: TimeOfDayLiteral?
    public var endDay: DayRef?
    public var end: TimeOfDayLiteral?
    public var timeZone: StringLiteral?
}

/// One item of a test's `given` block.
public enum GivenItem: Sendable {
    /// `node.name "web-1"`: a fact path and its value.
    case fact(path: [Identifier], value: Expr, span: Span)
    /// `detector "apt" fired|clear|error ["message"]`.
    case detector(name: StringLiteral, state: Identifier, message: StringLiteral?, span: Span)
    /// `health "cluster" ok|fails ["output"]`.
    case health(name: StringLiteral, state: Identifier, message: StringLiteral?, span: Span)
    /// `health "errors" value 0.034`, `health "lag" status 200 json {…}`: measured values.
    case healthValues(name: StringLiteral, values: [(Identifier, Expr)], span: Span)

    /// The span of the item.
    public var span: Span {
        switch self {
        case .fact(_, _, let s), .detector(_, _, _, let s), .health(_, _, _, let s), .healthValues(_, _, let s): s
        }
    }
}

/// `expect reboot | no_reboot | blocked by KIND ["name"]`.
public struct Expectation: Sendable {
    public var outcome: Identifier
    public var blockedBy: Identifier?
    public var name: StringLiteral?
    public var span: Span
}

/// `test NAME { given { … } expect … }`.
public struct TestDecl: Sendable {
    public var name: StringLiteral
    public var given: [GivenItem]
    public var givenSpan: Span?
    public var expectation: Expectation?
    public var bodySpan: Span
}

/// A top-level declaration.
public enum DeclKind: Sendable {
    /// `policy "name" { applies_to EXPR … }`
    case policy(name: StringLiteral, body: Block)
    /// `detector "name" KIND [ARGUMENT] [{ … }]`
    case detector(name: StringLiteral, kind: Identifier, argument: Expr?, body: Block?)
    /// `timezone "Europe/Berlin"`
    case timezone(StringLiteral)
    case window(WindowDecl)
    /// `health "name" script PATH-OR-ARGV [{ … }]`
    case health(name: StringLiteral, script: Expr, body: Block?)
    /// `health "name" http|prometheus|alerts "URL" [query "PROMQL"] { … }`
    case healthProbe(name: StringLiteral, kind: Identifier, target: StringLiteral, query: StringLiteral?, body: Block?)
    /// `lock etcd { … }` or `lock local [{ … }]`
    case lock(kind: Identifier, body: Block?)
    /// `kill_switch file "/path"` or `kill_switch etcd ["key"]`
    case killSwitch(kind: Identifier, argument: StringLiteral?)
    /// `reboot command [ARGV]`
    case reboot(command: Expr)
    /// `cluster { … }` or `metrics { … }`
    case settings(keyword: Identifier, body: Block)
    /// `notify webhook "URL" [{ … }]`
    case notify(kind: Identifier, target: StringLiteral, body: Block?)
    /// `dry_run true`
    case dryRun(Expr)
    /// `rule "name" { deny when EXPR … }`
    case rule(name: StringLiteral, body: Block)
    case test(TestDecl)
}

/// A declaration with its keyword and span.
public struct Decl: Sendable {
    /// The leading keyword (`detector`, `window`, …).
    public var keyword: Identifier
    public var kind: DeclKind
    /// From the keyword to the end of the declaration.
    public var span: Span
}

/// The result of parsing one file: declarations, comments and syntax diagnostics.
public struct SyntaxTree: Sendable {
    public var file: SourceFile
    public var decls: [Decl]
    public var comments: [Comment]
    /// The first syntax diagnostics in source order, with a final note counting the others (``DiagnosticBag``).
    public var diagnostics: [Diagnostic]
    /// One more than the largest expression id.
    public var exprCount: Int
    /// All syntax diagnostics, bounded, for the checker to merge its own with.
    var diagnosticBag = DiagnosticBag()
}
