/// Prints a syntax tree in rc's canonical layout, keeping every comment.
///
/// Layout: two-space indents, one declaration per line, single spaces between words, field names of a
/// block aligned, short blocks that were written on one line kept on one line, lists that were written
/// across lines kept one element per line. Blank lines between declarations and fields are kept (at most one).
/// The output of formatting formatted text is the same text.
public struct Formatter {
    /// The widest line a block is joined onto when it was written on one line.
    public static let lineWidth = 100

    private let tree: SyntaxTree
    private var file: SourceFile { tree.file }
    private var lines: [String] = []
    private var commentIndex = 0
    private var indent = 0
    /// Source offset up to which everything has been printed.
    private var cursor = 0

    /// Formats a syntax tree. The tree must have no syntax errors (a broken declaration would be lost).
    public static func format(_ tree: SyntaxTree) -> String {
        var f = Formatter(tree: tree)
        f.run()
        var text = f.lines.joined(separator: "\n")
        while text.hasSuffix("\n") { text.removeLast() }
        return text.isEmpty ? "" : text + "\n"
    }

    private init(tree: SyntaxTree) { self.tree = tree }

    // MARK: - Lines and comments

    private var pad: String { String(repeating: "  ", count: indent) }

    private func blankLineBetween(_ a: Int, _ b: Int) -> Bool {
        guard a < b else { return false }
        var newlines = 0
        for i in a..<min(b, file.bytes.count) {
            let c = file.bytes[i]
            if c == 10 {
                newlines += 1
                if newlines >= 2 { return true }
            } else if c != 32, c != 9, c != 13 {
                newlines = 0
            }
        }
        return false
    }

    private mutating func emit(_ line: String, at sourceStart: Int) {
        if !lines.isEmpty, lines.last != "", blankLineBetween(cursor, sourceStart), !(lines.last?.hasSuffix("{") ?? false) {
            lines.append("")
        }
        lines.append(line.isEmpty ? "" : pad + line)
    }

    /// Prints the comments that start before `offset` on lines of their own.
    private mutating func flushComments(before offset: Int) {
        while commentIndex < tree.comments.count, tree.comments[commentIndex].span.start < offset {
            let comment = tree.comments[commentIndex]
            emit(comment.text, at: comment.span.start)
            cursor = comment.span.end
            commentIndex += 1
        }
    }

    /// Appends a comment that sits on the same source line as `end` to the last printed line.
    private mutating func trailingComment(after end: Int) {
        guard commentIndex < tree.comments.count else { return }
        let comment = tree.comments[commentIndex]
        guard !comment.ownLine, file.lineIndex(of: comment.span.start) == file.lineIndex(of: max(0, end - 1)) || comment.span.start < end
        else { return }
        lines[lines.count - 1] += "  " + comment.text
        cursor = comment.span.end
        commentIndex += 1
    }

    private func hasComment(in span: Span) -> Bool {
        tree.comments[commentIndex...].contains { $0.span.start >= span.start && $0.span.start < span.end }
    }

    // MARK: - Declarations

    private mutating func run() {
        for decl in tree.decls {
            flushComments(before: decl.span.start)
            declaration(decl)
        }
        flushComments(before: Int.max)
    }

    private mutating func line(_ text: String, start: Int, end: Int) {
        emit(text, at: start)
        cursor = end
        trailingComment(after: end)
    }

    private mutating func declaration(_ decl: Decl) {
        let start = decl.span.start
        switch decl.kind {
        case .policy(let name, let body):
            block("policy \(src(name.span))", body, start: start)
        case .detector(let name, let kind, let argument, let body):
            var head = "detector \(src(name.span)) \(kind.name)"
            if let argument { head += " " + expr(argument) }
            if let body { block(head, body, start: start) } else { line(head, start: start, end: decl.span.end) }
        case .timezone(let name):
            line("timezone \(src(name.span))", start: start, end: decl.span.end)
        case .window(let w):
            var text = "window \(w.effect.name) \(src(w.name.span)) "
            switch w.days {
            case .daily: text += "daily"
            case .days(let ranges):
                text += ranges.map { r in
                    day(r.from) + (r.to.map { ".." + day($0) } ?? "")
                }.joined(separator: ", ")
            }
            if let s = w.start, let e = w.end {
                text += " \(src(s.span)) .. " + (w.endDay.map { day($0) + " " } ?? "") + src(e.span)
            }
            if let tz = w.timeZone { text += " in \(src(tz.span))" }
            line(text, start: start, end: decl.span.end)
        case .health(let name, let script, let body):
            let head = "health \(src(name.span)) script \(expr(script))"
            if let body { block(head, body, start: start) } else { line(head, start: start, end: decl.span.end) }
        case .healthProbe(let name, let kind, let target, let query, let body):
            let head = "health \(src(name.span)) \(kind.name) \(src(target.span))" + (query.map { " query " + src($0.span) } ?? "")
            if let body { block(head, body, start: start) } else { line(head, start: start, end: decl.span.end) }
        case .lock(let kind, let body):
            let head = "lock \(kind.name)"
            if let body { block(head, body, start: start) } else { line(head, start: start, end: decl.span.end) }
        case .killSwitch(let kind, let argument):
            line("kill_switch \(kind.name)" + (argument.map { " " + src($0.span) } ?? ""), start: start, end: decl.span.end)
        case .reboot(let command):
            valueLines(prefix: "reboot command ", command, start: start, end: decl.span.end)
        case .settings(let keyword, let body):
            block(keyword.name, body, start: start)
        case .notify(let kind, let target, let body):
            let head = "notify \(kind.name) \(src(target.span))"
            if let body { block(head, body, start: start) } else { line(head, start: start, end: decl.span.end) }
        case .dryRun(let value):
            line("dry_run \(expr(value))", start: start, end: decl.span.end)
        case .rule(let name, let body):
            block("rule \(src(name.span))", body, start: start)
        case .test(let test):
            testDecl(test, start: start)
        }
    }

    private func day(_ ref: DayRef) -> String { ref.day?.shortName ?? ref.word.name }

    private func src(_ span: Span) -> String { file.text(span) }

    // MARK: - Blocks

    private func inlineField(_ field: Field) -> String? {
        switch field.value {
        case .exprs(let items):
            if items.contains(where: isMultilineList) { return nil }
            return field.name.name + " " + items.map(expr).joined(separator: ", ")
        case .range(let a, let b):
            return "\(field.name.name) \(expr(a)) .. \(expr(b))"
        case .block(let b):
            guard let inner = inlineBlock(b) else { return nil }
            return "\(field.name.name) \(inner)"
        }
    }

    private func inlineBlock(_ block: Block) -> String? {
        guard block.singleLine, !hasComment(in: block.span) else { return nil }
        if block.fields.isEmpty { return "{}" }
        var parts: [String] = []
        for field in block.fields {
            guard let text = inlineField(field) else { return nil }
            parts.append(text)
        }
        return "{ " + parts.joined(separator: "  ") + " }"
    }

    private mutating func block(_ head: String, _ block: Block, start: Int) {
        if let inline = inlineBlock(block), pad.count + head.count + 1 + inline.count <= Formatter.lineWidth {
            line(head + " " + inline, start: start, end: block.span.end)
            return
        }
        emit(head + " {", at: start)
        cursor = block.span.start + 1
        trailingComment(after: block.span.start + 1)
        indent += 1
        let width = block.fields.filter { if case .block = $0.value { false } else { true } }.map { $0.name.name.count }.max() ?? 0
        for field in block.fields {
            flushComments(before: field.span.start)
            var name = field.name.name.padding(to: width)
            if case .block = field.value { name = field.name.name }
            switch field.value {
            case .exprs(let items) where items.count == 1 && isMultilineList(items[0]):
                valueLines(prefix: name + " ", items[0], start: field.span.start, end: field.span.end)
            case .exprs(let items):
                line(name + " " + items.map(expr).joined(separator: ", "), start: field.span.start, end: field.span.end)
            case .range(let a, let b):
                line("\(name) \(expr(a)) .. \(expr(b))", start: field.span.start, end: field.span.end)
            case .block(let nested):
                self.block(name, nested, start: field.span.start)
            }
        }
        flushComments(before: block.span.end - 1)
        indent -= 1
        emit("}", at: block.span.end - 1)
        cursor = block.span.end
        trailingComment(after: block.span.end)
    }

    /// Prints `prefix VALUE`, spreading a list that was written across lines one element per line.
    private mutating func valueLines(prefix: String, _ value: Expr, start: Int, end: Int) {
        guard isMultilineList(value), case .list(let items) = value.kind else {
            line(prefix + expr(value), start: start, end: end)
            return
        }
        emit(prefix + "[", at: start)
        cursor = value.span.start + 1
        trailingComment(after: value.span.start + 1)
        indent += 1
        for item in items {
            flushComments(before: item.span.start)
            line(expr(item) + ",", start: item.span.start, end: item.span.end)
            // A comment after the element's comma belongs to the element.
            if commentIndex < tree.comments.count, !tree.comments[commentIndex].ownLine,
                file.lineIndex(of: tree.comments[commentIndex].span.start) == file.lineIndex(of: item.span.end)
            {
                trailingComment(after: tree.comments[commentIndex].span.start + 1)
            }
        }
        flushComments(before: value.span.end - 1)
        indent -= 1
        emit("]", at: value.span.end - 1)
        cursor = value.span.end
        trailingComment(after: end)
    }

    private func isMultilineList(_ e: Expr) -> Bool {
        guard case .list(let items) = e.kind, !items.isEmpty else { return false }
        return file.lineIndex(of: e.span.start) != file.lineIndex(of: e.span.end - 1)
    }

    // MARK: - Tests

    private mutating func testDecl(_ test: TestDecl, start: Int) {
        let head = "test \(src(test.name.span))"
        if let inline = inlineTest(test), pad.count + head.count + 1 + inline.count <= Formatter.lineWidth {
            line(head + " " + inline, start: start, end: test.bodySpan.end)
            return
        }
        emit(head + " {", at: start)
        cursor = test.bodySpan.start + 1
        trailingComment(after: cursor)
        indent += 1
        if let givenSpan = test.givenSpan {
            flushComments(before: givenSpan.start)
            let items = test.given.map(givenItem)
            let inline = "given { " + items.joined(separator: "  ") + " }"
            let singleLine = file.lineIndex(of: givenSpan.start) == file.lineIndex(of: givenSpan.end - 1)
            if singleLine, !hasComment(in: givenSpan), pad.count + inline.count <= Formatter.lineWidth, !items.isEmpty {
                line(inline, start: givenSpan.start, end: givenSpan.end)
            } else if items.isEmpty {
                line("given {}", start: givenSpan.start, end: givenSpan.end)
            } else {
                emit("given {", at: givenSpan.start)
                cursor = givenSpan.start + 1
                indent += 1
                for (item, text) in zip(test.given, items) {
                    flushComments(before: item.span.start)
                    line(text, start: item.span.start, end: item.span.end)
                }
                flushComments(before: givenSpan.end - 1)
                indent -= 1
                emit("}", at: givenSpan.end - 1)
                cursor = givenSpan.end
                trailingComment(after: givenSpan.end)
            }
        }
        if let e = test.expectation {
            flushComments(before: e.span.start)
            line(expectation(e), start: e.span.start, end: e.span.end)
        }
        flushComments(before: test.bodySpan.end - 1)
        indent -= 1
        emit("}", at: test.bodySpan.end - 1)
        cursor = test.bodySpan.end
        trailingComment(after: test.bodySpan.end)
    }

    private func inlineTest(_ test: TestDecl) -> String? {
        guard file.lineIndex(of: test.bodySpan.start) == file.lineIndex(of: test.bodySpan.end - 1), !hasComment(in: test.bodySpan)
        else { return nil }
        var parts: [String] = []
        if test.givenSpan != nil { parts.append("given { " + test.given.map(givenItem).joined(separator: "  ") + " }") }
        if let e = test.expectation { parts.append(expectation(e)) }
        return "{ " + parts.joined(separator: "  ") + " }"
    }

    private func givenItem(_ item: GivenItem) -> String {
        switch item {
        case .fact(let path, let value, _):
            return path.map(\.name).joined(separator: ".") + " " + expr(value)
        case .detector(let name, let state, let message, _), .health(let name, let state, let message, _):
            let word: String
            if case .detector = item { word = "detector" } else { word = "health" }
            return "\(word) \(src(name.span)) \(state.name)" + (message.map { " " + src($0.span) } ?? "")
        case .healthValues(let name, let values, _):
            return "health \(src(name.span))" + values.map { " \($0.0.name) \(expr($0.1))" }.joined()
        }
    }

    private func expectation(_ e: Expectation) -> String {
        var text = "expect \(e.outcome.name)"
        if let by = e.blockedBy { text += " by \(by.name)" }
        if let name = e.name { text += " " + src(name.span) }
        return text
    }

    // MARK: - Expressions

    /// Whether the source wrapped this expression in parentheses.
    private func parenthesized(_ e: Expr) -> Bool {
        guard e.span.start < file.bytes.count, file.bytes[e.span.start] == UInt8(ascii: "(") else { return false }
        switch e.kind {
        case .call, .list, .map, .string, .regex: return false
        default:
            let leftmost = leftmostStart(e)
            return leftmost == nil || leftmost! != e.span.start
        }
    }

    private func leftmostStart(_ e: Expr) -> Int? {
        switch e.kind {
        case .member(let b, _), .index(let b, _), .binary(_, let b, _), .percentOf(let b, _): b.span.start
        default: nil
        }
    }

    /// The canonical text of an expression.
    func expr(_ e: Expr) -> String {
        let text: String
        switch e.kind {
        case .bool, .integer, .number, .percent, .duration, .timeOfDay, .instant, .error:
            text = src(literalSpan(e))
        case .string(let s): text = src(s.span)
        case .regex: text = src(literalSpan(e))
        case .name(let n): text = n
        case .member(let base, let field): text = expr(base) + "." + field.name
        case .index(let base, let key): text = expr(base) + "[" + expr(key) + "]"
        case .call(let f, let args): text = f.name + "(" + args.map(expr).joined(separator: ", ") + ")"
        case .unary(.not, let operand): text = "not " + expr(operand)
        case .unary(.negate, let operand): text = "-" + expr(operand)
        case .binary(let op, let l, let r): text = expr(l) + " " + op.rawValue + " " + expr(r)
        case .percentOf(let p, let w): text = expr(p) + " of " + expr(w)
        case .list(let items): text = "[" + items.map(expr).joined(separator: ", ") + "]"
        case .map(let entries): text = "{" + entries.map { expr($0.key) + ": " + expr($0.value) }.joined(separator: ", ") + "}"
        }
        return parenthesized(e) ? "(" + text + ")" : text
    }

    /// The span of a literal without surrounding parentheses.
    private func literalSpan(_ e: Expr) -> Span {
        var s = e.span
        while s.start < s.end, file.bytes[s.start] == UInt8(ascii: "("), file.bytes[s.end - 1] == UInt8(ascii: ")") {
            s = Span(s.start + 1, s.end - 1)
            while s.start < s.end, [32, 9, 10, 13].contains(file.bytes[s.start]) { s.start += 1 }
            while s.start < s.end, [32, 9, 10, 13].contains(file.bytes[s.end - 1]) { s.end -= 1 }
        }
        return s
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
