/// Checking of the measuring health checks (`http`, `prometheus`, `alerts`) and of the values tests give them.
extension Checker {
    /// `health NAME http|prometheus|alerts "URL" [query "…"] { … }`.
    mutating func checkHealthProbe(
        _ name: StringLiteral, _ kindWord: Identifier, _ target: StringLiteral, _ query: StringLiteral?, _ body: Block?, _ decl: Decl
    ) -> (HealthSpec, Span)? {
        guard let kind = HealthProbe.Kind(rawValue: kindWord.name) else { return nil }
        let allowed = ["timeout", "run", "header", "token_env", "token_file", "ca", kind == .alerts ? "block_on" : "ok when"]
        let required = kind == .alerts
            ? [("block_on", "block_on {severity: \"critical\"}")]
            : [("ok when", kind == .http ? "ok when status == 200" : "ok when value < 0.01")]
        let (body, refusedSource) = refuseHeaderSourceWords(body)
        let f = fields(body, allowed: allowed, required: required, context: "\(kindArticle(kind)) health check", missingAt: decl.keyword.span.union(target.span))
        var ok = true
        let url = target.value
        if !isHTTPURL(url) {
            report(.invalidHealthEndpoint(target.span, url, example: kind == .http ? "https://127.0.0.1:8080/status" : "http://127.0.0.1:\(kind == .alerts ? 9093 : 9090)"))
            ok = false
        } else if let problem = endpointProblem(kind, url) {
            report(.healthEndpointPart(target.span, problem.message, label: problem.label, help: problem.help))
            ok = false
        }
        var probe = HealthProbe(kind: kind, url: url)
        if let query {
            if query.value.trimmingSpaces.isEmpty {
                report(.invalidValue(query.span, "the query is empty", label: "empty", help: "write a PromQL expression, e.g. \"sum(rate(http_errors_total[5m]))\""))
                ok = false
            }
            probe.query = query.value
        }
        if let field = f["ok when"], let expr = single(field) {
            expectType(expr, .bool, in: kind == .http ? .httpResult : .queryResult, help: "write a comparison, e.g. `value < 0.01`")
            probe.condition = expr
        }
        if let field = f["block_on"] {
            if case .block(let b) = field.value, b.fields.isEmpty {
                // `block_on {}`: every active alert blocks.
            } else if let expr = single(field), let labels = labelMatchers(expr) {
                probe.blockOn = labels
            } else {
                ok = false
            }
        }
        probe.caFile = absolutePathField(f["ca"], what: "the CA file")
        if let field = f["ca"], url.hasPrefix("http://") {
            report(.caWithoutTLS(field.span, url))
            ok = false
        }
        if let token = headerToken(f, owner: "a health check", envExample: "STATUS_TOKEN", fileExample: "/etc/rc/status.token", refused: refusedSource) {
            (probe.header, probe.tokenEnv, probe.tokenFile) = (token.header, token.env, token.file)
        } else {
            ok = false
        }
        let timeout = durationField(f["timeout"], default: 10_000)
        let phases = healthPhases(f["run"])
        guard ok else { return nil }
        var spec = HealthSpec(name: name.value, argv: [], timeout: timeout, phases: phases, span: decl.span)
        spec.probe = probe
        return (spec, f["timeout"]?.span ?? decl.span)
    }

    private func kindArticle(_ kind: HealthProbe.Kind) -> String {
        kind == .alerts ? "an alerts" : (kind == .http ? "an http" : "a prometheus")
    }

    private func isHTTPURL(_ url: String) -> Bool {
        for scheme in ["http://", "https://"] where url.hasPrefix(scheme) {
            let rest = url.dropFirst(scheme.count)
            let host = rest.prefix { $0 != "/" && $0 != "?" }
            return !host.isEmpty && !host.hasPrefix(":") && !url.contains(" ")
        }
        return false
    }

    /// A part of an endpoint URL that would not act as written: a fragment (never sent), credentials (they would be
    /// logged with the URL), or, for Prometheus and Alertmanager, a query string or an API path, which rc adds
    /// itself to the server's base URL.
    func endpointProblem(_ kind: HealthProbe.Kind, _ url: String) -> (message: String, label: String, help: String)? {
        let scheme = url.hasPrefix("https://") ? "https://" : "http://"
        let rest = url.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var path = String(rest.dropFirst(authority.count))
        if authority.contains("@") {
            let host = authority.split(separator: "@").last.map(String.init) ?? ""
            return (
                "a health check URL may not carry credentials", "a user or password in the URL",
                "they would be written wherever the URL is logged: write \(quoteString(scheme + host + path)) and give the credentials in a header read from a file, e.g. `header \"Authorization\"  token_file \"/etc/rc/status.token\"`"
            )
        }
        if let hash = path.firstIndex(of: "#") {
            return (
                "a URL fragment is never sent to the server: " + quoteString(url), "`\(path[hash...])` is dropped from the request",
                "remove it: \(quoteString(scheme + authority + path[..<hash]))"
            )
        }
        guard kind != .http else { return nil }
        let api = kind == .prometheus ? "/api/v1/query" : "/api/v2/alerts"
        let server = kind == .prometheus ? "Prometheus" : "Alertmanager"
        if let question = path.firstIndex(of: "?") {
            let help = kind == .prometheus
                ? "write the server's base URL and the PromQL in `query \"…\"`"
                : "write the server's base URL; `block_on` selects the alerts"
            path = String(path[..<question])
            return ("\(server)'s endpoint is its base URL, rc adds `\(api)` and its parameters: " + quoteString(url), "a query string", help + ", e.g. " + quoteString(scheme + authority + baseAPIPath(path)))
        }
        if let range = Self.apiVersionPath(path) {
            return (
                "\(server)'s endpoint is its base URL, rc adds `\(api)` itself: " + quoteString(url), "an API path",
                "write " + quoteString(scheme + authority + path[..<range.lowerBound])
            )
        }
        return nil
    }

    /// Where an API path of the kind rc adds (`/api/v1…`, `/api/v2…`) starts in `path`; a prefix such as Grafana
    /// Cloud's `/api/prom` is the server's base, not an API path.
    static func apiVersionPath(_ path: String) -> Range<String.Index>? {
        var search = path.startIndex..<path.endIndex
        while let range = path.range(of: "/api/v", range: search) {
            let rest = path[range.upperBound...]
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty, digits.endIndex == path.endIndex || path[digits.endIndex] == "/" { return range }
            search = range.upperBound..<path.endIndex
        }
        return nil
    }

    /// A path with its API part removed: what stays is a prefix a proxy serves the server under.
    private func baseAPIPath(_ path: String) -> String {
        if let range = Self.apiVersionPath(path) { return String(path[..<range.lowerBound]) }
        return path
    }

    /// `block_on {severity: "critical", team: "web"}`: label names (bare or quoted) and string values.
    private mutating func labelMatchers(_ expr: Expr) -> [String: String]? {
        guard case .map(let entries) = expr.kind else {
            report(.typeMismatch(expr.span, expected: "a map of labels", found: typeOf(expr, in: .constant), help: "write e.g. `{severity: \"critical\"}`"))
            return nil
        }
        var labels: [String: String] = [:]
        var ok = true
        for entry in entries {
            guard let key = literalKey(entry.key, expected: "a label name") else {
                ok = false
                continue
            }
            if labels[key] != nil {
                report(.invalidValue(entry.key.span, "label `\(key)` is given twice", label: "given again"))
                ok = false
                continue
            }
            guard case .string(let value)? = constant(entry.value, .string) else {
                ok = false
                continue
            }
            labels[key] = value
        }
        return ok ? labels : nil
    }

    /// `run pre_lock, post_lock, post_boot`; both phases before the reboot when not given.
    mutating func healthPhases(_ run: Field?) -> [HealthPhase] {
        guard let run else { return [.preLock, .postLock] }
        var phases: [HealthPhase] = []
        guard case .exprs(let items) = run.value else {
            report(.invalidValue(run.span, "`run` takes a list of phases", label: "not a list of phases", help: "write `run pre_lock, post_lock`"))
            return phases
        }
        for item in items {
            if case .name(let word) = item.kind, let phase = HealthPhase(rawValue: word) {
                if !phases.contains(phase) { phases.append(phase) }
            } else {
                report(
                    .invalidValue(
                        item.span, "unknown phase `\(file.text(item.span))`", label: "not a phase",
                        help: Diagnostic.didYouMean(closestMatch(file.text(item.span), in: HealthPhase.allCases.map(\.rawValue)))
                            ?? "the phases are pre_lock, post_lock and post_boot"))
            }
        }
        return phases
    }

    /// Whether every value a test gives a check is one the check measures (RC2033): an http check measures `status`
    /// and `json`, a prometheus check `value`, `result` and `empty`; a script or an alerts check gives no values (a
    /// test says `ok` or `fails` of it). Reports the first value that is not measured.
    mutating func givenIsMeasured(_ name: StringLiteral, _ items: [(Identifier, Expr)], kind: HealthProbe.Kind?) -> Bool {
        let measured = kind?.measuredValues ?? []
        guard let (word, _) = items.first(where: { !measured.contains($0.0.name) }) else { return true }
        let check = quoteString(name.value)
        let message: String
        let help: String
        switch kind {
        case nil:
            message = "health check \(check) is a script: it measures no `\(word.name)`"
            help = "give `health \(check) ok` or `health \(check) fails`"
        case .alerts?:
            message = "alerts check \(check) measures active alerts, not `\(word.name)`"
            help = "give the matching active alerts by name, `health \(check) alerts [\"HighErrorRate\"]` (`alerts []`: none)"
        case let kind?:
            let names = measured.map { "`\($0)`" }
            message = "\(kind.rawValue) check \(check) measures \(names.dropLast().joined(separator: ", ")) and \(names.last!), not `\(word.name)`"
            help = kind == .http ? "give e.g. `health \(check) status 200 json {\"ready\": true}`" : "give e.g. `health \(check) value 0.034`"
        }
        report(.givenNotMeasured(word.span, message, label: "not measured by this check", help: help))
        return false
    }

    /// A map literal's key written as a name (`severity`) or a plain string (`"severity"`); anything else is reported.
    private mutating func literalKey(_ key: Expr, expected: String, help: String? = nil) -> String? {
        switch key.kind {
        case .name(let word): return word
        case .string(let literal) where !containsInterpolation(key): return literal.value
        default:
            report(.typeMismatch(key.span, expected: expected, found: typeOf(key, in: .constant), help: help))
            return nil
        }
    }

    /// The alerts of `given { health "pages" alerts ["HighErrorRate"] }`: a list of alert names, each once.
    mutating func givenAlerts(_ items: [(Identifier, Expr)]) -> [String]? {
        guard let (word, expr) = items.first else { return nil }
        if let extra = items.dropFirst().first {
            report(.invalidValue(extra.0.span, "`\(extra.0.name)` is given twice", label: "given again", help: "give the alerts in one list"))
            return nil
        }
        guard word.name == "alerts", case .list(let values)? = constant(expr, .list(.string), help: "write the alert names, e.g. `alerts [\"HighErrorRate\"]`")
        else { return nil }
        var names: [String] = []
        for value in values {
            guard case .string(let name) = value else { return nil }
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// The `json` of `given { health "lag" json {replication: {lag_seconds: 3}} }`: a literal whose map keys are
    /// names or strings, as in a facts file (`{"replication": …}` alike).
    mutating func givenJSON(_ expr: Expr) -> Value? {
        switch expr.kind {
        case .map(let entries):
            var fields: [String: Value] = [:]
            var ok = true
            for entry in entries {
                guard let key = literalKey(entry.key, expected: "a field name", help: "write e.g. `{lag_seconds: 3}`") else {
                    ok = false
                    continue
                }
                if fields[key] != nil {
                    report(.invalidValue(entry.key.span, "field `\(key)` is given twice", label: "given again"))
                    ok = false
                    continue
                }
                guard let value = givenJSON(entry.value) else {
                    ok = false
                    continue
                }
                fields[key] = value
            }
            return ok ? .map(fields) : nil
        case .list(let items):
            let values = items.map { givenJSON($0) }
            return values.contains { $0 == nil } ? nil : .list(values.compactMap { $0 })
        default:
            guard let value = fold(expr) else {
                report(.invalidValue(expr.span, "`json` takes a literal value", label: "not a constant", help: "write e.g. `json {replication: {lag_seconds: 3}}`"))
                return nil
            }
            return value
        }
    }

    /// The values of `given { health "errors" value 0.034 }`: `value` a number, `status` an int, `empty` a bool,
    /// `result` a list of numbers, `json` any literal (maps with string keys, lists, numbers, strings, bools).
    mutating func givenHealthValues(_ items: [(Identifier, Expr)]) -> [FactKey: Value]? {
        var values: [FactKey: Value] = [:]
        var ok = true
        for (word, expr) in items {
            guard let key = FactKey(rawValue: word.name) else { continue }
            if values[key] != nil {
                report(.invalidValue(word.span, "`\(word.name)` is given twice", label: "given again"))
                ok = false
                continue
            }
            let value: Value?
            if key == .healthJSON {
                value = givenJSON(expr)
            } else {
                value = constant(expr, key.type)
            }
            guard var value else {
                ok = false
                continue
            }
            if key == .healthValue, case .int(let n) = value { value = .number(Double(n)) }
            if key == .healthResult, case .list(let items) = value {
                value = .list(items.map { if case .int(let n) = $0 { .number(Double(n)) } else { $0 } })
            }
            values[key] = value
        }
        return ok && givenValuesAgree(values, items) ? values : nil
    }

    /// Whether a prometheus check's given values could come from one query (RC2041): `empty true` beside a sample,
    /// `empty false` without one, a `value` that is not the one sample of `result`.
    private mutating func givenValuesAgree(_ values: [FactKey: Value], _ items: [(Identifier, Expr)]) -> Bool {
        func span(_ key: FactKey) -> Span {
            items.first { $0.0.name == key.rawValue }.map { $0.0.span.union($0.1.span) } ?? .at(0)
        }
        var samples: [Value]?
        if case .list(let items)? = values[.healthResult] { samples = items }
        let value = values[.healthValue]
        if case .bool(let empty)? = values[.healthEmpty] {
            let count = samples?.count ?? (value == nil ? 0 : 1)
            if empty, count > 0 {
                report(.contradictoryGiven(
                    span(.healthEmpty), "`empty true` contradicts the \(value != nil ? "`value`" : "samples of `result`") given beside it",
                    label: "no sample", other: span(value != nil ? .healthValue : .healthResult),
                    help: "a query that returned no sample has no `value` and an empty `result`: remove one"))
                return false
            }
            if !empty, count == 0 {
                report(.contradictoryGiven(
                    span(.healthEmpty), "`empty false` needs the sample the query returned", label: "no sample given", other: nil,
                    help: "give it: `value 0.034` or `result [0.034]`"))
                return false
            }
        }
        if let value, let samples, samples.count != 1 || samples[0] != value {
            report(.contradictoryGiven(
                span(.healthValue), "`value` is the one sample of `result`, which gives \(samples.count == 1 ? "another" : "\(samples.count) samples")",
                label: "not the sample of `result`", other: span(.healthResult),
                help: samples.count == 1 ? "give the same number to both, or only one of them" : "a query with \(samples.count) samples has no one `value`: give `result` alone"))
            return false
        }
        return true
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = self[...]
        while let c = s.first, c == " " || c == "\t" || c == "\n" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" { s.removeLast() }
        return s
    }
}
