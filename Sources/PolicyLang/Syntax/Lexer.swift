/// Turns the bytes of a ``SourceFile`` into tokens and comments.
///
/// The lexer never stops early: a bad character or literal gives one diagnostic and lexing goes on,
/// so the parser always sees a complete token stream ending in `.eof`.
public struct Lexer {
    private let bytes: [UInt8]
    private var index = 0
    private var tokens: [Token] = []
    /// The values of literal tokens, in order.
    private var values: [TokenValue] = []
    private var comments: [Comment] = []
    private var diagnostics = Reported()
    private var sawLineBreak = false
    private var lineHasContent = false

    /// The lexer's diagnostics: the first ones in full, and where every error starts (the parser asks whether a
    /// declaration already has one).
    struct Reported: Sendable {
        var bag = DiagnosticBag()
        var errorStarts: [Int] = []

        /// Adds the error starting at `start`; past the first hundred, only counts it (the lexer reports in source
        /// order, so a later one is never shown) without building its message.
        mutating func add(at start: Int, _ diagnostic: @autoclosure () -> Diagnostic) {
            errorStarts.append(start)
            if !bag.countIfLeftOut(.error, at: start) { bag.add(diagnostic()) }
        }
    }

    /// The result of lexing a file.
    public struct Output: Sendable {
        public var tokens: [Token]
        public var comments: [Comment]
        /// The first diagnostics in source order (``DiagnosticBag``).
        public var diagnostics: [Diagnostic] { reported.bag.items }
        var reported: Reported
        var values: [TokenValue]

        /// The decoded value of a literal token (`.none` for other tokens).
        public func value(of token: Token) -> TokenValue {
            token.valueIndex < 0 ? .none : values[Int(token.valueIndex)]
        }
    }

    /// Lexes a whole file.
    public static func lex(_ file: SourceFile) -> Output {
        var lexer = Lexer(bytes: file.bytes)
        lexer.run()
        lexer.diagnostics.errorStarts.sort()
        return Output(tokens: lexer.tokens, comments: lexer.comments, reported: lexer.diagnostics, values: lexer.values)
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
        tokens.reserveCapacity(bytes.count / 4)
    }

    private func peek(_ offset: Int = 0) -> UInt8 {
        let i = index + offset
        return i < bytes.count ? bytes[i] : 0
    }

    private mutating func run() {
        // A UTF-8 byte order mark is allowed and ignored.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
        while true {
            skipTrivia()
            guard index < bytes.count else { break }
            lexToken()
        }
        tokens.append(Token(span: .at(bytes.count), valueIndex: -1, kind: .eof, lineBreakBefore: true))
    }

    private mutating func skipTrivia() {
        while index < bytes.count {
            let c = bytes[index]
            if c == 10 {
                sawLineBreak = true
                lineHasContent = false
                index += 1
            } else if c == 32 || c == 9 || c == 13 || c == 12 {
                index += 1
            } else if c == 35 {
                let start = index
                while index < bytes.count, bytes[index] != 10 {
                    if bytes[index] >= 0x80 { _ = checkScalar() } else { index += 1 }
                }
                var end = index
                if end > start, bytes[end - 1] == 13 { end -= 1 }
                let text = String(decoding: bytes[start..<end], as: UTF8.self)
                comments.append(Comment(span: Span(start, end), text: text, ownLine: !lineHasContent))
            } else {
                break
            }
        }
    }

    private mutating func emit(_ kind: TokenKind, from start: Int, value: TokenValue = .none) {
        var valueIndex: Int32 = -1
        if case .none = value {} else {
            valueIndex = Int32(truncatingIfNeeded: values.count)
            values.append(value)
        }
        tokens.append(Token(span: Span(start, index), valueIndex: valueIndex, kind: kind, lineBreakBefore: sawLineBreak || tokens.isEmpty))
        sawLineBreak = false
        lineHasContent = true
    }

    /// Checks the UTF-8 sequence at `index`, advances past it, and reports it when invalid.
    /// Returns whether the sequence was valid.
    private mutating func checkScalar() -> Bool {
        let start = index
        if skipScalar() { return true }
        diagnostics.add(at: start, .invalidUTF8(Span(start, index)))
        return false
    }

    /// Advances past one UTF-8 scalar (or a run of invalid bytes); returns whether it was valid.
    private mutating func skipScalar() -> Bool {
        let lead = bytes[index]
        var length = 0
        var minimum: UInt32 = 0
        var scalar: UInt32 = 0
        switch lead {
        case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(lead & 0x07)
        default: length = 0
        }
        var valid = length > 0 && index + length <= bytes.count
        if valid {
            for k in 1..<length {
                let b = bytes[index + k]
                if b & 0xC0 != 0x80 { valid = false; break }
                scalar = scalar << 6 | UInt32(b & 0x3F)
            }
        }
        if valid, scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { valid = false }
        if valid {
            index += length
            return true
        }
        // Swallow the whole run of invalid bytes so one bad region gives one diagnostic.
        index += 1
        while index < bytes.count, bytes[index] >= 0x80, !startsValidScalar(at: index) { index += 1 }
        return false
    }

    private func startsValidScalar(at i: Int) -> Bool {
        let lead = bytes[i]
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return false
        }
        guard i + length <= bytes.count else { return false }
        for k in 1..<length where bytes[i + k] & 0xC0 != 0x80 { return false }
        return true
    }

    private static func isIdentStart(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95
    }

    private static func isIdentContinue(_ c: UInt8) -> Bool {
        isIdentStart(c) || (c >= 48 && c <= 57)
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    /// Whether a `/` here starts a regex rather than meaning division.
    private func regexAllowed() -> Bool {
        guard let last = tokens.last else { return true }
        switch last.kind {
        case .identifier:
            let text = String(decoding: bytes[last.span.start..<last.span.end], as: UTF8.self)
            return ["matches", "and", "or", "not", "in", "of", "when"].contains(text)
        case .string, .regex, .integer, .number, .percent, .duration, .timeOfDay, .instant, .date, .ordinal, .rParen, .rBracket, .rBrace:
            return false
        default:
            return true
        }
    }

    private mutating func lexToken() {
        let start = index
        let c = bytes[index]
        if Self.isIdentStart(c) {
            index += 1
            while index < bytes.count, Self.isIdentContinue(bytes[index]) { index += 1 }
            emit(.identifier, from: start)
            return
        }
        if Self.isDigit(c) {
            lexNumber()
            return
        }
        switch c {
        case 34: lexString()
        case 123: index += 1; emit(.lBrace, from: start)
        case 125: index += 1; emit(.rBrace, from: start)
        case 40: index += 1; emit(.lParen, from: start)
        case 41: index += 1; emit(.rParen, from: start)
        case 91: index += 1; emit(.lBracket, from: start)
        case 93: index += 1; emit(.rBracket, from: start)
        case 44: index += 1; emit(.comma, from: start)
        case 58: index += 1; emit(.colon, from: start)
        case 43: index += 1; emit(.plus, from: start)
        case 45: index += 1; emit(.minus, from: start)
        case 42: index += 1; emit(.star, from: start)
        case 46:
            if peek(1) == 46 {
                index += 2
                emit(.dotDot, from: start)
            } else {
                index += 1
                emit(.dot, from: start)
            }
        case 61:
            if peek(1) == 61 {
                index += 2
                emit(.equalEqual, from: start)
            } else {
                index += 1
                emit(.assign, from: start)
            }
        case 33:
            if peek(1) == 61 {
                index += 2
                emit(.bangEqual, from: start)
            } else {
                index += 1
                diagnostics.add(at: start, .unexpectedCharacter(Span(start, index), "!", help: "write `not` for negation and `!=` for inequality"))
                emit(.invalid, from: start)
            }
        case 60:
            if peek(1) == 61 { index += 2; emit(.lessEqual, from: start) } else { index += 1; emit(.less, from: start) }
        case 62:
            if peek(1) == 61 { index += 2; emit(.greaterEqual, from: start) } else { index += 1; emit(.greater, from: start) }
        case 47:
            if regexAllowed() { lexRegex() } else { index += 1; emit(.slash, from: start) }
        case 38, 124:
            index += 1
            if peek() == c { index += 1 }
            let word = c == 38 ? "and" : "or"
            diagnostics.add(at: start, .unexpectedCharacter(Span(start, index), c == 38 ? "&" : "|", help: "write `\(word)`"))
            emit(.invalid, from: start)
        default:
            lexInvalid()
        }
    }

    /// A run of characters that start no token gives one diagnostic.
    private mutating func lexInvalid() {
        let start = index
        var sawInvalidUTF8 = false
        var shown = ""
        while index < bytes.count {
            let c = bytes[index]
            if c < 0x80 {
                if Self.isIdentStart(c) || Self.isDigit(c) || c <= 32 || "\"{}()[],:+-*./=!<>#&|".utf8.contains(c) { break }
                shown.append(Character(Unicode.Scalar(c)))
                index += 1
            } else if startsValidScalar(at: index) {
                let s = index
                _ = checkScalar()
                shown += String(decoding: bytes[s..<index], as: UTF8.self)
            } else {
                _ = skipScalar()
                sawInvalidUTF8 = true
            }
        }
        if index == start { index += 1 }
        if sawInvalidUTF8 {
            diagnostics.add(at: start, .invalidUTF8(Span(start, index)))
        } else {
            diagnostics.add(at: start, .unexpectedCharacter(Span(start, index), shown, help: nil))
        }
        emit(.invalid, from: start)
    }

    private mutating func lexNumber() {
        let start = index
        // An instant: YYYY-MM-DDThh:mm:ss…
        if index + 4 < bytes.count, Self.isDigit(peek(1)), Self.isDigit(peek(2)), Self.isDigit(peek(3)), peek(4) == 45,
            Self.isDigit(peek(5))
        {
            while index < bytes.count {
                let c = bytes[index]
                // `2026-12-18..2027-01-04`: `..` ends the date.
                if c == 46, peek(1) == 46 { break }
                if Self.isDigit(c) || c == 45 || c == 58 || c == 43 || c == 46 || c == 84 || c == 90 || c == 116 || c == 122 {
                    index += 1
                } else {
                    break
                }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if let date = Self.parseDate(text) {
                emit(.date, from: start, value: .date(year: date.year, month: date.month, day: date.day))
                return
            }
            switch Instant.parse(text) {
            case .success(let instant):
                emit(.instant, from: start, value: .instant(instant))
            case .failure(let error):
                diagnostics.add(at: start, .invalidLiteral(Span(start, index), "invalid instant `\(text)`", label: error.reason))
                emit(.instant, from: start, value: .instant(Instant(epochMilliseconds: 0)))
            }
            return
        }
        while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        let digitsEnd = index
        // A time of day: h:mm or hh:mm.
        if peek() == 58, Self.isDigit(peek(1)) {
            index += 1
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            let parts = text.split(separator: ":")
            if parts.count == 2, parts[0].count <= 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
                (h < 24 && m < 60) || (h == 24 && m == 0)
            {
                emit(.timeOfDay, from: start, value: .timeOfDay(h * 60 + m))
            } else {
                diagnostics.add(
                    at: start,
                    .invalidLiteral(
                        Span(start, index), "invalid time of day `\(text)`",
                        label: "expected hh:mm between 00:00 and 24:00"))
                emit(.timeOfDay, from: start, value: .timeOfDay(0))
            }
            return
        }
        // A fractional percentage: 62.5%
        if peek() == 46, Self.isDigit(peek(1)) {
            index += 1
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if peek() == 37 {
                index += 1
                emit(.percent, from: start, value: .percent(Double(text) ?? 0))
            } else if let count = countAfterFraction() ?? countBeforeFraction() {
                // `0.6 * cluster.size`: the share of a count, which the language writes `60% of cluster.size`.
                diagnostics.add(
                    at: min(start, count.span.start),
                    .fractionTimesCount(Span(min(start, count.span.start), max(index, count.span.end)), percent: Self.percentText(text), count: count.text))
                emit(.integer, from: start, value: .integer(0))
            } else {
                // A decimal number (`0.01`), for thresholds of measured values.
                emit(.number, from: start, value: .number(Double(text) ?? 0))
            }
            return
        }
        let digits = String(decoding: bytes[start..<digitsEnd], as: UTF8.self)
        if peek() == 37 {
            index += 1
            emit(.percent, from: start, value: .percent(Double(digits) ?? 0))
            return
        }
        if Self.isIdentStart(peek()) {
            while index < bytes.count, Self.isIdentContinue(bytes[index]) { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if let n = Int(digits), digits.count <= 2, ["st", "nd", "rd", "th"].contains(text.dropFirst(digits.count)) {
                emit(.ordinal, from: start, value: .ordinal(n))
                return
            }
            if let ms = Self.parseDuration(text) {
                emit(.duration, from: start, value: .duration(ms))
            } else {
                diagnostics.add(
                    at: start,
                    .invalidLiteral(
                        Span(start, index), "invalid duration `\(text)`",
                        label: "not a number followed by a unit",
                        help: "durations are written like `500ms`, `10s`, `15m`, `1h30m`, `2d` or `1w`"))
                emit(.duration, from: start, value: .duration(0))
            }
            return
        }
        if let value = Int64(digits) {
            emit(.integer, from: start, value: .integer(value))
        } else {
            diagnostics.add(
                at: start,
                .invalidLiteral(Span(start, index), "number `\(digits)` is too large", label: "the largest number is 9223372036854775807"))
            emit(.integer, from: start, value: .integer(0))
        }
    }

    /// After a fraction that ends at `index`: ` * cluster.size` or ` of cluster.size`, with the count's span and text.
    private func countAfterFraction() -> (span: Span, text: String)? {
        var i = index
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 { i += 1 }
        if i < bytes.count, bytes[i] == 42 {
            i += 1
        } else if i + 2 <= bytes.count, bytes[i] == 111, bytes[i + 1] == 102, i + 2 == bytes.count || !Self.isIdentContinue(bytes[i + 2]) {
            i += 2
        } else {
            return nil
        }
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 { i += 1 }
        let start = i
        guard start < bytes.count, Self.isIdentStart(bytes[start]) else { return nil }
        while i < bytes.count, Self.isIdentContinue(bytes[i]) || (bytes[i] == 46 && i + 1 < bytes.count && Self.isIdentStart(bytes[i + 1])) {
            i += 1
        }
        return (Span(start, i), String(decoding: bytes[start..<i], as: UTF8.self))
    }

    /// Before a fraction: `cluster.size * ` as the last tokens, with the count's span and text.
    private func countBeforeFraction() -> (span: Span, text: String)? {
        guard tokens.count >= 2, tokens[tokens.count - 1].kind == .star, tokens[tokens.count - 2].kind == .identifier else { return nil }
        var first = tokens.count - 2
        while first >= 2, tokens[first - 1].kind == .dot, tokens[first - 2].kind == .identifier { first -= 2 }
        let span = Span(tokens[first].span.start, tokens[tokens.count - 2].span.end)
        return (span, String(decoding: bytes[span.start..<span.end], as: UTF8.self))
    }

    /// `0.6` as a percentage's number: `60`; `0.625` gives `62.5`.
    static func percentText(_ fraction: String) -> String {
        let parts = fraction.split(separator: ".", maxSplits: 1).map(String.init)
        var digits = parts.count == 2 ? parts[1] : ""
        while digits.count < 2 { digits += "0" }
        var whole = String((parts[0] + digits.prefix(2)).drop { $0 == "0" })
        if whole.isEmpty { whole = "0" }
        var rest = String(digits.dropFirst(2))
        while rest.hasSuffix("0") { rest.removeLast() }
        return rest.isEmpty ? whole : whole + "." + rest
    }

    /// Parses `1h30m`-style text into milliseconds; `nil` when malformed or too large.
    /// Parses a duration written as the language writes it (`1h30m`, `500ms`); `nil` when it is not one.
    /// `YYYY-MM-DD` with a month of 1…12 and a day of 1…31 (the checker holds the day against the month).
    static func parseDate(_ text: String) -> (year: Int, month: Int, day: Int)? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        return (y, m, d)
    }

    public static func parseDuration(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        var i = 0
        var total: Int64 = 0
        var sawAny = false
        while i < b.count {
            var n: Int64 = 0
            let digitStart = i
            while i < b.count, isDigit(b[i]) {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(b[i] - 48))
                if o1 || o2 { return nil }
                n = a
                i += 1
            }
            if i == digitStart { return nil }
            let unitStart = i
            while i < b.count, !isDigit(b[i]) { i += 1 }
            let unit = String(decoding: b[unitStart..<i], as: UTF8.self)
            let scale: Int64
            switch unit {
            case "ms": scale = 1
            case "s": scale = 1000
            case "m": scale = 60_000
            case "h": scale = 3_600_000
            case "d": scale = 86_400_000
            case "w": scale = 604_800_000
            default: return nil
            }
            let (v, o1) = n.multipliedReportingOverflow(by: scale)
            let (t, o2) = total.addingReportingOverflow(v)
            if o1 || o2 { return nil }
            total = t
            sawAny = true
        }
        return sawAny ? total : nil
    }

    private mutating func lexString() {
        let start = index
        index += 1
        var parts: [StringPart] = []
        var text = ""
        var bad = false
        func flush() {
            if !text.isEmpty {
                parts.append(.text(text))
                text = ""
            }
        }
        while true {
            guard index < bytes.count, bytes[index] != 10 else {
                diagnostics.add(at: start, .unterminatedString(Span(start, index)))
                flush()
                emit(.string, from: start, value: .string(parts))
                return
            }
            let c = bytes[index]
            if c == 34 {
                index += 1
                break
            }
            if c == 92 {
                let escStart = index
                index += 1
                let e = peek()
                switch e {
                case 34: text.append("\""); index += 1
                case 92: text.append("\\"); index += 1
                case 110: text.append("\n"); index += 1
                case 116: text.append("\t"); index += 1
                case 114: text.append("\r"); index += 1
                case 36: text.append("$"); index += 1
                case 48: text.append("\0"); index += 1
                default:
                    if e != 10, e != 0 || index < bytes.count {
                        if e >= 0x80 { _ = checkScalar() } else { index += 1 }
                    }
                    if !bad {
                        diagnostics.add(at: escStart, .invalidEscape(Span(escStart, index), String(decoding: bytes[escStart..<index], as: UTF8.self)))
                    }
                    bad = true
                }
                continue
            }
            if c == 36, peek(1) == 123 {
                let interpStart = index
                index += 2
                let pathStart = index
                while index < bytes.count, bytes[index] != 125, bytes[index] != 34, bytes[index] != 10 { index += 1 }
                let inner = String(decoding: bytes[pathStart..<index], as: UTF8.self)
                if peek() == 125 {
                    index += 1
                    let path = inner.split(separator: ".", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
                    if path.allSatisfy({ Self.isIdentifier($0) }) {
                        flush()
                        parts.append(.interpolation(path: path, span: Span(interpStart, index)))
                    } else {
                        diagnostics.add(at: interpStart, .invalidInterpolation(Span(interpStart, index), inner))
                        text += "${\(inner)}"
                    }
                } else {
                    diagnostics.add(at: interpStart, .invalidInterpolation(Span(interpStart, index), nil))
                    text += "${" + inner
                }
                continue
            }
            if c >= 0x80 {
                let s = index
                if checkScalar() { text += String(decoding: bytes[s..<index], as: UTF8.self) }
                continue
            }
            text.append(Character(Unicode.Scalar(c)))
            index += 1
        }
        flush()
        emit(.string, from: start, value: .string(parts))
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, isIdentStart(first) else { return false }
        return s.utf8.allSatisfy(isIdentContinue)
    }

    private mutating func lexRegex() {
        let start = index
        index += 1
        // Where the `[` of the character class we are in starts (`-1` outside one): a `/` inside `[…]` does not end
        // the regex, and a `]` right after `[` or `[^` is a literal one.
        var classStart = -1
        while true {
            guard index < bytes.count, bytes[index] != 10 else {
                var end = index
                if end > start, bytes[end - 1] == 13 { end -= 1 }
                if classStart >= 0 {
                    // The class is the mistake; an `.invalid` token, so the regex is not compiled and reported again.
                    diagnostics.add(at: start, .unclosedRegexClass(Span(classStart, classStart + 1), regex: Span(start, end)))
                    emit(.invalid, from: start)
                    return
                }
                diagnostics.add(at: start, .unterminatedRegex(Span(start, index)))
                let pattern = String(decoding: bytes[(start + 1)..<index], as: UTF8.self)
                emit(.regex, from: start, value: .regex(pattern: pattern, flags: ""))
                return
            }
            let c = bytes[index]
            if c == 92 {
                index += 2
                if index > bytes.count { index = bytes.count }
                continue
            }
            if classStart < 0 {
                if c == 91 {
                    classStart = index
                    index += 1
                    if peek() == 94 { index += 1 }
                    if peek() == 93 { index += 1 }
                    continue
                }
                if c == 47 { break }
            } else if c == 93 {
                classStart = -1
            }
            if c >= 0x80 { _ = checkScalar() } else { index += 1 }
        }
        let patternEnd = index
        index += 1
        let flagsStart = index
        while index < bytes.count, Self.isIdentContinue(bytes[index]) { index += 1 }
        let pattern = String(decoding: bytes[(start + 1)..<patternEnd], as: UTF8.self)
        let flags = String(decoding: bytes[flagsStart..<index], as: UTF8.self)
        emit(.regex, from: start, value: .regex(pattern: pattern, flags: flags))
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self[...]
        while let f = s.first, f == " " { s = s.dropFirst() }
        while let l = s.last, l == " " { s = s.dropLast() }
        return String(s)
    }
}
