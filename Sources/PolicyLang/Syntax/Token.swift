/// The kinds of token the lexer produces. Keywords are identifiers; the parser reads them in context.
public enum TokenKind: Sendable, Equatable, Hashable {
    case identifier
    case string
    case regex
    case integer
    /// A number with a fraction: `0.01`.
    case number
    case percent
    case duration
    case timeOfDay
    case instant
    /// A calendar date without a time: `2026-12-18`.
    case date
    /// A day's place in its month: `1st`, `2nd`, `3rd`, `4th`.
    case ordinal
    case lBrace, rBrace, lParen, rParen, lBracket, rBracket
    case comma, dot, dotDot, colon
    case equalEqual, bangEqual, less, lessEqual, greater, greaterEqual
    case plus, minus, star, slash, assign
    /// Bytes that start no token (already diagnosed by the lexer).
    case invalid
    case eof

    /// How the token kind is named in messages.
    public var display: String {
        switch self {
        case .identifier: "a name"
        case .string: "a string"
        case .regex: "a regex"
        case .integer: "a number"
        case .number: "a decimal number"
        case .percent: "a percentage"
        case .duration: "a duration"
        case .timeOfDay: "a time of day"
        case .instant: "an instant"
        case .date: "a date"
        case .ordinal: "an ordinal such as `2nd`"
        case .lBrace: "`{`"
        case .rBrace: "`}`"
        case .lParen: "`(`"
        case .rParen: "`)`"
        case .lBracket: "`[`"
        case .rBracket: "`]`"
        case .comma: "`,`"
        case .dot: "`.`"
        case .dotDot: "`..`"
        case .colon: "`:`"
        case .equalEqual: "`==`"
        case .bangEqual: "`!=`"
        case .less: "`<`"
        case .lessEqual: "`<=`"
        case .greater: "`>`"
        case .greaterEqual: "`>=`"
        case .plus: "`+`"
        case .minus: "`-`"
        case .star: "`*`"
        case .slash: "`/`"
        case .assign: "`=`"
        case .invalid: "an invalid character"
        case .eof: "the end of the file"
        }
    }
}

/// One piece of a string literal: text, or a `${path}` interpolation.
public enum StringPart: Sendable, Hashable {
    case text(String)
    case interpolation(path: [String], span: Span)
}

/// The decoded value of a literal token.
public enum TokenValue: Sendable, Hashable {
    case none
    case integer(Int64)
    case number(Double)
    case percent(Double)
    /// Milliseconds.
    case duration(Int64)
    /// Minutes since midnight (0…1440).
    case timeOfDay(Int)
    case instant(Instant)
    /// A date as written: year, month (1…12), day (1…31), not yet checked against the month's length.
    case date(year: Int, month: Int, day: Int)
    /// `2nd` is 2.
    case ordinal(Int)
    case string([StringPart])
    case regex(pattern: String, flags: String)
}

/// A token with its span. `lineBreakBefore` says whether a newline separates it from the previous token.
///
/// The decoded value of a literal lives beside the tokens (``Lexer/Output/value(of:)``), so that a token is 24
/// bytes and a file of one-byte tokens costs a small multiple of its size.
public struct Token: Sendable {
    /// Where it is.
    public var span: Span
    /// Index of the literal's value in ``Lexer/Output``, or -1.
    var valueIndex: Int32
    /// The kind.
    public var kind: TokenKind
    /// Whether a line break comes between the previous token and this one.
    public var lineBreakBefore: Bool
}

/// A `#` comment, kept for the formatter.
public struct Comment: Sendable, Hashable {
    /// The span of the comment, from `#` to the end of the line.
    public var span: Span
    /// The text including the leading `#`, without the line terminator.
    public var text: String
    /// Whether only white space precedes it on its line.
    public var ownLine: Bool
}
