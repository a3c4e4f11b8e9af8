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

    /// Whether a comment not printed yet starts inside `span` (comments are in source order, so the scan stops at
    /// the first one past the span).
    /// Appends the comment that ends the source line of `end` to the last printed line, when no more of the
    /// expression (from `next` on, if given) is written on that line before it.
    private mutating func trailingComment(after end: Int, before next: Int?) {
        guard commentIndex < tree.comments.count else { return }
        let comment = tree.comments[commentIndex]
        let line = file.lineIndex(of: max(0, end - 1))
        guard !comment.ownLine, file.lineIndex(of: comment.span.start) == line,
            next.map { comment.span.start < $0 || file.lineIndex(of: $0) != line } ?? true
        else { return }
        lines[lines.count - 1] += "  " + comment.text
        cursor = comment.span.end
        commentIndex += 1
    }

    private func hasComment(in span: Span) -> Bool {
        var i = commentIndex
        while i < tree.comments.count, tree.comments[i].span.start < span.end {
            if tree.comments[i].span.start >= span.start { return true }
            i += 1
        }
        return false
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
            declarationWithArgument("detector \(src(name.span)) \(kind.name)", argument, body, start: start, end: decl.span.end)
        case .timezone(let name):
            line("timezone \(src(name.span))", start: start, end: decl.span.end)
        case .window(let w):
            var text = "window \(w.effect.name) \(src(w.name.span)) " + w.canonicalRange(in: file)
            if let tz = w.timeZone { text += " in \(src(tz.span))" }
            line(text, start: start, end: decl.span.end)
        case .health(let name, let script, let body):
            declarationWithArgument("health \(src(name.span)) script", script, body, start: start, end: decl.span.end)
        case .healthProbe(let name, let kind, let target, let query, let body):
            let head = "health \(src(name.span)) \(kind.name) \(src(target.span))" + (query.map { " query " + src($0.span) } ?? "")
            if let body { block(head, body, start: start) } else { line(head, start: start, end: decl.span.end) }
        case .lock(let kind, let body):
            let head = "lock \(kind.name)"
            if let body { block(head, body, start: start) } else { line(head, start: start, end: decl.span.end) }
        case .killSwitch(let kind, let argument):
            line("kill_switch \(kind.name)" + (argument.map { " " + src($0.span) } ?? ""), start: start, end: decl.span.end)
        case .reboot(let command):
            if mustBreak("reboot command ", command) {
                valueLines(prefix: "reboot command ", command, start: start, end: decl.span.end)
            } else {
                line("reboot command " + expr(command), start: start, end: decl.span.end)
            }
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
        blockBody(block)
    }

    /// `HEAD ARGUMENT [{ … }]` (a detector's or health check's argv): the argv one element per line when it would
    /// pass ``lineWidth``, was written over several lines or holds a comment, with the block after its `]`.
    private mutating func declarationWithArgument(_ head: String, _ argument: Expr?, _ body: Block?, start: Int, end: Int) {
        guard let argument, case .list(let items) = argument.kind, !items.isEmpty, mustBreak(head + " ", argument) else {
            let text = head + (argument.map { " " + expr($0) } ?? "")
            if let body { block(text, body, start: start) } else { line(text, start: start, end: end) }
            return
        }
        listLines(prefix: head + " ", argument, items, start: start, end: body == nil ? end : argument.span.end, suffix: body == nil ? "" : " {")
        if let body { blockBody(body) }
    }

    /// The fields of a block and its `}`, after its head line (which ends in `{`) was emitted.
    private mutating func blockBody(_ block: Block) {
        cursor = block.span.start + 1
        trailingComment(after: block.span.start + 1)
        indent += 1
        let width = block.fields.filter { if case .block = $0.value { false } else { true } }.map { $0.name.name.count }.max() ?? 0
        for field in block.fields {
            flushComments(before: field.span.start)
            var name = field.name.name.padding(to: width)
            if case .block = field.value { name = field.name.name }
            switch field.value {
            case .exprs(let items) where items.count == 1 && mustBreak(name + " ", items[0]):
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

    /// Whether `prefix VALUE` is printed over several lines: a list written across lines, or a list or an
    /// `and`/`or` chain that would pass ``lineWidth`` or has a comment inside (joined, the comment would move off
    /// the line it annotates).
    private func mustBreak(_ prefix: String, _ value: Expr) -> Bool {
        switch value.kind {
        case .list(let items) where !items.isEmpty:
            if isMultilineList(value) { return true }
        case .binary(.and, _, _), .binary(.or, _, _):
            guard !parenthesized(value) else { return false }
        default:
            return false
        }
        return hasComment(in: value.span) || pad.count + prefix.count + expr(value).count > Formatter.lineWidth
    }

    /// Prints `prefix VALUE` over several lines (``mustBreak(_:_:)``): a list one element per line, an `and`/`or`
    /// chain one operand per line, each after the first led by its operator and indented. A comment stays on the
    /// line of the element or operand it follows.
    private mutating func valueLines(prefix: String, _ value: Expr, start: Int, end: Int) {
        if case .list(let items) = value.kind, !items.isEmpty {
            listLines(prefix: prefix, value, items, start: start, end: end)
        } else if case let operands = chain(value), operands.count > 1 {
            for (i, (op, operand)) in operands.enumerated() {
                flushComments(before: operand.span.start)
                let text = i == 0 ? prefix + expr(operand) : "  " + (op?.rawValue ?? "") + " " + expr(operand)
                emit(text, at: i == 0 ? start : operand.span.start)
                cursor = operand.span.end
                trailingComment(after: operand.span.end, before: i + 1 < operands.count ? operands[i + 1].1.span.start : nil)
            }
            cursor = max(cursor, end)
            trailingComment(after: end)
        } else {
            line(prefix + expr(value), start: start, end: end)
        }
    }

    /// The operands of an `and`/`or` chain outside parentheses, left to right, each with the operator before it
    /// (`a and b or c`: a, and b, or c). Breaking the line before each operator reads the same: the parser does
    /// not look at line breaks there.
    private func chain(_ e: Expr) -> [(BinaryOperator?, Expr)] {
        var result: [(BinaryOperator?, Expr)] = []
        func walk(_ e: Expr, _ op: BinaryOperator?) {
            if case .binary(let inner, let l, let r) = e.kind, inner == .and || inner == .or, !parenthesized(e) {
                walk(l, op)
                walk(r, inner)
            } else {
                result.append((op, e))
            }
        }
        walk(e, nil)
        return result
    }

    private mutating func listLines(prefix: String, _ value: Expr, _ items: [Expr], start: Int, end: Int, suffix: String = "") {
        emit(prefix + "[", at: start)
        cursor = value.span.start + 1
        // A comment after `[` annotates the bracket's line only when no element is written on it.
        if file.lineIndex(of: items[0].span.start) != file.lineIndex(of: value.span.start) {
            trailingComment(after: value.span.start + 1)
        }
        indent += 1
        for (i, item) in items.enumerated() {
            flushComments(before: item.span.start)
            emit(expr(item) + ",", at: item.span.start)
            cursor = item.span.end
            // A comment at the end of a source line belongs to the last element written on that line.
            // (After the last one, a comment past the `]` on its line is the element's too.)
            trailingComment(after: item.span.end, before: i + 1 < items.count ? items[i + 1].span.start : nil)
        }
        flushComments(before: value.span.end - 1)
        indent -= 1
        emit("]" + suffix, at: value.span.end - 1)
        cursor = value.span.end
        if suffix.isEmpty { trailingComment(after: end) }
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
        for e in test.expectations {
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
        parts += test.expectations.map(expectation)
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
