/// Messages of the lexer and parser (`RC1xxx`).
extension Diagnostic {
    static func invalidUTF8(_ span: Span) -> Diagnostic {
        Diagnostic(
            .invalidUTF8, "invalid UTF-8 in the source", at: span, label: "these bytes are not UTF-8",
            help: "save the file as UTF-8")
    }

    static func unexpectedCharacter(_ span: Span, _ text: String, help: String?) -> Diagnostic {
        Diagnostic(.unexpectedCharacter, "unexpected character `\(text)`", at: span, label: "not part of the language", help: help)
    }

    static func unterminatedString(_ span: Span) -> Diagnostic {
        Diagnostic(
            .unterminatedString, "unterminated string", at: span, label: "this string is not closed",
            help: "add a closing `\"` on the same line")
    }

    static func invalidEscape(_ span: Span, _ text: String) -> Diagnostic {
        Diagnostic(
            .invalidEscape, "unknown escape sequence `\(text)`", at: span, label: "not a known escape",
            help: "the escapes are \\\" \\\\ \\n \\t \\r \\$ and \\0")
    }

    static func unterminatedRegex(_ span: Span) -> Diagnostic {
        Diagnostic(
            .unterminatedRegex, "unterminated regex", at: span, label: "this regex is not closed",
            help: "add a closing `/` on the same line; write `\\/` for a slash inside the pattern")
    }

    static func invalidLiteral(_ span: Span, _ message: String, label: String, help: String? = nil) -> Diagnostic {
        Diagnostic(.invalidLiteral, message, at: span, label: label, help: help)
    }

    static func invalidInterpolation(_ span: Span, _ inner: String?) -> Diagnostic {
        if let inner {
            return Diagnostic(
                .invalidInterpolation, "invalid interpolation `${\(inner)}`", at: span, label: "expected a dotted name",
                help: "write a fact path such as `${node.name}`; write `\\$` for a literal dollar sign")
        }
        return Diagnostic(
            .invalidInterpolation, "unclosed interpolation", at: span, label: "`${` is never closed with `}`",
            help: "write `${node.name}`, or `\\${` for a literal `${`")
    }

    static func expected(_ what: String, found: Token, in source: SourceFile, context: String? = nil, help: String? = nil)
        -> Diagnostic
    {
        let foundText: String
        switch found.kind {
        case .eof: foundText = "the end of the file"
        case .identifier: foundText = "`\(source.text(found.span))`"
        default: foundText = found.kind.display == "a name" ? "`\(source.text(found.span))`" : "\(found.kind.display)"
        }
        let where_ = context.map { " \($0)" } ?? ""
        return Diagnostic(.unexpectedToken, "expected \(what)\(where_), found \(foundText)", at: found.span, label: "expected \(what)", help: help)
    }

    static func unknownDeclaration(_ span: Span, _ word: String, suggestion: String?) -> Diagnostic {
        Diagnostic(
            .unknownDeclaration, "unknown declaration `\(word)`", at: span, label: "not a declaration",
            help: suggestion.map { "did you mean `\($0)`?" }
                ?? "a declaration starts with one of: \(Parser.declarationKeywords.joined(separator: ", "))")
    }

    static func unclosed(_ open: Span, opener: String, closer: String, found: Token) -> Diagnostic {
        Diagnostic(
            .unclosedDelimiter, "unclosed `\(opener)`", at: found.span, label: "expected `\(closer)` before this",
            notes: [DiagnosticNote("the `\(opener)` opened here", span: open)], help: "add `\(closer)`")
    }

    static func nestingTooDeep(_ span: Span, limit: Int, what: String = "expression") -> Diagnostic {
        Diagnostic(
            .nestingTooDeep, "\(what) nested more than \(limit) levels deep", at: span, label: "too deep",
            help: what == "expression" ? "split the expression into several rules" : "blocks nest only a level or two: `lock etcd { tls { … } }`")
    }

    static func expressionTooLong(_ span: Span, limit: Int) -> Diagnostic {
        Diagnostic(
            .expressionTooLong, "expression too long: more than \(limit) levels of operators", at: span,
            label: "level \(limit + 1) starts here",
            help: "a rule may have several `deny when` lines and any one denies, so split the condition there; for many alternatives write `node.name in [\"a\", \"b\", …]`")
    }

    static func unknownWeekday(_ span: Span, _ word: String, suggestion: String?) -> Diagnostic {
        Diagnostic(
            .unknownWeekday, "unknown day `\(word)`", at: span, label: "not a weekday",
            help: suggestion.map { "did you mean `\($0)`?" } ?? "days are Mon, Tue, Wed, Thu, Fri, Sat, Sun, or `daily`",
            fix: suggestion.map { Fix("write `\($0)`", [TextEdit(span, $0)]) })
    }

    static func unknownDetectorKind(_ span: Span, _ word: String, suggestion: String?) -> Diagnostic {
        Diagnostic(
            .unknownDetectorKind, "unknown detector kind `\(word)`", at: span, label: "not a detector kind",
            help: suggestion.map { "did you mean `\($0)`?" }
                ?? "detector kinds are: \(DetectorKindName.allCases.map(\.rawValue).joined(separator: ", "))")
    }

    static func tooManyDiagnostics(at offset: Int, counts: [Severity: Int], limit: Int, label: String) -> Diagnostic {
        // "and 4512 more errors and 3 warnings in this file"
        var parts: [String] = []
        for (severity, word) in [(Severity.error, "error"), (.warning, "warning"), (.note, "note")] {
            let n = counts[severity] ?? 0
            guard n > 0 else { continue }
            parts.append("\(n)\(parts.isEmpty ? " more" : "") \(word)\(n == 1 ? "" : "s")")
        }
        let what = parts.count <= 1 ? parts.first ?? "more diagnostics" : parts.dropLast().joined(separator: ", ") + " and " + parts.last!
        return Diagnostic(
            .tooManyDiagnostics, "and \(what) in this file", at: .at(offset), label: label,
            help: "only the first \(limit) diagnostics of a file are shown; fix those and check again")
    }

    static func spacedDurationUnit(_ span: Span, number: String, unit: String, canonical: String) -> Diagnostic {
        Diagnostic(
            .spacedDurationUnit, "a duration is written without a space: `\(number)\(canonical)`", at: span,
            label: "`\(unit)` is separated from `\(number)`",
            help: "write `\(number)\(canonical)`; the units are ms, s, m, h, d and w, and combine as in `1h30m`")
    }

    static func ifForWhen(_ span: Span, written: String, fix: String) -> Diagnostic {
        Diagnostic(.ifForWhen, "`\(written)` is written `\(fix)`", at: span, label: "`if` is not a keyword", help: "write `\(fix) …`")
    }

    static func allowIf(_ span: Span) -> Diagnostic {
        Diagnostic(
            .ifForWhen, "a rule cannot allow: rules only deny", at: span, label: "`allow if` is not a rule condition",
            help: "write `deny when not (…)`, or an allow window: `window allow \"night\" daily 22:00 .. 04:00`")
    }

    static func hyphenatedName(_ span: Span, written: String, suggestion: String?, what: String) -> Diagnostic {
        Diagnostic(
            .hyphenatedName, "\(what) names are written with `_`, not `-`: `\(written)`", at: span,
            label: suggestion == nil ? "not a \(what) name" : "`-` instead of `_`",
            help: suggestion.map { "write `\($0)`" } ?? "no \(what) is called `\(written.replacingOccurrences(of: "-", with: "_"))` either")
    }

    static func hyphenRange(_ hyphens: [Span], what: String, fix: String) -> Diagnostic {
        Diagnostic(
            .hyphenRange, "a window's \(what) is written with `..`, not `-`", at: hyphens[0], label: "`-` here means minus",
            notes: hyphens.dropFirst().map { DiagnosticNote("and here", span: $0) }, help: "write `\(fix)`")
    }

    static func unclosedRegexClass(_ open: Span, regex: Span) -> Diagnostic {
        Diagnostic(
            .unclosedRegexClass, "unclosed `[` in a regex", at: open, label: "this `[` is never closed with `]`",
            notes: [DiagnosticNote("inside `[…]` a `/` does not end the regex, so this one runs to the end of the line", span: regex)],
            help: "close the character class, as in `[0-9]+`; write `\\[` for a literal `[`")
    }

    static func fractionTimesCount(_ span: Span, percent: String, count: String) -> Diagnostic {
        Diagnostic(
            .fractionTimesCount, "a share of a count is written as a percentage", at: span, label: "a fraction times a count",
            help: "write `\(percent)% of \(count)`")
    }
}
