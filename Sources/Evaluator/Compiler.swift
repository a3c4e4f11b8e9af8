import PolicyLang

/// Turns checked expressions into `Code`, once per policy.
struct Compiler {
    let tables: ExpressionTables
    let policyName: String

    func compile(_ expr: Expr) -> Code {
        let code = lower(expr)
        return fold(code)
    }

    /// A condition (`reboot_when`, `ok when`, a rule): a part of a JSON body standing alone must be a bool.
    func compileCondition(_ expr: Expr) -> Code {
        fold(lower(expr, expecting: .bool))
    }

    /// `expr` lowered where a value of `kinds` is needed: a part of a JSON body is checked for its kind when it is
    /// read, so `"30"` where a number is needed is an error naming the path, not a comparison that is false.
    private func lower(_ expr: Expr, expecting kinds: JSONKinds) -> Code {
        let code = lower(expr)
        guard tables.types[expr.id] == .json else { return code }
        return .jsonExpecting(code, kinds, path: jsonPath(expr), expr.span)
    }

    /// The JSON kinds a value of `type` compares with; `nil` when the type says nothing (another JSON value).
    private func jsonKinds(of type: RCType?) -> JSONKinds? {
        switch type {
        case .int, .number: .number
        case .string: .string
        case .bool: .bool
        case .list: .list
        case .map: .object
        case .json, .any, .error, nil: nil
        default: []
        }
    }

    /// A comparison: with a part of a JSON body on one side, that side must have the other side's kind.
    private func lowerComparison(_ op: BinaryOperator, _ lhs: Expr, _ rhs: Expr, _ expr: Expr) -> Code {
        let (lt, rt) = (tables.types[lhs.id], tables.types[rhs.id])
        switch (lt == .json, rt == .json) {
        case (false, false): return .compare(op, lower(lhs), lower(rhs), id: expr.id)
        case (true, true): return .compareJSON(op, lower(lhs), lower(rhs), path: jsonPath(lhs), expr.span, id: expr.id)
        case (true, false): return .compare(op, lower(lhs, expecting: jsonKinds(of: rt) ?? []), lower(rhs), id: expr.id)
        case (false, true): return .compare(op, lower(lhs), lower(rhs, expecting: jsonKinds(of: lt) ?? []), id: expr.id)
        }
    }

    private func lower(_ expr: Expr) -> Code {
        switch expr.kind {
        case .error: return .failure("this expression did not check", expr.span)
        case .bool(let b): return .constant(.bool(b))
        case .integer(let n): return .constant(.int(n))
        case .number(let n): return .constant(.number(n))
        case .percent(let p): return .constant(.percent(p))
        case .duration(let d): return .constant(.duration(d))
        case .timeOfDay(let m): return .constant(.timeOfDay(m))
        case .instant(let i): return .constant(.instant(i))
        case .string(let literal):
            var parts: [Code] = []
            for part in literal.parts {
                switch part {
                case .text(let t): parts.append(.constant(.string(t)))
                case .interpolation(let path, _):
                    switch path.joined(separator: ".") {
                    case "policy.name": parts.append(.constant(.string(policyName)))
                    case let name: parts.append(FactKey(rawValue: name).map(Code.fact) ?? .constant(.string("")))
                    }
                }
            }
            if parts.count == 1, case .constant = parts[0] { return parts[0] }
            if parts.isEmpty { return .constant(.string("")) }
            return .concatenation(parts)
        case .regex:
            return .failure("a regex can only be matched with `matches`", expr.span)
        case .member(let base, let field) where tables.types[base.id] == .json:
            return .jsonMember(lower(base), field.name, path: jsonPath(expr), field.span)
        case .index(let base, let key) where tables.types[base.id] == .json:
            return .jsonIndex(lower(base), lower(key), path: jsonPath(expr), expr.span)
        case .name, .member:
            if let key = tables.facts[expr.id] { return key.isLocal && key != .exitCode && key != .stdout ? .measured(key, expr.span) : .fact(key) }
            return .failure("unknown fact", expr.span)
        case .index(let base, let key):
            if tables.facts[base.id] == .nodeLabels { return .label(lower(key)) }
            return .index(lower(base), lower(key), missing: emptyValue(of: tables.types[expr.id] ?? .any))
        case .call(let function, let args):
            guard let builtin = BuiltinFunction(rawValue: function.name) else { return .failure("unknown function", expr.span) }
            if builtin == .all || builtin == .any {
                guard args.count == 2 else { return .failure("`\(function.name)` takes a list and a condition", expr.span) }
                let overJSON = tables.types[args[0].id] == .json ? JSONPlace(path: jsonPath(args[0]), span: args[0].span) : nil
                return .quantifier(
                    all: builtin == .all, lower(args[0], expecting: .list), lower(args[1], expecting: .bool),
                    overResult: tables.facts[args[0].id] == .healthResult, json: overJSON)
            }
            let kinds: JSONKinds = builtin == .len || builtin == .count ? [.list, .object, .string] : .number
            return .call(builtin, args.map { lower($0, expecting: kinds) })
        case .unary(.not, let operand): return .not(lower(operand, expecting: .bool))
        case .unary(.negate, let operand): return .negate(lower(operand, expecting: .number), expr.span)
        case .binary(let op, let lhs, let rhs):
            switch op {
            case .and, .or:
                var operands: [Code.Operand] = []
                flatten(op, lhs, into: &operands)
                flatten(op, rhs, into: &operands)
                return op == .and ? .and(operands) : .or(operands)
            case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual:
                return lowerComparison(op, lhs, rhs, expr)
            case .in, .notIn:
                var needle: JSONKinds = [.number, .string, .bool]
                if case .list(let element) = tables.types[rhs.id] { needle = jsonKinds(of: element) ?? needle }
                if tables.types[rhs.id] == .string || tables.types[rhs.id] == .map(.string) { needle = .string }
                return .contains(negated: op == .notIn, lower(lhs, expecting: needle), lower(rhs, expecting: [.list, .object, .string]), id: expr.id)
            case .matches:
                guard let regex = tables.regexes[rhs.id] else { return .failure("`matches` needs a regex literal", rhs.span) }
                return .matches(lower(lhs, expecting: .string), regex, id: expr.id)
            case .add, .subtract, .multiply, .divide:
                return .arithmetic(op, lower(lhs, expecting: .number), lower(rhs, expecting: .number), expr.span)
            }
        case .percentOf(let p, let whole): return .percentOf(lower(p), lower(whole), expr.span)
        case .list(let items): return .list(items.map(lower))
        case .map(let entries): return .map(entries.map { (lower($0.key), lower($0.value)) })
        }
    }

    /// `json.replication.lag_seconds`, `json.items[0]`: the path as a message names it.
    private func jsonPath(_ expr: Expr) -> String {
        switch expr.kind {
        case .member(let base, let field): return jsonPath(base) + "." + field.name
        case .index(let base, let key):
            switch key.kind {
            case .integer(let n): return jsonPath(base) + "[\(n)]"
            case .string(let s): return jsonPath(base) + "[" + quoteString(s.value) + "]"
            default: return jsonPath(base) + "[…]"
            }
        case .name(let name): return name
        default: return "json"
        }
    }

    /// `a and b and c` is one node with three operands, each keeping its own id for traces and coverage.
    private func flatten(_ op: BinaryOperator, _ expr: Expr, into operands: inout [Code.Operand]) {
        if case .binary(let inner, let l, let r) = expr.kind, inner == op {
            flatten(op, l, into: &operands)
            flatten(op, r, into: &operands)
        } else {
            operands.append(Code.Operand(code: lower(expr, expecting: .bool), id: expr.id))
        }
    }

    /// Folds sub-expressions that read no fact into constants; a fold that fails stays, to fail with its location.
    private func fold(_ code: Code) -> Code {
        func constant(_ c: Code) -> Code {
            guard let v = try? Interpreter.evaluate(c, FactSlots.empty, recorder: nil) else { return c }
            return .constant(v)
        }
        switch code {
        case .constant, .fact, .failure, .measured: return code
        case .jsonMember(let base, let name, let path, let span): return .jsonMember(fold(base), name, path: path, span)
        case .jsonIndex(let base, let key, let path, let span): return .jsonIndex(fold(base), fold(key), path: path, span)
        case .quantifier(let all, let list, let condition, let overResult, let json):
            return .quantifier(all: all, fold(list), fold(condition), overResult: overResult, json: json)
        case .jsonExpecting(let c, let kinds, let path, let span): return .jsonExpecting(fold(c), kinds, path: path, span)
        case .compareJSON(let op, let l, let r, let path, let span, let id): return .compareJSON(op, fold(l), fold(r), path: path, span, id: id)
        case .label(let key): return .label(fold(key))
        case .not(let c):
            let f = fold(c)
            return f.constantValue != nil ? constant(.not(f)) : .not(f)
        case .negate(let c, let span):
            let f = fold(c)
            return f.constantValue != nil ? constant(.negate(f, span)) : .negate(f, span)
        case .and(let operands): return .and(operands.map { Code.Operand(code: fold($0.code), id: $0.id) })
        case .or(let operands): return .or(operands.map { Code.Operand(code: fold($0.code), id: $0.id) })
        case .compare(let op, let l, let r, let id):
            // Not folded when both sides are constant: a trace shows the values compared (`2 > 1 is true`).
            return .compare(op, fold(l), fold(r), id: id)
        case .arithmetic(let op, let l, let r, let span):
            let (a, b) = (fold(l), fold(r))
            return a.constantValue != nil && b.constantValue != nil ? constant(.arithmetic(op, a, b, span)) : .arithmetic(op, a, b, span)
        case .contains(let negated, let l, let r, let id):
            let (a, b) = (fold(l), fold(r))
            if case .constant(let list) = b, case .list(let items) = list {
                return .containsConstant(negated: negated, a, Set(items), list: list, id: id)
            }
            return .contains(negated: negated, a, b, id: id)
        case .containsConstant(let negated, let l, let set, let list, let id): return .containsConstant(negated: negated, fold(l), set, list: list, id: id)
        case .matches(let l, let regex, let id): return .matches(fold(l), regex, id: id)
        case .index(let base, let key, let missing):
            let (a, b) = (fold(base), fold(key))
            return a.constantValue != nil && b.constantValue != nil ? constant(.index(a, b, missing: missing)) : .index(a, b, missing: missing)
        case .call(let function, let args):
            let folded = args.map(fold)
            return folded.allSatisfy { $0.constantValue != nil } ? constant(.call(function, folded)) : .call(function, folded)
        case .percentOf(let p, let whole, let span):
            let (a, b) = (fold(p), fold(whole))
            return a.constantValue != nil && b.constantValue != nil ? constant(.percentOf(a, b, span)) : .percentOf(a, b, span)
        case .list(let items):
            let folded = items.map(fold)
            return folded.allSatisfy { $0.constantValue != nil } ? .constant(.list(folded.compactMap(\.constantValue))) : .list(folded)
        case .map(let entries):
            let folded = entries.map { (key: fold($0.key), value: fold($0.value)) }
            return folded.allSatisfy { $0.key.constantValue != nil && $0.value.constantValue != nil } ? constant(.map(folded)) : .map(folded)
        case .concatenation(let parts):
            let folded = parts.map(fold)
            return folded.allSatisfy { $0.constantValue != nil } ? constant(.concatenation(folded)) : .concatenation(folded)
        }
    }
}

/// The value a missing map key or list element reads as.
func emptyValue(of type: RCType) -> Value {
    switch type {
    case .bool: .bool(false)
    case .int: .int(0)
    case .number: .number(0)
    case .percent: .percent(0)
    case .duration: .duration(0)
    case .timeOfDay: .timeOfDay(0)
    case .instant: .instant(Instant(epochMilliseconds: 0))
    case .string, .regex, .record, .any, .error, .weekday, .json: .string("")
    case .list: .list([])
    case .map: .map([:])
    }
}
