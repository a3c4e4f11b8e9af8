/// A hand-written recursive-descent parser with error recovery.
///
/// A syntax error inside a declaration gives one diagnostic; the parser then skips to the next
/// declaration keyword that starts a line and goes on, so one mistake gives one diagnostic.
public struct Parser {
    /// The words that start a top-level declaration.
    public static let declarationKeywords = [
        "policy", "detector", "timezone", "window", "health", "lock", "kill_switch", "reboot", "cluster", "metrics",
        "notify", "dry_run", "rule", "test",
    ]
    static let declarationKeywordSet = Set(declarationKeywords)

    /// Words written after a number for a duration's unit, with the unit the language writes.
    static let durationUnits: [String: String] = [
        "ms": "ms", "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s", "m": "m", "min": "m", "mins": "m",
        "minute": "m", "minutes": "m", "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "d": "d", "day": "d",
        "days": "d", "w": "w", "week": "w", "weeks": "w",
    ]

    /// Every field name of every block (the checker says which block takes which), to suggest `applies_to` for
    /// `applies-to`.
    static let fieldNames: Set<String> = [
        "applies_to", "description", "node_name", "retain", "reboot_when", "ok_when", "timeout", "run", "env", "path",
        "endpoints", "tls", "key", "ttl", "slots", "group", "max_reboot_duration", "user", "password_file", "legacy_mutex",
        "ca", "cert", "insecure_skip_verify", "server_name", "check_interval", "backoff", "cooldown", "fallback_nodes",
        "publish_interval", "forget_after", "events", "retries", "header", "token_env", "token_file", "enabled", "listen",
        "stuck_after",
    ]

    /// How deeply expressions (parentheses, lists, calls, `not`, `-`) and blocks may nest before the parser refuses them.
    public static let maxNesting = 100

    /// How deep an expression tree may be, counting every operator, `.field` and `[index]` of a chain as one level
    /// (`a or b or c` is three levels deep). Every walk over an expression (checker, compiler, evaluator, formatter,
    /// trace, coverage) recurses this deep at most, so this bounds their stack use (docs/language.md, "Limits").
    public static let maxExpressionDepth = 500

    private struct Abort: Error {}

    private let file: SourceFile
    private let tokens: [Token]
    private let lexed: Lexer.Output
    private var position = 0
    private var diagnostics = DiagnosticBag()
    /// Where each lexer error starts, sorted.
    private var lexerErrorStarts: [Int] = []
    /// Where the parser's errors in the declaration being parsed start.
    private var declarationErrorStarts: [Int] = []
    private var nextExprID = 0
    private var depth = 0
    /// The height of each expression made so far (a leaf is 1), indexed by expression id.
    private var heights: [UInt16] = []
    /// Byte offset where the declaration being parsed starts.
    private var declarationStart = 0

    /// Parses a file.
    public static func parse(_ file: SourceFile) -> SyntaxTree {
        let lexed = Lexer.lex(file)
        var parser = Parser(file: file, lexed: lexed)
        parser.diagnostics = lexed.reported.bag
        parser.lexerErrorStarts = lexed.reported.errorStarts
        let decls = parser.parseFile()
        return SyntaxTree(
            file: file, decls: decls, comments: lexed.comments, diagnostics: parser.diagnostics.items, exprCount: parser.nextExprID,
            diagnosticBag: parser.diagnostics)
    }

    private init(file: SourceFile, lexed: Lexer.Output) {
        self.file = file
        self.tokens = lexed.tokens
        self.lexed = lexed
    }

    /// The decoded value of a literal token.
    private func value(_ token: Token) -> TokenValue { lexed.value(of: token) }

    // MARK: - Token helpers

    private var current: Token { tokens[position] }
    private func peek(_ offset: Int = 1) -> Token { tokens[min(position + offset, tokens.count - 1)] }
    private func text(_ token: Token) -> String { file.text(token.span) }
    private var previousEnd: Int { position > 0 ? tokens[position - 1].span.end : 0 }

    private mutating func advance() -> Token {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    private func isWord(_ word: String, _ token: Token? = nil) -> Bool {
        let t = token ?? current
        guard t.kind == .identifier, t.span.length == word.utf8.count else { return false }
        return file.bytes[t.span.start..<t.span.end].elementsEqual(word.utf8)
    }

    private mutating func eat(_ kind: TokenKind) -> Token? {
        current.kind == kind ? advance() : nil
    }

    private mutating func eatWord(_ word: String) -> Token? {
        isWord(word) ? advance() : nil
    }

    private mutating func fail(_ diagnostic: Diagnostic) -> Abort {
        var diagnostic = diagnostic
        // When what is missing belongs at the end of a line, point there rather than at the next line.
        if diagnostic.code == .unexpectedToken, diagnostic.span == current.span, current.lineBreakBefore, position > 0 {
            diagnostic.span = .at(previousEnd)
            diagnostic.label = diagnostic.label.map { $0 + " here" }
        }
        // A lexer error earlier in the same declaration (an unterminated string, say) is the real mistake;
        // what the parser trips over afterwards would only repeat it.
        if !hasError(inDeclarationThrough: diagnostic.span.start) { record(diagnostic) }
        return Abort()
    }

    private mutating func record(_ diagnostic: Diagnostic) {
        diagnostics.add(diagnostic)
        if diagnostic.severity == .error { declarationErrorStarts.append(diagnostic.span.start) }
    }

    /// Whether an error starts between the start of the current declaration and `offset` (binary search among the
    /// lexer's errors, so that a file with many of them is not quadratic).
    private func hasError(inDeclarationThrough offset: Int) -> Bool {
        if declarationErrorStarts.contains(where: { $0 >= declarationStart && $0 <= offset }) { return true }
        var low = 0
        var high = lexerErrorStarts.count
        while low < high {
            let mid = (low + high) / 2
            if lexerErrorStarts[mid] < declarationStart { low = mid + 1 } else { high = mid }
        }
        return low < lexerErrorStarts.count && lexerErrorStarts[low] <= offset
    }

    private mutating func expect(_ kind: TokenKind, _ what: String? = nil, context: String? = nil) throws -> Token {
        if let t = eat(kind) { return t }
        throw fail(.expected(what ?? kind.display, found: current, in: file, context: context))
    }

    private mutating func expectWord(_ word: String, context: String? = nil) throws -> Token {
        if let t = eatWord(word) { return t }
        throw fail(.expected("`\(word)`", found: current, in: file, context: context))
    }

    private mutating func expectIdentifier(_ what: String, context: String? = nil, help: String? = nil) throws -> Identifier {
        guard current.kind == .identifier else {
            throw fail(.expected(what, found: current, in: file, context: context, help: help))
        }
        let t = advance()
        return Identifier(text(t), span: t.span)
    }

    private mutating func expectString(_ what: String, context: String? = nil) throws -> StringLiteral {
        guard current.kind == .string, case .string(let parts) = value(current) else {
            throw fail(.expected(what, found: current, in: file, context: context))
        }
        let t = advance()
        return StringLiteral(parts: parts, span: t.span)
    }

    /// Whether the token begins a line at column 1 (used to resynchronise after a missing `}`).
    private func startsLineAtColumnOne(_ token: Token) -> Bool {
        token.span.start == 0 || file.bytes[token.span.start - 1] == 10
    }

    private func isDeclarationStart(_ token: Token) -> Bool {
        token.kind == .identifier && token.lineBreakBefore && Parser.declarationKeywordSet.contains(text(token))
    }

    /// Makes an expression node. One deeper than ``maxExpressionDepth`` is refused at `place` (the operator).
    private mutating func makeExpr(_ kind: ExprKind, _ span: Span, at place: Span? = nil) throws -> Expr {
        let height = 1 + childHeight(kind)
        if height > Parser.maxExpressionDepth {
            throw fail(.expressionTooLong(place ?? span, limit: Parser.maxExpressionDepth))
        }
        heights.append(UInt16(height))
        defer { nextExprID += 1 }
        return Expr(id: nextExprID, kind: kind, span: span)
    }

    /// The height of the tallest direct sub-expression (0 for a leaf).
    private func childHeight(_ kind: ExprKind) -> Int {
        func h(_ e: Expr) -> Int { Int(heights[e.id]) }
        switch kind {
        case .bool, .integer, .number, .percent, .duration, .timeOfDay, .instant, .string, .regex, .name, .error: return 0
        case .member(let e, _), .unary(_, let e): return h(e)
        case .index(let a, let b), .binary(_, let a, let b), .percentOf(let a, let b): return max(h(a), h(b))
        case .call(_, let items), .list(let items): return items.reduce(0) { max($0, h($1)) }
        case .map(let entries): return entries.reduce(0) { max($0, h($1.key), h($1.value)) }
        }
    }

    // MARK: - File and declarations

    private mutating func parseFile() -> [Decl] {
        var decls: [Decl] = []
        while current.kind != .eof {
            let start = position
            declarationStart = current.span.start
            declarationErrorStarts.removeAll(keepingCapacity: true)
            do {
                decls.append(try parseDeclaration())
            } catch {
                synchronize(from: start)
            }
        }
        return decls
    }

    /// Skips to the next token that can start a declaration, ignoring keywords nested inside braces
    /// unless they start a line at column 1.
    private mutating func synchronize(from start: Int) {
        var depth = 0
        for i in start..<position {
            switch tokens[i].kind {
            case .lBrace: depth += 1
            case .rBrace: depth = max(0, depth - 1)
            default: break
            }
        }
        if position == start { _ = advance() }
        while current.kind != .eof {
            if isDeclarationStart(current), depth == 0 || startsLineAtColumnOne(current) { return }
            switch current.kind {
            case .lBrace: depth += 1
            case .rBrace: depth = max(0, depth - 1)
            default: break
            }
            _ = advance()
        }
    }

    private mutating func parseDeclaration() throws -> Decl {
        let token = current
        guard token.kind == .identifier else {
            if token.kind == .invalid {
                // The lexer already reported it.
                throw Abort()
            }
            throw fail(.expected("a declaration", found: token, in: file, help: "a declaration starts with one of: \(Parser.declarationKeywords.joined(separator: ", "))"))
        }
        var word = text(token)
        var keyword = Identifier(word, span: token.span)
        if peek().kind == .minus, !Parser.declarationKeywordSet.contains(word) {
            // `kill-switch`: reported once, then read as `kill_switch`.
            _ = advance()
            if let joined = try hyphenatedName(after: keyword, known: Parser.declarationKeywordSet, what: "declaration") {
                (word, keyword) = (joined.name, joined)
            }
            // Each case below starts by stepping over its keyword: here, its last piece.
            position -= 1
        }
        switch word {
        case "policy":
            _ = advance()
            let name = try expectString("a policy name", context: "after `policy`")
            let body = try parseBlock(context: "policy")
            return Decl(keyword: keyword, kind: .policy(name: name, body: body), span: keyword.span.union(body.span))
        case "detector":
            return try parseDetector(keyword)
        case "timezone":
            _ = advance()
            let name = try expectString("a time zone name such as \"Europe/Berlin\"", context: "after `timezone`")
            return Decl(keyword: keyword, kind: .timezone(name), span: keyword.span.union(name.span))
        case "window":
            return try parseWindow(keyword)
        case "health":
            _ = advance()
            let name = try expectString("a health check name", context: "after `health`")
            if current.kind == .identifier, let kind = HealthProbe.Kind(rawValue: text(current)) {
                return try parseHealthProbe(keyword, name, kind)
            }
            if current.kind == .identifier, !isWord("script") {
                let word = text(current)
                throw fail(
                    Diagnostic(
                        .unexpectedToken, "unknown health check kind `\(word)`", at: current.span, label: "not a health check kind",
                        help: Diagnostic.didYouMean(closestMatch(word, in: ["script"] + HealthProbe.Kind.allCases.map(\.rawValue)))
                            ?? "the kinds are script, http, prometheus and alerts"))
            }
            _ = try expectWord("script", context: "after the health check name")
            let script = try parseExpression()
            var span = keyword.span.union(script.span)
            var body: Block?
            if current.kind == .lBrace {
                let b = try parseBlock(context: "health check")
                span = span.union(b.span)
                body = b
            }
            return Decl(keyword: keyword, kind: .health(name: name, script: script, body: body), span: span)
        case "lock":
            _ = advance()
            let kind = try expectIdentifier("`etcd` or `local`", context: "after `lock`")
            var span = keyword.span.union(kind.span)
            var body: Block?
            if current.kind == .lBrace {
                let b = try parseBlock(context: "lock")
                span = span.union(b.span)
                body = b
            }
            return Decl(keyword: keyword, kind: .lock(kind: kind, body: body), span: span)
        case "kill_switch":
            _ = advance()
            let kind = try expectIdentifier("`file` or `etcd`", context: "after `kill_switch`")
            var argument: StringLiteral?
            if current.kind == .string, !current.lineBreakBefore || kind.name == "file" {
                argument = try expectString("a path")
            }
            let span = keyword.span.union(argument?.span ?? kind.span)
            return Decl(keyword: keyword, kind: .killSwitch(kind: kind, argument: argument), span: span)
        case "reboot":
            _ = advance()
            _ = try expectWord("command", context: "after `reboot`")
            let command = try parseExpression()
            return Decl(keyword: keyword, kind: .reboot(command: command), span: keyword.span.union(command.span))
        case "cluster", "metrics":
            _ = advance()
            let body = try parseBlock(context: word)
            return Decl(keyword: keyword, kind: .settings(keyword: keyword, body: body), span: keyword.span.union(body.span))
        case "notify":
            _ = advance()
            let kind = try expectIdentifier("`webhook`", context: "after `notify`")
            let target = try expectString("the webhook's URL", context: "after `notify \(kind.name)`")
            var span = keyword.span.union(target.span)
            var body: Block?
            if current.kind == .lBrace {
                let b = try parseBlock(context: "notify")
                span = span.union(b.span)
                body = b
            }
            return Decl(keyword: keyword, kind: .notify(kind: kind, target: target, body: body), span: span)
        case "dry_run":
            _ = advance()
            let value = try parseExpression()
            return Decl(keyword: keyword, kind: .dryRun(value), span: keyword.span.union(value.span))
        case "rule":
            _ = advance()
            let name = try expectString("a rule name", context: "after `rule`")
            let body = try parseBlock(context: "rule")
            return Decl(keyword: keyword, kind: .rule(name: name, body: body), span: keyword.span.union(body.span))
        case "test":
            return try parseTest(keyword)
        default:
            throw fail(.unknownDeclaration(token.span, word, suggestion: closestMatch(word, in: Parser.declarationKeywords)))
        }
    }

    /// `health NAME http|prometheus|alerts "URL" [query "PROMQL"] [{ … }]`, the kind word current.
    private mutating func parseHealthProbe(_ keyword: Identifier, _ name: StringLiteral, _ kind: HealthProbe.Kind) throws -> Decl {
        let kindToken = advance()
        let kindName = Identifier(text(kindToken), span: kindToken.span)
        let target = try expectString("the endpoint's URL", context: "after `\(kind.rawValue)`")
        var span = keyword.span.union(target.span)
        var query: StringLiteral?
        if kind == .prometheus {
            _ = try expectWord("query", context: "after the Prometheus URL")
            let q = try expectString("a PromQL query", context: "after `query`")
            query = q
            span = span.union(q.span)
        }
        var body: Block?
        if current.kind == .lBrace {
            let b = try parseBlock(context: "health check")
            span = span.union(b.span)
            body = b
        }
        return Decl(keyword: keyword, kind: .healthProbe(name: name, kind: kindName, target: target, query: query, body: body), span: span)
    }

    private mutating func parseDetector(_ keyword: Identifier) throws -> Decl {
        _ = advance()
        let name = try expectString("a detector name", context: "after `detector`")
        guard current.kind == .identifier else {
            throw fail(
                .expected(
                    "a detector kind", found: current, in: file, context: "after the detector name",
                    help: "detector kinds are: \(DetectorKindName.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        let kindToken = advance()
        let kind = Identifier(text(kindToken), span: kindToken.span)
        var argument: Expr?
        var span = keyword.span.union(kind.span)
        switch DetectorKindName(rawValue: kind.name) {
        case .file?, .command?:
            let arg = try parseExpression()
            argument = arg
            span = span.union(arg.span)
        case nil:
            throw fail(.unknownDetectorKind(kind.span, kind.name, suggestion: closestMatch(kind.name, in: DetectorKindName.allCases.map(\.rawValue))))
        default:
            break
        }
        var body: Block?
        if current.kind == .lBrace {
            let b = try parseBlock(context: "detector")
            span = span.union(b.span)
            body = b
        }
        return Decl(keyword: keyword, kind: .detector(name: name, kind: kind, argument: argument, body: body), span: span)
    }

    // MARK: - Windows

    private mutating func parseDayRef() throws -> DayRef {
        guard current.kind == .identifier else {
            throw fail(.expected("a day (Mon … Sun) or `daily`", found: current, in: file, context: "in the window"))
        }
        let t = advance()
        let word = text(t)
        let day = Weekday(name: word)
        if day == nil {
            record(
                .unknownWeekday(t.span, word, suggestion: closestMatch(word, in: Weekday.allCases.map(\.shortName) + ["daily"])))
        }
        return DayRef(day: day, word: Identifier(word, span: t.span))
    }

    private mutating func parseTime(context: String) throws -> TimeOfDayLiteral {
        guard current.kind == .timeOfDay, case .timeOfDay(let minutes) = value(current) else {
            throw fail(.expected("a time of day such as 18:00", found: current, in: file, context: context))
        }
        let t = advance()
        return TimeOfDayLiteral(minutes: minutes, span: t.span)
    }

    private mutating func parseNumber(_ what: String, context: String) throws -> NumberLiteral {
        guard current.kind == .integer, case .integer(let n) = value(current) else {
            throw fail(.expected(what, found: current, in: file, context: context))
        }
        let t = advance()
        return NumberLiteral(value: n, span: t.span)
    }

    /// `2026-12-18` or `Dec 20`.
    private mutating func parseDate(context: String) throws -> DateLiteral {
        if current.kind == .date, case .date(let y, let m, let d) = value(current) {
            let t = advance()
            return DateLiteral(year: y, month: m, day: Int64(d), span: t.span)
        }
        guard current.kind == .identifier, let month = MonthName.number(text(current)) else {
            throw fail(.expected("a date such as `Jan 6` or `2027-01-04`", found: current, in: file, context: context))
        }
        let word = advance()
        let day = try parseNumber("a day of the month, as in `\(text(word)) 6`", context: "after the month")
        return DateLiteral(year: nil, month: month, day: day.value, span: word.span.union(day.span))
    }

    /// `DATE [TIME] [.. [DATE] [TIME]]`.
    private mutating func parseDated() throws -> DatedLiteral {
        let from = try parseDate(context: "in the window")
        var dated = DatedLiteral(from: from)
        if current.kind == .timeOfDay { dated.fromTime = try parseTime(context: "after the date") }
        guard eat(.dotDot) != nil else { return dated }
        if current.kind == .date || current.kind == .identifier { dated.to = try parseDate(context: "after `..`") }
        if current.kind == .timeOfDay {
            dated.toTime = try parseTime(context: "as the window's end")
        } else if dated.to == nil {
            throw fail(.expected("a date or a time of day", found: current, in: file, context: "after `..`"))
        }
        return dated
    }

    private mutating func parseWindow(_ keyword: Identifier) throws -> Decl {
        _ = advance()
        let effect = try expectIdentifier("`allow` or `deny`", context: "after `window`")
        if effect.name != "allow", effect.name != "deny" {
            throw fail(
                Diagnostic(
                    .unexpectedToken, "expected `allow` or `deny`, found `\(effect.name)`", at: effect.span,
                    label: "a window either allows or denies reboots",
                    help: Diagnostic.didYouMean(closestMatch(effect.name, in: ["allow", "deny"]))))
        }
        let name = try expectString("a window name", context: "after `window \(effect.name)`")
        var hyphens: [Span] = []
        var days: DaySpec
        if let daily = eatWord("daily") {
            days = .daily(daily.span)
        } else if current.kind == .date || (current.kind == .identifier && MonthName.number(text(current)) != nil) {
            days = .dated(try parseDated())
        } else if current.kind == .ordinal || (isWord("last") && peek().kind == .identifier && !isWord("day", peek()) && !isWord("days", peek())) {
            let t = advance()
            var ordinal = -1
            if case .ordinal(let n) = value(t) { ordinal = n }
            let from = try parseDayRef()
            var to: DayRef?
            if eat(.dotDot) != nil { to = try parseDayRef() }
            days = .monthlyWeekday(OrdinalRef(value: ordinal, span: t.span), DayRange(from: from, to: to))
        } else if let last = eatWord("last") {
            if let day = eatWord("day") {
                days = .monthDays(.last(count: nil, span: last.span.union(day.span)))
            } else {
                let count = try parseNumber("a number of days, as in `last 3 days`", context: "after `last`")
                let unit = eatWord("days") ?? eatWord("day")
                guard let unit else { throw fail(.expected("`days`", found: current, in: file, context: "after `last \(count.value)`")) }
                days = .monthDays(.last(count: count, span: last.span.union(unit.span)))
            }
        } else if let day = eatWord("day") {
            let from = try parseNumber("a day of the month, as in `day 28 .. 31`", context: "after `day`")
            var to: NumberLiteral?
            if current.kind == .dotDot, peek().kind == .integer {
                _ = advance()
                to = try parseNumber("a day of the month", context: "after `..`")
            }
            days = .monthDays(.range(from: from, to: to, span: day.span.union(to?.span ?? from.span)))
        } else {
            var ranges: [DayRange] = []
            repeat {
                let from = try parseDayRef()
                var to: DayRef?
                if eat(.dotDot) != nil {
                    to = try parseDayRef()
                } else if current.kind == .minus, peek().kind == .identifier {
                    // `Mon-Fri`: a day range written with a hyphen.
                    hyphens.append(advance().span)
                    to = try parseDayRef()
                }
                ranges.append(DayRange(from: from, to: to))
            } while eat(.comma) != nil
            days = .days(ranges)
        }
        var span = keyword.span.union(days.span)
        var start: TimeOfDayLiteral?
        var endDay: DayRef?
        var end: TimeOfDayLiteral?
        if case .dated = days {
            // A dated window's times belong to its dates.
        } else if current.kind == .timeOfDay {
            let s = try parseTime(context: "as the window's start")
            if current.kind == .minus, peek().kind == .timeOfDay || peek().kind == .identifier {
                // `22:00-04:00`
                hyphens.append(advance().span)
            } else {
                _ = try expect(.dotDot, "`..`", context: "between the window's start and end")
            }
            if current.kind == .identifier, !isWord("in"), !current.lineBreakBefore { endDay = try parseDayRef() }
            let e = try parseTime(context: "as the window's end")
            start = s
            end = e
            span = span.union(e.span)
        }
        var timeZone: StringLiteral?
        if eatWord("in") != nil {
            let tz = try expectString("a time zone name", context: "after `in`")
            timeZone = tz
            span = span.union(tz.span)
        }
        let window = WindowDecl(effect: effect, name: name, days: days, start: start, endDay: endDay, end: end, timeZone: timeZone)
        if !hyphens.isEmpty {
            // One mistake, one diagnostic: every hyphen of the window, and the window as it is meant.
            let what = hyphens.count > 1 ? "range of days and times" : hyphens[0].start < days.span.end ? "range of days" : "range of times"
            record(.hyphenRange(hyphens, what: what, fix: window.canonicalRange(in: file)))
        }
        return Decl(keyword: keyword, kind: .window(window), span: span)
    }

    // MARK: - Tests

    private mutating func parseTest(_ keyword: Identifier) throws -> Decl {
        _ = advance()
        let name = try expectString("a test name", context: "after `test`")
        let open = try expect(.lBrace, context: "to open the test")
        var given: [GivenItem] = []
        var givenSpan: Span?
        var expectations: [Expectation] = []
        while current.kind != .rBrace {
            if current.kind == .eof || (isDeclarationStart(current) && startsLineAtColumnOne(current)) {
                throw fail(.unclosed(open.span, opener: "{", closer: "}", found: current))
            }
            if let g = eatWord("given") {
                let gOpen = try expect(.lBrace, context: "after `given`")
                while current.kind != .rBrace {
                    if current.kind == .eof || (isDeclarationStart(current) && startsLineAtColumnOne(current)) {
                        throw fail(.unclosed(gOpen.span, opener: "{", closer: "}", found: current))
                    }
                    given.append(try parseGivenItem())
                }
                let close = advance()
                givenSpan = g.span.union(close.span)
            } else if let e = eatWord("expect") {
                let outcome = try expectIdentifier("`reboot`, `no_reboot` or `blocked`", context: "after `expect`")
                var by: Identifier?
                var target: StringLiteral?
                var span = e.span.union(outcome.span)
                if outcome.name == "blocked" {
                    _ = try expectWord("by", context: "after `blocked`")
                    let b = try expectIdentifier(
                        "what blocks", context: "after `blocked by`",
                        help: "write one of: kill_switch, window \"name\", rule \"name\", health \"name\", lock, detector \"name\"")
                    by = b
                    span = span.union(b.span)
                    if current.kind == .string {
                        let s = try expectString("a name")
                        target = s
                        span = span.union(s.span)
                    }
                }
                expectations.append(Expectation(outcome: outcome, blockedBy: by, name: target, span: span))
            } else {
                throw fail(.expected("`given` or `expect`", found: current, in: file, context: "in the test"))
            }
        }
        let close = advance()
        let test = TestDecl(name: name, given: given, givenSpan: givenSpan, expectations: expectations, bodySpan: open.span.union(close.span))
        return Decl(keyword: keyword, kind: .test(test), span: keyword.span.union(close.span))
    }

    private mutating func parseGivenItem() throws -> GivenItem {
        let head = try expectIdentifier("a fact such as `now` or `node.name`", context: "in `given`")
        if head.name == "health", current.kind == .string, isMeasuredValueWord(peek()) {
            let name = try expectString("a name")
            var values: [(Identifier, Expr)] = []
            var span = head.span.union(name.span)
            while current.kind == .identifier, isMeasuredValueWord(current), !current.lineBreakBefore {
                let t = advance()
                let value = try parseExpression()
                values.append((Identifier(text(t), span: t.span), value))
                span = span.union(value.span)
            }
            return .healthValues(name: name, values: values, span: span)
        }
        if (head.name == "detector" || head.name == "health"), current.kind == .string {
            let name = try expectString("a name")
            let state = try expectIdentifier(
                head.name == "detector" ? "`fired`, `clear` or `error`" : "`ok` or `fails`", context: "after the name")
            var message: StringLiteral?
            if current.kind == .string, !current.lineBreakBefore { message = try expectString("a message") }
            let span = head.span.union(message?.span ?? state.span)
            return head.name == "detector"
                ? .detector(name: name, state: state, message: message, span: span)
                : .health(name: name, state: state, message: message, span: span)
        }
        var path = [head]
        while current.kind == .dot, !current.lineBreakBefore {
            _ = advance()
            path.append(try expectIdentifier("a field name", context: "after `.`"))
        }
        _ = eat(.assign)
        let value = try parseExpression()
        return .fact(path: path, value: value, span: head.span.union(value.span))
    }

    /// A value a measuring health check gives its condition, as `given` names it (`value`, `status`, `json`, …).
    private func isMeasuredValueWord(_ token: Token) -> Bool {
        token.kind == .identifier && ["status", "json", "value", "result", "empty", "alerts"].contains(text(token))
    }

    // MARK: - Blocks

    private mutating func parseBlock(context: String) throws -> Block {
        let open = try expect(.lBrace, context: "to open the \(context) block")
        var fields: [Field] = []
        while current.kind != .rBrace {
            if current.kind == .eof || (isDeclarationStart(current) && startsLineAtColumnOne(current)) {
                throw fail(.unclosed(open.span, opener: "{", closer: "}", found: current))
            }
            guard current.kind == .identifier else {
                throw fail(.expected("a field name or `}`", found: current, in: file, context: "in the \(context) block"))
            }
            var nameToken = advance()
            var name = Identifier(text(nameToken), span: nameToken.span)
            if let hyphenated = try hyphenatedName(after: name, known: Parser.fieldNames, what: "field") { name = hyphenated }
            if name.name == "deny" || name.name == "ok", isWord("when") {
                nameToken = advance()
                name = Identifier(name.name + " when", span: name.span.union(nameToken.span))
            } else if isWord("if"), !current.lineBreakBefore, let fixed = try whenForIf(after: name, in: context) {
                name = fixed
            }
            let value: FieldValue
            // `{name: value}` (a key then a colon) is a map literal, `{ name value }` a nested block.
            if current.kind == .lBrace, peek(2).kind != .colon {
                value = .block(try parseNestedBlock(context: name.name))
            } else {
                let first = try parseExpression()
                if eat(.dotDot) != nil {
                    value = .range(first, try parseExpression())
                } else {
                    var list = [first]
                    while eat(.comma) != nil { list.append(try parseExpression()) }
                    value = .exprs(list)
                }
            }
            let end: Span
            switch value {
            case .exprs(let l): end = l.last!.span
            case .range(_, let h): end = h.span
            case .block(let b): end = b.span
            }
            fields.append(Field(name: name, value: value, span: name.span.union(end)))
            if current.kind != .rBrace, current.kind != .identifier, current.kind != .eof {
                throw fail(.expected("a new line, another field or `}`", found: current, in: file, context: "after the field `\(name.name)`"))
            }
        }
        let close = advance()
        let singleLine = file.lineIndex(of: open.span.start) == file.lineIndex(of: close.span.start)
        return Block(fields: fields, span: open.span.union(close.span), singleLine: singleLine)
    }

    /// `applies-to`: a name followed, without spaces, by `-word` pieces. When the name with `_` is `known`, reports
    /// it once and goes on with that name; otherwise the declaration is given up. `nil` when there is no `-` to join.
    private mutating func hyphenatedName(after name: Identifier, known: Set<String>, what: String) throws -> Identifier? {
        var end = name.span.end
        var pieces = [name.name]
        var ahead = 0
        while peek(ahead).kind == .minus, peek(ahead).span.start == end, peek(ahead + 1).kind == .identifier,
            peek(ahead + 1).span.start == peek(ahead).span.end
        {
            pieces.append(text(peek(ahead + 1)))
            end = peek(ahead + 1).span.end
            ahead += 2
        }
        guard pieces.count > 1 else { return nil }
        let span = Span(name.span.start, end)
        let joined = pieces.joined(separator: "_")
        let suggestion = known.contains(joined) ? joined : nil
        for _ in 0..<ahead { _ = advance() }
        let diagnostic = Diagnostic.hyphenatedName(span, written: pieces.joined(separator: "-"), suggestion: suggestion, what: what)
        guard suggestion != nil else { throw fail(diagnostic) }
        record(diagnostic)
        return Identifier(joined, span: span)
    }

    /// `deny if`, `ok if`, `reboot if` at `if`: reported once, and read as `deny when`, `ok_when`, `reboot_when`
    /// (`nil`: not one of those). `allow if` is refused, as rules only deny.
    private mutating func whenForIf(after name: Identifier, in context: String) throws -> Identifier? {
        // A health check's condition is `ok when`, a command detector's `ok_when`.
        let ok = context == "health check" ? "ok when" : "ok_when"
        let fixes = ["deny": "deny when", "ok": ok, "reboot": "reboot_when", "ok_when": "ok_when", "reboot_when": "reboot_when"]
        let ifToken = current
        if name.name == "allow" { throw fail(.allowIf(name.span.union(ifToken.span))) }
        guard let fix = fixes[name.name] else { return nil }
        _ = advance()
        record(.ifForWhen(name.span.union(ifToken.span), written: "\(name.name) if", fix: fix))
        return Identifier(fix, span: name.span.union(ifToken.span))
    }

    /// A block inside a block (`tls { … }`); nesting counts towards ``maxNesting``.
    private mutating func parseNestedBlock(context: String) throws -> Block {
        try enter(current.span, what: "blocks")
        defer { leave() }
        return try parseBlock(context: context)
    }

    // MARK: - Expressions

    private mutating func enter(_ span: Span, what: String = "expression") throws {
        depth += 1
        if depth > Parser.maxNesting {
            throw fail(.nestingTooDeep(span, limit: Parser.maxNesting, what: what))
        }
    }

    private mutating func leave() { depth -= 1 }

    /// Parses an expression.
    mutating func parseExpression() throws -> Expr {
        try parseBinary(minPrecedence: 1)
    }

    private func binaryOperator() -> BinaryOperator? {
        switch current.kind {
        case .equalEqual: return .equal
        case .bangEqual: return .notEqual
        case .less: return .less
        case .lessEqual: return .lessEqual
        case .greater: return .greater
        case .greaterEqual: return .greaterEqual
        case .plus: return .add
        case .minus: return .subtract
        case .star: return .multiply
        case .slash: return .divide
        case .identifier:
            if isWord("and") { return .and }
            if isWord("or") { return .or }
            if isWord("in") { return .in }
            if isWord("matches") { return .matches }
            if isWord("not"), isWord("in", peek()) { return .notIn }
            return nil
        default: return nil
        }
    }

    private mutating func parseBinary(minPrecedence: Int) throws -> Expr {
        var lhs = try parseUnary()
        while let op = binaryOperator(), op.precedence >= minPrecedence {
            let opToken = advance()
            if op == .notIn { _ = advance() }
            try enter(opToken.span)
            defer { leave() }
            let rhs = try parseBinary(minPrecedence: op.precedence + 1)
            if op.isComparison, let next = binaryOperator(), next.isComparison {
                throw fail(
                    Diagnostic(
                        .unexpectedToken, "comparisons cannot be chained", at: current.span,
                        label: "a second comparison", help: "join the comparisons with `and`"))
            }
            lhs = try makeExpr(.binary(op, lhs, rhs), lhs.span.union(rhs.span), at: opToken.span)
        }
        return lhs
    }

    private mutating func parseUnary() throws -> Expr {
        if isWord("not") {
            let t = advance()
            try enter(t.span)
            defer { leave() }
            // `not` binds looser than comparisons: `not a == b` is `not (a == b)`.
            let operand = try parseBinary(minPrecedence: 3)
            return try makeExpr(.unary(.not, operand), t.span.union(operand.span), at: t.span)
        }
        if current.kind == .minus {
            let t = advance()
            try enter(t.span)
            defer { leave() }
            let operand = try parseUnary()
            return try makeExpr(.unary(.negate, operand), t.span.union(operand.span), at: t.span)
        }
        let operand = try parsePostfix()
        if isWord("of") {
            let t = advance()
            try enter(t.span)
            defer { leave() }
            let whole = try parseUnary()
            return try makeExpr(.percentOf(operand, whole), operand.span.union(whole.span), at: t.span)
        }
        return operand
    }

    private mutating func parsePostfix() throws -> Expr {
        var expr = try parsePrimary()
        while !current.lineBreakBefore {
            if current.kind == .dot {
                _ = advance()
                let member = try expectIdentifier("a field name", context: "after `.`")
                expr = try makeExpr(.member(expr, member), expr.span.union(member.span), at: member.span)
            } else if current.kind == .lBracket {
                let open = advance()
                try enter(open.span)
                defer { leave() }
                let key = try parseExpression()
                guard let close = eat(.rBracket) else {
                    throw fail(.unclosed(open.span, opener: "[", closer: "]", found: current))
                }
                expr = try makeExpr(.index(expr, key), expr.span.union(close.span), at: open.span)
            } else {
                break
            }
        }
        return expr
    }

    private mutating func parseList<T>(
        open: Token, closer: TokenKind, closerText: String, _ element: (inout Parser) throws -> T
    ) throws -> ([T], Token) {
        var items: [T] = []
        while current.kind != closer {
            if current.kind == .eof || (isDeclarationStart(current) && startsLineAtColumnOne(current)) {
                throw fail(.unclosed(open.span, opener: file.text(open.span), closer: closerText, found: current))
            }
            items.append(try element(&self))
            if eat(.comma) == nil, current.kind != closer {
                if current.kind == .eof || (isDeclarationStart(current) && startsLineAtColumnOne(current))
                    || current.kind == .rBrace || current.kind == .rParen || current.kind == .rBracket
                {
                    throw fail(.unclosed(open.span, opener: file.text(open.span), closer: closerText, found: current))
                }
                throw fail(.expected("`,` or `\(closerText)`", found: current, in: file, context: "in the list"))
            }
        }
        return (items, advance())
    }

    private mutating func parsePrimary() throws -> Expr {
        let t = current
        switch t.kind {
        case .integer:
            _ = advance()
            if current.kind == .identifier, !current.lineBreakBefore, let unit = Parser.durationUnits[text(current)] {
                // `10 min`: a duration with a space before its unit.
                let number = text(t)
                throw fail(.spacedDurationUnit(t.span.union(current.span), number: number, unit: text(current), canonical: unit))
            }
            if case .integer(let v) = value(t) { return try makeExpr(.integer(v), t.span) }
        case .number:
            _ = advance()
            if case .number(let v) = value(t) { return try makeExpr(.number(v), t.span) }
        case .percent:
            _ = advance()
            if case .percent(let v) = value(t) { return try makeExpr(.percent(v), t.span) }
        case .duration:
            _ = advance()
            if case .duration(let v) = value(t) { return try makeExpr(.duration(v), t.span) }
        case .timeOfDay:
            _ = advance()
            if case .timeOfDay(let v) = value(t) { return try makeExpr(.timeOfDay(v), t.span) }
        case .instant:
            _ = advance()
            if case .instant(let v) = value(t) { return try makeExpr(.instant(v), t.span) }
        case .date:
            throw fail(
                .expected(
                    "an expression", found: t, in: file,
                    help: "a date alone is not an instant: write `\(text(t))T00:00:00Z` (a time and an offset), or use a dated window"))
        case .string:
            _ = advance()
            if case .string(let parts) = value(t) { return try makeExpr(.string(StringLiteral(parts: parts, span: t.span)), t.span) }
        case .regex:
            _ = advance()
            if case .regex(let p, let f) = value(t) { return try makeExpr(.regex(pattern: p, flags: f), t.span) }
        case .identifier:
            let word = text(t)
            if word == "true" || word == "false" {
                _ = advance()
                return try makeExpr(.bool(word == "true"), t.span)
            }
            if ["and", "or", "in", "matches", "of"].contains(word) {
                throw fail(.expected("an expression", found: t, in: file, help: "`\(word)` is an operator and needs a value before it"))
            }
            _ = advance()
            if current.kind == .lParen, !current.lineBreakBefore {
                let open = advance()
                try enter(open.span)
                defer { leave() }
                let (args, close) = try parseList(open: open, closer: .rParen, closerText: ")") { try $0.parseExpression() }
                return try makeExpr(.call(Identifier(word, span: t.span), args), t.span.union(close.span), at: open.span)
            }
            return try makeExpr(.name(word), t.span)
        case .lParen:
            let open = advance()
            try enter(open.span)
            defer { leave() }
            let inner = try parseExpression()
            guard let close = eat(.rParen) else {
                throw fail(.unclosed(open.span, opener: "(", closer: ")", found: current))
            }
            var e = inner
            e.span = open.span.union(close.span)
            return e
        case .lBracket:
            let open = advance()
            try enter(open.span)
            defer { leave() }
            let (items, close) = try parseList(open: open, closer: .rBracket, closerText: "]") { try $0.parseExpression() }
            return try makeExpr(.list(items), open.span.union(close.span), at: open.span)
        case .lBrace:
            let open = advance()
            try enter(open.span)
            defer { leave() }
            let (entries, close) = try parseList(open: open, closer: .rBrace, closerText: "}") { p -> (key: Expr, value: Expr) in
                let key = try p.parseExpression()
                _ = try p.expect(.colon, "`:`", context: "between a map key and its value")
                let value = try p.parseExpression()
                return (key, value)
            }
            return try makeExpr(.map(entries), open.span.union(close.span), at: open.span)
        case .invalid:
            // Already reported by the lexer.
            throw Abort()
        default:
            break
        }
        throw fail(.expected("an expression", found: t, in: file))
    }
}

/// The built-in and generic detector kinds.
public enum DetectorKindName: String, Sendable, CaseIterable {
    case file, command, debian, rhel, suse, needrestart, kernel
}
