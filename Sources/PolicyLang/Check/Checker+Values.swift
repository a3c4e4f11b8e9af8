/// Reading constant settings out of blocks.
extension Checker {
    /// Folds a constant expression to a value; `nil` when it is not constant (nothing reported).
    func fold(_ expr: Expr) -> Value? {
        switch expr.kind {
        case .bool(let b): return .bool(b)
        case .integer(let i): return .int(i)
        case .number(let n): return .number(n)
        case .percent(let p): return .percent(p)
        case .duration(let d): return .duration(d)
        case .timeOfDay(let t): return .timeOfDay(t)
        case .instant(let i): return .instant(i)
        case .string(let s):
            return s.parts.contains { if case .interpolation = $0 { true } else { false } } ? nil : .string(s.value)
        case .unary(.negate, let inner):
            switch fold(inner) {
            case .int(let i)?: return i == .min ? nil : .int(-i)
            case .duration(let d)?: return d == .min ? nil : .duration(-d)
            case .percent(let p)?: return .percent(-p)
            case .number(let n)?: return .number(-n)
            default: return nil
            }
        case .list(let items):
            var values: [Value] = []
            for item in items {
                guard let v = fold(item) else { return nil }
                values.append(v)
            }
            return .list(values)
        case .map(let entries):
            var values: [String: Value] = [:]
            for entry in entries {
                guard case .string(let k)? = fold(entry.key), let v = fold(entry.value) else { return nil }
                values[k] = v
            }
            return .map(values)
        case .binary(let op, let l, let r):
            guard let a = fold(l), let b = fold(r) else { return nil }
            switch (op, a, b) {
            case (.add, .int(let x), .int(let y)): return x.addingReportingOverflow(y).overflow ? nil : .int(x + y)
            case (.subtract, .int(let x), .int(let y)): return x.subtractingReportingOverflow(y).overflow ? nil : .int(x - y)
            case (.multiply, .int(let x), .int(let y)): return x.multipliedReportingOverflow(by: y).overflow ? nil : .int(x * y)
            case (.add, .duration(let x), .duration(let y)): return x.addingReportingOverflow(y).overflow ? nil : .duration(x + y)
            case (.subtract, .duration(let x), .duration(let y)):
                return x.subtractingReportingOverflow(y).overflow ? nil : .duration(x - y)
            case (.multiply, .int(let x), .duration(let y)), (.multiply, .duration(let y), .int(let x)):
                return x.multipliedReportingOverflow(by: y).overflow ? nil : .duration(x * y)
            default: return nil
            }
        default:
            return nil
        }
    }

    /// Type-checks a setting's value against `type` and folds it; reports and returns `nil` when it is wrong.
    mutating func constant(_ expr: Expr, _ type: RCType, help: String? = nil) -> Value? {
        let found = typeOf(expr, in: .constant)
        if found == .error { return nil }
        guard found.fits(type) else {
            report(.typeMismatch(expr.span, expected: article(type), found: found, help: help ?? conversionHelp(from: found, to: type, expr)))
            return nil
        }
        guard let value = fold(expr) else {
            // A string with `${…}` is not constant either, but RC2017 has already said why.
            if !containsInterpolation(expr) {
                report(.invalidValue(expr.span, "a setting must be a constant", label: "this is computed", help: "write the value itself"))
            }
            return nil
        }
        return value
    }

    /// Whether a string literal in `expr` (or in a list or map it builds) holds a `${…}` interpolation.
    func containsInterpolation(_ expr: Expr) -> Bool {
        switch expr.kind {
        case .string(let s): return s.parts.contains { if case .interpolation = $0 { true } else { false } }
        case .list(let items): return items.contains(where: containsInterpolation)
        case .map(let entries): return entries.contains { containsInterpolation($0.key) || containsInterpolation($0.value) }
        default: return false
        }
    }

    /// The one value of a field (reports a list of several or a range where one value belongs).
    mutating func single(_ field: Field) -> Expr? {
        switch field.value {
        case .exprs(let list) where list.count == 1: return list[0]
        case .exprs(let list):
            report(.invalidValue(list[1].span, "`\(field.name.name)` takes one value", label: "unexpected second value", help: "for a list write `[a, b]`"))
        case .range(let low, _):
            report(.invalidValue(low.span, "`\(field.name.name)` takes one value, not a range", label: "a range"))
        case .block(let b):
            report(.typeMismatch(b.span, expected: "a value", found: .record(field.name.name), label: "a block"))
        }
        return nil
    }

    mutating func durationField(_ field: Field?, default value: Int64, positive: Bool = true) -> Int64 {
        guard let field, let expr = single(field), case .duration(let d)? = constant(expr, .duration) else { return value }
        if positive ? d <= 0 : d < 0 {
            report(
                .invalidValue(
                    expr.span, "`\(field.name.name)` must be \(positive ? "longer than zero" : "zero or longer")",
                    label: "this is \(formatDuration(milliseconds: d))"))
            return value
        }
        return d
    }

    mutating func stringField(_ field: Field?) -> (String, Span)? {
        guard let field, let expr = single(field), case .string(let s)? = constant(expr, .string) else { return nil }
        return (s, expr.span)
    }

    mutating func absolutePathField(_ field: Field?, what: String) -> String? {
        guard let (path, span) = stringField(field) else { return nil }
        if !path.hasPrefix("/") {
            report(.relativePath(span, path, what: what))
            return nil
        }
        return path
    }

    mutating func boolField(_ field: Field?, default value: Bool) -> Bool {
        guard let field, let expr = single(field), case .bool(let b)? = constant(expr, .bool) else { return value }
        return b
    }

    mutating func stringListField(_ field: Field?) -> [(String, Span)]? {
        guard let field, let expr = single(field) else { return nil }
        return stringList(expr)
    }

    mutating func stringList(_ expr: Expr) -> [(String, Span)]? {
        guard case .list(let values)? = constant(expr, .list(.string)), case .list(let items) = expr.kind else { return nil }
        return zip(values, items).compactMap { value, item in
            if case .string(let s) = value { (s, item.span) } else { nil }
        }
    }

    /// Looks up fields, reporting unknown, duplicate and missing ones.
    mutating func fields(
        _ block: Block?, allowed: [String], required: [(String, String)] = [], repeatable: Set<String> = [],
        context: String, missingAt: Span
    ) -> [String: Field] {
        var found: [String: Field] = [:]
        for field in block?.fields ?? [] {
            let name = field.name.name
            guard allowed.contains(name) else {
                report(.unknownField(field.name.span, name, context: context, known: allowed))
                continue
            }
            if let first = found[name], !repeatable.contains(name) {
                report(.duplicateField(field.name.span, name, first: first.name.span))
                continue
            }
            if found[name] == nil { found[name] = field }
        }
        for (name, example) in required where found[name] == nil {
            report(.missingField(block?.span ?? missingAt, name, context: context, example: example))
        }
        return found
    }
}
