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
    /// `2nd Tue`, `last Fri`, `1st Mon..Wed`: the run of days from a weekday's place in the month.
    case monthlyWeekday(OrdinalRef, DayRange)
    /// `day 15`, `day 28 .. 31`, `last day`, `last 3 days`.
    case monthDays(MonthDaysLiteral)
    /// `Dec 20 .. Jan 6`, `2026-12-18 18:00 .. 2027-01-04 08:00`: the window's times are part of it.
    case dated(DatedLiteral)

    /// The span of the whole day specification.
    public var span: Span {
        switch self {
        case .daily(let s): s
        case .days(let ranges):
            ranges.reduce(ranges.first.map { $0.from.word.span } ?? .at(0)) { acc, r in
                acc.union(r.from.word.span).union(r.to?.word.span ?? r.from.word.span)
            }
        case .monthlyWeekday(let ordinal, let range): ordinal.span.union(range.to?.word.span ?? range.from.word.span)
        case .monthDays(let days): days.span
        case .dated(let dated): dated.span
        }
    }
}

/// `1st` … `5th`, or `last` (value -1).
public struct OrdinalRef: Sendable {
    public var value: Int
    public var span: Span
}

/// A whole number written in a window (`28` in `day 28 .. 31`).
public struct NumberLiteral: Sendable {
    public var value: Int64
    public var span: Span
}

/// Days of the month in a window.
public enum MonthDaysLiteral: Sendable {
    /// `day N` or `day N .. M`.
    case range(from: NumberLiteral, to: NumberLiteral?, span: Span)
    /// `last day` (`count` nil) or `last N days`.
    case last(count: NumberLiteral?, span: Span)

    /// From `day`/`last` to the last word.
    public var span: Span {
        switch self {
        case .range(_, _, let s), .last(_, let s): s
        }
    }
}

/// A date in a window: `Dec 20` (every year) or `2026-12-18` (once).
public struct DateLiteral: Sendable {
    /// `nil` for `Dec 20`.
    public var year: Int?
    /// 1…12, or 0 when the month word was not a month (already diagnosed).
    public var month: Int
    public var day: Int64
    public var span: Span
}

/// `DATE [TIME] [.. [DATE] [TIME]]`.
public struct DatedLiteral: Sendable {
    public var from: DateLiteral
    public var fromTime: TimeOfDayLiteral?
    public var to: DateLiteral?
    public var toTime: TimeOfDayLiteral?

    /// A date alone; the parser adds the rest.
    public init(from: DateLiteral, fromTime: TimeOfDayLiteral? = nil, to: DateLiteral? = nil, toTime: TimeOfDayLiteral? = nil) {
        self.from = from
        self.fromTime = fromTime
        self.to = to
        self.toTime = toTime
    }

    /// From the first date to the last date or time.
    public var span: Span { from.span.union(toTime?.span ?? to?.span ?? fromTime?.span ?? from.span) }
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
    /// Every `expect` line, in order; a valid test has exactly one (the checker reports the others, RC2040).
    public var expectations: [Expectation]
    public var bodySpan: Span

    /// The test's first `expect`.
    public var expectation: Expectation? { expectations.first }
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

extension WindowDecl {
    /// The days and times as the formatter writes them: `Mon..Fri 22:00 .. 04:00`, `Fri 18:00 .. Mon 08:00`.
    func canonicalRange(in file: SourceFile) -> String {
        func day(_ ref: DayRef) -> String { ref.day?.shortName ?? ref.word.name }
        func src(_ span: Span) -> String { file.text(span) }
        var text = ""
        switch days {
        case .daily: text = "daily"
        case .days(let ranges): text = ranges.map { day($0.from) + ($0.to.map { ".." + day($0) } ?? "") }.joined(separator: ", ")
        case .monthlyWeekday(let ordinal, let r):
            text += src(ordinal.span) + " " + day(r.from) + (r.to.map { ".." + day($0) } ?? "")
        case .monthDays(.range(let from, let to, _)):
            text += "day \(from.value)" + (to.map { " .. \($0.value)" } ?? "")
        case .monthDays(.last(let count, _)):
            text += count.map { "last \($0.value) days" } ?? "last day"
        case .dated(let d):
            func date(_ date: DateLiteral) -> String {
                date.year == nil && date.month > 0 ? "\(MonthName.shortNames[date.month - 1]) \(date.day)" : src(date.span)
            }
            text += date(d.from) + (d.fromTime.map { " " + src($0.span) } ?? "")
            if d.to != nil || d.toTime != nil {
                text += " .." + (d.to.map { " " + date($0) } ?? "") + (d.toTime.map { " " + src($0.span) } ?? "")
            }
        }
        if let start, let end {
            text += " \(file.text(start.span)) .. " + (endDay.map { day($0) + " " } ?? "") + file.text(end.span)
        }
        return text
    }
}
