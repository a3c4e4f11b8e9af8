/// A request header whose value is a secret read each time the request is made (`header "Authorization"` with
/// `token_env "NAME"` or `token_file "/path"`): the secret itself is never written in the policy.
struct HeaderToken {
    var header: String?
    var env: String?
    var file: String?
}

extension Checker {
    /// The fields that name a header's value source in other tools' forms (`header "Authorization" env "TOKEN"`),
    /// and the field rc reads instead.
    private static let headerSourceWords = [("env", "token_env"), ("file", "token_file")]

    /// Refuses `header "X" env "NAME"` and `header "X" file "/path"` with the form rc reads (RC2032), one diagnostic
    /// for each; returns the block without those fields (so they are not reported again as unknown) and whether any
    /// was refused.
    mutating func refuseHeaderSourceWords(_ body: Block?) -> (Block?, refused: Bool) {
        guard var body else { return (nil, false) }
        let header = body.field("header").flatMap(valueText) ?? "\"Authorization\""
        var refused = false
        body.fields.removeAll { field in
            guard let (word, real) = Self.headerSourceWords.first(where: { $0.0 == field.name.name }) else { return false }
            let value = valueText(field) ?? (word == "env" ? "\"STATUS_TOKEN\"" : "\"/etc/rc/status.token\"")
            report(
                .headerToken(
                    field.name.span, "a header's value is read from `\(real)`, not `\(word)`", label: "write `\(real)`",
                    help: "write `header \(header)  \(real) \(value)`"))
            refused = true
            return true
        }
        return (body, refused)
    }

    /// A field's value as written, when it is one or more expressions.
    private func valueText(_ field: Field) -> String? {
        guard case .exprs(let list) = field.value, let first = list.first, let last = list.last else { return nil }
        return file.text(first.span.union(last.span))
    }

    /// `header`, `token_env` and `token_file` of a webhook or a measuring health check: a header needs exactly one
    /// source for its value, and a source needs a header (RC2032). `nil` after reporting. `refused` says that
    /// ``refuseHeaderSourceWords(_:)`` already reported the header's source.
    mutating func headerToken(_ f: [String: Field], owner: String, envExample: String, fileExample: String, refused: Bool = false) -> HeaderToken? {
        let token = HeaderToken(
            header: stringField(f["header"])?.0, env: stringField(f["token_env"])?.0, file: absolutePathField(f["token_file"], what: "the token file"))
        var ok = !refused
        if token.env != nil, token.file != nil, let field = f["token_file"] {
            report(.headerToken(field.span, "\(owner) takes `token_env` or `token_file`, not both", label: "one too many", help: "remove one of them"))
            ok = false
        }
        if token.header == nil, let field = f["token_env"] ?? f["token_file"] {
            report(
                .headerToken(
                    field.span, "\(owner) token needs `header`", label: "no header to send it in",
                    help: "add `header \"Authorization\"` before `\(field.name.name)`"))
            ok = false
        }
        if !refused, let header = token.header, token.env == nil, token.file == nil, let field = f["header"] {
            report(
                .headerToken(
                    field.span, "`header \(quoteString(header))` has no value", label: "no token_env or token_file",
                    help: "write `token_env \(quoteString(envExample))` or `token_file \(quoteString(fileExample))`: a token is never written in the policy"))
            ok = false
        }
        return ok ? token : nil
    }
}
