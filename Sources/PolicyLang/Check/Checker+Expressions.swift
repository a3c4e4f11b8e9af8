/// Type checking of expressions. Types and resolved facts go into side tables; the AST is not changed.
extension Checker {
    /// Checks `expr` in `scope` and returns its type.
    @discardableResult
    mutating func typeOf(_ expr: Expr, in scope: ExpressionScope) -> RCType {
        let type = computeType(expr, in: scope)
        tables.types[expr.id] = type
        return type
    }

    /// Checks `expr` and reports a mismatch when it is not of type `expected`.
    mutating func expectType(_ expr: Expr, _ expected: RCType, in scope: ExpressionScope, help: String? = nil) {
        let found = typeOf(expr, in: scope)
        if !found.fits(expected) {
            report(.typeMismatch(expr.span, expected: article(expected), found: found, help: help ?? conversionHelp(from: found, to: expected, expr)))
        }
    }

    func conversionHelp(from found: RCType, to expected: RCType, _ expr: Expr) -> String? {
        switch (found, expected) {
        case (.int, .duration):
            if case .integer(let n) = expr.kind { return "add a unit: `\(n)s`, `\(n)m` or `\(n)h`" }
            return "multiply by a unit, e.g. `x * 1s`"
        case (.duration, .int): return "durations and numbers do not mix; compare with a duration such as `10m`"
        case (.string, .regex): return "write a regex literal between slashes, e.g. `/^web-/`"
        case (.int, .percent):
            if case .integer(let n) = expr.kind { return "write `\(n)%`" }
            return nil
        case (.string, .bool), (.int, .bool): return "write a comparison, e.g. `x == \"value\"`"
        default: return nil
        }
    }

    private mutating func computeType(_ expr: Expr, in scope: ExpressionScope) -> RCType {
        switch expr.kind {
        case .error: return .error
        case .bool: return .bool
        case .integer: return .int
        case .number: return .number
        case .percent: return .percent
        case .duration: return .duration
        case .timeOfDay: return .timeOfDay
        case .instant: return .instant
        case .string(let literal):
            checkInterpolations(literal, known: scope == .facts ? interpolatableFacts : [])
            return .string
        case .regex(let pattern, let flags):
            compileRegex(expr, pattern: pattern, flags: flags)
            return .regex
        case .name(let name):
            return resolveName(name, expr, in: scope)
        case .member(let base, let field):
            let baseType = typeOf(base, in: scope)
            switch baseType {
            case .error: return .error
            case .json: return .json
            case .record(let group):
                guard let key = FactKey(rawValue: group + "." + field.name) else {
                    let fields = FactKey.allCases.filter { $0.path.count == 2 && $0.path[0] == group }.map { $0.path[1] }
                    report(.unknownFact(field.span, group: group, field: field.name, known: fields))
                    return .error
                }
                tables.facts[expr.id] = key
                return key.type
            case .map:
                report(
                    .typeMismatch(
                        field.span, expected: "a group of facts", found: baseType,
                        help: "read a map entry with brackets: `[\(quoteString(field.name))]`", label: "maps have no fields"))
                return .error
            default:
                report(.typeMismatch(base.span, expected: "a group of facts", found: baseType, label: "this has no fields"))
                return .error
            }
        case .index(let base, let key):
            let baseType = typeOf(base, in: scope)
            let keyType = typeOf(key, in: scope)
            switch baseType {
            case .error: return .error
            case .json:
                if !keyType.fits(.string), !keyType.fits(.int) { report(.typeMismatch(key.span, expected: "a string key or an int index", found: keyType)) }
                return .json
            case .map(let value):
                if !keyType.fits(.string) { report(.typeMismatch(key.span, expected: "a string key", found: keyType)) }
                return value
            case .list(let element):
                if !keyType.fits(.int) { report(.typeMismatch(key.span, expected: "an int index", found: keyType)) }
                return element
            default:
                report(.typeMismatch(base.span, expected: "a list or a map", found: baseType, label: "this cannot be indexed"))
                return .error
            }
        case .call(let function, let args):
            return checkCall(function, args, expr, in: scope)
        case .unary(let op, let operand):
            let t = typeOf(operand, in: scope)
            switch op {
            case .not:
                if !t.fits(.bool) { report(.typeMismatch(operand.span, expected: "a bool after `not`", found: t)) }
                return .bool
            case .negate:
                if [.int, .number, .duration, .percent, .error, .json].contains(t) { return t }
                report(.typeMismatch(operand.span, expected: "a number, duration or percentage after `-`", found: t))
                return .error
            }
        case .binary(let op, let lhs, let rhs):
            let l = typeOf(lhs, in: scope)
            let r = typeOf(rhs, in: scope)
            return binaryType(op, l, r, expr, lhs, rhs)
        case .percentOf(let part, let whole):
            let p = typeOf(part, in: scope)
            let w = typeOf(whole, in: scope)
            if !p.fits(.percent) {
                report(.typeMismatch(part.span, expected: "a percentage before `of`", found: p, help: conversionHelp(from: p, to: .percent, part)))
            }
            switch w {
            case .int, .duration, .error: return w
            default:
                report(.typeMismatch(whole.span, expected: "an int or a duration after `of`", found: w))
                return .error
            }
        case .list(let items):
            var element: RCType = .any
            for item in items {
                let t = typeOf(item, in: scope)
                if !t.fits(element) {
                    report(.typeMismatch(item.span, expected: "\(article(element)) like the other elements", found: t, label: "lists hold one type"))
                } else {
                    element = element.unified(with: t)
                }
            }
            return .list(element)
        case .map(let entries):
            var valueType: RCType = .any
            for entry in entries {
                let k = typeOf(entry.key, in: scope)
                if !k.fits(.string) { report(.typeMismatch(entry.key.span, expected: "a string key", found: k)) }
                let v = typeOf(entry.value, in: scope)
                if !v.fits(valueType) {
                    report(.typeMismatch(entry.value.span, expected: "\(article(valueType)) like the other values", found: v))
                } else {
                    valueType = valueType.unified(with: v)
                }
            }
            return .map(valueType)
        }
    }

    private mutating func resolveName(_ name: String, _ expr: Expr, in scope: ExpressionScope) -> RCType {
        switch scope {
        case .facts:
            switch name {
            case "node", "cluster", "lock": return .record(name)
            case "now", "phase", "kill_switch":
                let key = FactKey(rawValue: name)!
                tables.facts[expr.id] = key
                return key.type
            default: break
            }
        case .detectorResult:
            if name == "exit" || name == "stdout" {
                let key = FactKey(rawValue: name)!
                tables.facts[expr.id] = key
                return key.type
            }
        case .httpResult, .queryResult:
            if scope.roots.contains(name) || (quantifierDepth > 0 && (name == "sample" || name == "labels")) {
                let key = FactKey.allCases.first { $0.rawValue == name }!
                tables.facts[expr.id] = key
                return key.type
            }
        case .constant:
            break
        }
        if quantifierDepth > 0, name == "sample" || name == "labels" {
            let key = name == "sample" ? FactKey.sample : .sampleLabels
            tables.facts[expr.id] = key
            return key.type
        }
        let context: String
        switch scope {
        case .facts: context = "as a fact"
        case .detectorResult: context = "in a detector condition"
        case .httpResult: context = "in an http health check's condition"
        case .queryResult: context = "in a prometheus health check's condition"
        case .constant: context = "in a setting"
        }
        var diagnostic = Diagnostic.unknownName(expr.span, name, known: scope.roots, context: context)
        if scope == .constant, ["node", "cluster", "now", "lock", "phase"].contains(name) {
            diagnostic.notes = [DiagnosticNote("settings are fixed values; facts can be used only in rules and `applies_to`")]
        }
        if scope == .facts, ["status", "json", "value", "result", "empty"].contains(name) {
            diagnostic.notes.append(DiagnosticNote("`\(name)` exists only in a health check's `ok when`"))
        }
        if scope != .detectorResult, name == "exit" || name == "stdout" {
            diagnostic.notes.append(DiagnosticNote("`\(name)` exists only in a command detector's `reboot_when` and `ok_when`"))
        }
        if name == "pre_lock" || name == "post_lock" || name == "post_boot" {
            diagnostic.help = "phases are compared as strings: `phase == \(quoteString(HealthPhase(rawValue: name)!.environmentValue))`"
        }
        report(diagnostic)
        return .error
    }

    private mutating func checkCall(_ function: Identifier, _ args: [Expr], _ expr: Expr, in scope: ExpressionScope) -> RCType {
        if function.name == "all" || function.name == "any" { return checkQuantifier(function, args, expr, in: scope) }
        let types = args.map { typeOf($0, in: scope) }
        guard let builtin = BuiltinFunction(rawValue: function.name) else {
            report(.unknownFunction(function.span, function.name))
            return .error
        }
        switch builtin {
        case .max, .min:
            guard !args.isEmpty else {
                report(.wrongArity(expr.span, function: function.name, expected: "at least one argument", found: 0))
                return .error
            }
            // A JSON body holds numbers: beside one, a duration or an instant would be compared with nothing.
            if types.contains(.json), let (arg, t) = zip(args, types).first(where: { !$0.1.isInJSON }) {
                report(.typeMismatch(arg.span, expected: "a number, like the JSON value beside it", found: t, help: jsonHelp(t, arg)))
                return .error
            }
            var result: RCType = .any
            for (arg, t) in zip(args, types) {
                guard [.int, .number, .duration, .percent, .instant, .error, .json].contains(t) else {
                    report(.typeMismatch(arg.span, expected: "a number, duration, percentage or instant", found: t))
                    return .error
                }
                if !t.fits(result) {
                    report(.typeMismatch(arg.span, expected: "\(article(result)) like the first argument", found: t, help: conversionHelp(from: t, to: result, arg)))
                    return .error
                }
                result = result.unified(with: t)
            }
            return result
        case .len, .count:
            guard args.count == 1 else {
                report(.wrongArity(expr.span, function: function.name, expected: "one argument", found: args.count))
                return .error
            }
            switch types[0] {
            case .list, .map, .string, .error, .json: return .int
            default:
                report(.typeMismatch(args[0].span, expected: "a list, map or string", found: types[0]))
                return .int
            }
        case .all, .any:
            return .bool
        }
    }

    /// `all(list, condition)` / `any(list, condition)`: the condition is checked with `sample` (and `labels`) bound.
    private mutating func checkQuantifier(_ function: Identifier, _ args: [Expr], _ expr: Expr, in scope: ExpressionScope) -> RCType {
        guard args.count == 2 else {
            args.forEach { typeOf($0, in: scope) }
            report(.wrongArity(expr.span, function: function.name, expected: "a list and a condition", found: args.count))
            return .error
        }
        let listType = typeOf(args[0], in: scope)
        switch listType {
        case .list, .json, .error: break
        default: report(.typeMismatch(args[0].span, expected: "a list", found: listType))
        }
        quantifierDepth += 1
        expectType(args[1], .bool, in: scope, help: "write a condition on `sample`, e.g. `sample < 5`")
        quantifierDepth -= 1
        return .bool
    }

    private mutating func binaryType(_ op: BinaryOperator, _ l: RCType, _ r: RCType, _ expr: Expr, _ lhs: Expr, _ rhs: Expr)
        -> RCType
    {
        if l == .error || r == .error {
            return op.precedence <= 4 ? .bool : .error
        }
        if [.add, .subtract, .multiply, .divide].contains(op), [l, r].contains(.number) || [l, r].contains(.json) {
            switch (l, r) {
            case (.int, .number), (.number, .int), (.number, .number): return .number
            case (.json, .int), (.json, .number), (.int, .json), (.number, .json), (.json, .json): return .json
            default:
                report(.operandMismatch(expr.span, op: op.rawValue, left: l, right: r, help: nil))
                return .error
            }
        }
        if [.equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual].contains(op), (l == .json) != (r == .json),
            case let other = l == .json ? r : l, !other.isInJSON
        {
            report(.operandMismatch(expr.span, op: op.rawValue, left: l, right: r, help: jsonHelp(other, l == .json ? rhs : lhs)))
            return .bool
        }
        switch op {
        case .and, .or:
            if !l.fits(.bool) { report(.typeMismatch(lhs.span, expected: "a bool before `\(op.rawValue)`", found: l, help: conversionHelp(from: l, to: .bool, lhs))) }
            if !r.fits(.bool) { report(.typeMismatch(rhs.span, expected: "a bool after `\(op.rawValue)`", found: r, help: conversionHelp(from: r, to: .bool, rhs))) }
            return .bool
        case .equal, .notEqual:
            if !l.fits(r), !r.fits(l) {
                report(.operandMismatch(expr.span, op: op.rawValue, left: l, right: r, help: mixHelp(l, r, lhs, rhs)))
            }
            return .bool
        case .less, .lessEqual, .greater, .greaterEqual:
            if !l.fits(r), !r.fits(l) {
                report(.operandMismatch(expr.span, op: op.rawValue, left: l, right: r, help: mixHelp(l, r, lhs, rhs)))
            } else if !l.isOrdered {
                report(.typeMismatch(lhs.span, expected: "a number, duration, percentage, instant, time or string", found: l, label: "cannot be ordered"))
            }
            return .bool
        case .in, .notIn:
            switch r {
            case .list(let element):
                if !l.fits(element) { report(.operandMismatch(expr.span, op: op.rawValue, left: l, right: r, help: nil)) }
            case .map:
                if !l.fits(.string) { report(.operandMismatch(expr.span, op: op.rawValue, left: l, right: r, help: "map keys are strings")) }
            case .string:
                if !l.fits(.string) { report(.operandMismatch(expr.span, op: op.rawValue, left: l, right: r, help: nil)) }
            default:
                report(.typeMismatch(rhs.span, expected: "a list, map or string after `\(op.rawValue)`", found: r))
            }
            return .bool
        case .matches:
            if !l.fits(.string) { report(.typeMismatch(lhs.span, expected: "a string before `matches`", found: l)) }
            if !r.fits(.regex) {
                report(.typeMismatch(rhs.span, expected: "a regex after `matches`", found: r, help: conversionHelp(from: r, to: .regex, rhs)))
            }
            return .bool
        case .add, .subtract:
            switch (l, r) {
            case (.int, .int): return .int
            case (.duration, .duration): return .duration
            case (.percent, .percent): return .percent
            case (.instant, .duration): return .instant
            case (.duration, .instant) where op == .add: return .instant
            case (.instant, .instant) where op == .subtract: return .duration
            case (.string, .string) where op == .add: return .string
            default:
                report(.operandMismatch(expr.span, op: op.rawValue, left: l, right: r, help: mixHelp(l, r, lhs, rhs)))
                return .error
            }
        case .multiply:
            switch (l, r) {
            case (.int, .int): return .int
            case (.int, .duration), (.duration, .int): return .duration
            default:
                report(.operandMismatch(expr.span, op: "*", left: l, right: r, help: mixHelp(l, r, lhs, rhs)))
                return .error
            }
        case .divide:
            if case .integer(0) = rhs.kind {
                report(.invalidValue(rhs.span, "division by zero", label: "this is zero"))
                return .error
            }
            switch (l, r) {
            case (.int, .int): return .int
            case (.duration, .int): return .duration
            case (.duration, .duration): return .int
            default:
                report(.operandMismatch(expr.span, op: "/", left: l, right: r, help: nil))
                return .error
            }
        }
    }

    /// How to compare a part of a JSON body with a value of a kind JSON has not (`json.lag < 5s`).
    private func jsonHelp(_ other: RCType, _ expr: Expr) -> String {
        func plain(_ n: Double) -> String { n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : formatNumber(n) }
        switch (other, expr.kind) {
        case (.duration, .duration(let ms)):
            return "a JSON body holds plain numbers: write the threshold in the unit the body uses, e.g. `\(plain(Double(ms) / 1000))` for seconds"
        case (.percent, .percent(let p)):
            return "a JSON body holds plain numbers: write `\(plain(p / 100))` for a fraction, or `\(plain(p))` if the body counts in percent"
        default:
            return "a JSON body holds numbers, strings, bools, lists and objects; compare it with one of those"
        }
    }

    private func mixHelp(_ l: RCType, _ r: RCType, _ lhs: Expr, _ rhs: Expr) -> String? {
        if l == .duration, r == .int { return conversionHelp(from: .int, to: .duration, rhs) }
        if l == .int, r == .duration { return conversionHelp(from: .int, to: .duration, lhs) }
        if l == .int, r == .percent { return "compare a count with `P% of N`, e.g. `60% of cluster.size`" }
        if l == .percent, r == .int { return "compare a count with `P% of N`, e.g. `60% of cluster.size`" }
        if l == .instant, r == .duration { return "subtract instants to get a duration: `now - cluster.last_reboot < 15m`" }
        return nil
    }

    mutating func compileRegex(_ expr: Expr, pattern: String, flags: String) {
        do {
            tables.regexes[expr.id] = try CompiledRegex(pattern: pattern, flags: flags)
        } catch {
            // Point at the offending byte inside the literal: the pattern starts after the opening slash.
            let offset = min(expr.span.start + 1 + error.offset, max(expr.span.start, expr.span.end - 1))
            report(.invalidRegex(Span(offset, min(offset + 1, expr.span.end)), message: error.message))
        }
    }

    mutating func checkInterpolations(_ literal: StringLiteral, known: [String]) {
        for part in literal.parts {
            guard case .interpolation(let path, let span) = part else { continue }
            let joined = path.joined(separator: ".")
            if !known.contains(joined) {
                report(.unknownInterpolation(span, joined, known: known))
            }
        }
    }
}
