import PolicyLang

/// An expression compiled for evaluation: facts resolved to slots, constant sub-expressions folded, regexes
/// attached. Evaluating it allocates nothing for the common shapes (comparisons of facts with constants).
indirect enum Code: Sendable {
    case constant(Value)
    case fact(FactKey)
    case not(Code)
    case negate(Code, Span)
    /// Operands with their expression ids, so a trace can say which ones ran.
    case and([Operand])
    case or([Operand])
    case compare(BinaryOperator, Code, Code)
    case arithmetic(BinaryOperator, Code, Code, Span)
    /// `in` / `not in`; a constant list on the right is a set.
    case contains(negated: Bool, Code, Code)
    case containsConstant(negated: Bool, Code, Set<Value>)
    case matches(Code, CompiledRegex)
    /// A missing key or an index out of range reads as `missing`, the empty value of the element type.
    case index(Code, Code, missing: Value)
    /// `node.labels[KEY]`, read without building the map.
    case label(Code)
    case call(BuiltinFunction, [Code])
    case percentOf(Code, Code, Span)
    case list([Code])
    case map([(key: Code, value: Code)])
    case concatenation([Code])
    /// An expression that cannot be evaluated (it did not check); evaluating it is an error.
    case failure(String, Span)

    /// One operand of `and`/`or`.
    struct Operand: Sendable {
        var code: Code
        var id: Int
    }

    var constantValue: Value? {
        if case .constant(let v) = self { v } else { nil }
    }
}

/// Why an expression could not be evaluated (overflow, division by zero), with where.
public struct EvaluationError: Error, Sendable, Hashable {
    public var message: String
    public var span: Span

    /// Creates an error.
    public init(_ message: String, span: Span) {
        self.message = message
        self.span = span
    }
}

/// The facts of one decision, in slots indexed by `FactKey`, ready for expressions. The labels stay a plain
/// dictionary; `node.labels` as a whole is built only when an expression reads it whole.
struct FactSlots: Sendable {
    private var values: ContiguousArray<Value>
    var labels: [String: String] = [:]

    init(_ values: ContiguousArray<Value>) {
        assert(values.count == FactKey.allCases.count, "one value per fact key")
        self.values = values
    }

    subscript(key: FactKey) -> Value {
        get { key == .nodeLabels ? .map(labels.mapValues(Value.string)) : values[key.slot] }
        set {
            if key == .nodeLabels, case .map(let m) = newValue {
                labels = m.compactMapValues { if case .string(let s) = $0 { s } else { nil } }
            } else {
                values[key.slot] = newValue
            }
        }
    }

    static let empty = FactSlots(ContiguousArray(repeating: .bool(false), count: FactKey.allCases.count))
}

extension FactKey {
    /// The fact's position in `FactSlots`.
    var slot: Int {
        switch self {
        case .now: 0
        case .phase: 1
        case .killSwitch: 2
        case .nodeName: 3
        case .nodeLabels: 4
        case .nodeUptime: 5
        case .clusterSize: 6
        case .clusterHealthy: 7
        case .clusterFallbackHealthy: 8
        case .clusterLastReboot: 9
        case .lockHeld: 10
        case .lockAvailable: 11
        case .lockSlots: 12
        case .lockHolders: 13
        case .exitCode: 14
        case .stdout: 15
        }
    }
}

/// Records which `and`/`or` operands ran and what they gave, when a trace or coverage wants to know.
final class ConditionLog {
    var results: [Int: Bool] = [:]
}

/// Evaluates compiled expressions.
enum Interpreter {
    /// Evaluates `code`. Every case with more than a line of work is a function of its own: this function recurses
    /// once per level of the expression, and a small frame keeps deep expressions (`Parser.maxExpressionDepth`)
    /// well inside a thread's stack in unoptimised builds too (docs/language.md, "Limits").
    static func evaluate(_ code: Code, _ facts: FactSlots, log: ConditionLog?) throws(EvaluationError) -> Value {
        switch code {
        case .constant(let v): return v
        case .fact(let key): return facts[key]
        case .not(let c): return .bool(!(try bool(c, facts, log)))
        case .negate(let c, let span): return try negate(c, span, facts, log)
        case .and(let operands): return .bool(try all(operands, facts, log))
        case .or(let operands): return .bool(try any(operands, facts, log))
        case .compare(let op, let l, let r): return .bool(compare(op, try evaluate(l, facts, log: log), try evaluate(r, facts, log: log)))
        case .arithmetic(let op, let l, let r, let span):
            return try arithmetic(op, try evaluate(l, facts, log: log), try evaluate(r, facts, log: log), span)
        case .contains(let negated, let l, let r): return try contains(negated, l, r, facts, log)
        case .containsConstant(let negated, let l, let set): return .bool(set.contains(try evaluate(l, facts, log: log)) != negated)
        case .matches(let l, let regex): return try matches(l, regex, facts, log)
        case .index(let base, let key, let missing): return try index(base, key, missing, facts, log)
        case .label(let key): return try label(key, facts, log)
        case .call(let function, let args): return try call(function, args, facts, log)
        case .percentOf(let p, let whole, let span): return try percentOf(p, whole, span, facts, log)
        case .list(let items): return try list(items, facts, log)
        case .map(let entries): return try map(entries, facts, log)
        case .concatenation(let parts): return try concatenation(parts, facts, log)
        case .failure(let message, let span): throw EvaluationError(message, span: span)
        }
    }

    private static func negate(_ c: Code, _ span: Span, _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Value {
        switch try evaluate(c, facts, log: log) {
        case .int(let n): return .int(try checked(Int64(0).subtractingReportingOverflow(n), span))
        case .duration(let n): return .duration(try checked(Int64(0).subtractingReportingOverflow(n), span))
        case .percent(let p): return .percent(-p)
        default: throw EvaluationError("`-` needs a number", span: span)
        }
    }

    private static func all(_ operands: [Code.Operand], _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Bool {
        for operand in operands {
            let b = try bool(operand.code, facts, log)
            log?.results[operand.id] = b
            if !b { return false }
        }
        return true
    }

    private static func any(_ operands: [Code.Operand], _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Bool {
        for operand in operands {
            let b = try bool(operand.code, facts, log)
            log?.results[operand.id] = b
            if b { return true }
        }
        return false
    }

    private static func contains(_ negated: Bool, _ l: Code, _ r: Code, _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Value {
        let needle = try evaluate(l, facts, log: log)
        let found: Bool
        switch try evaluate(r, facts, log: log) {
        case .list(let items): found = items.contains(needle)
        case .map(let entries):
            if case .string(let key) = needle { found = entries[key] != nil } else { found = false }
        case .string(let haystack):
            if case .string(let s) = needle { found = s.isEmpty || haystack.contains(s) } else { found = false }
        default: found = false
        }
        return .bool(found != negated)
    }

    private static func matches(_ l: Code, _ regex: CompiledRegex, _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Value {
        guard case .string(let s) = try evaluate(l, facts, log: log) else { return .bool(false) }
        return .bool(regex.matches(s))
    }

    private static func index(_ base: Code, _ key: Code, _ missing: Value, _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Value {
        switch (try evaluate(base, facts, log: log), try evaluate(key, facts, log: log)) {
        case (.map(let entries), .string(let k)): return entries[k] ?? missing
        case (.list(let items), .int(let i)): return i >= 0 && i < items.count ? items[Int(i)] : missing
        default: return missing
        }
    }

    private static func label(_ key: Code, _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Value {
        guard case .string(let k) = try evaluate(key, facts, log: log) else { return .string("") }
        return .string(facts.labels[k] ?? "")
    }

    private static func percentOf(_ p: Code, _ whole: Code, _ span: Span, _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Value {
        guard case .percent(let percent) = try evaluate(p, facts, log: log) else {
            throw EvaluationError("`of` needs a percentage", span: span)
        }
        // Percentages are exact to a thousandth of a percent; counts round up so a threshold is never weaker
        // than written.
        let milli = Int64((percent * 1000).rounded())
        switch try evaluate(whole, facts, log: log) {
        case .int(let n):
            let product = try checked(milli.multipliedReportingOverflow(by: n), span)
            let (q, r) = product.quotientAndRemainder(dividingBy: 100_000)
            return .int(r > 0 ? q + 1 : q)
        case .duration(let d):
            let product = try checked(milli.multipliedReportingOverflow(by: d), span)
            return .duration((product + 50_000) / 100_000)
        default: throw EvaluationError("`of` needs an int or a duration", span: span)
        }
    }

    private static func list(_ items: [Code], _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Value {
        var values: [Value] = []
        values.reserveCapacity(items.count)
        for item in items { values.append(try evaluate(item, facts, log: log)) }
        return .list(values)
    }

    private static func map(_ entries: [(key: Code, value: Code)], _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Value {
        var values: [String: Value] = [:]
        for entry in entries {
            guard case .string(let k) = try evaluate(entry.key, facts, log: log) else { continue }
            values[k] = try evaluate(entry.value, facts, log: log)
        }
        return .map(values)
    }

    private static func concatenation(_ parts: [Code], _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Value {
        var text = ""
        for part in parts {
            switch try evaluate(part, facts, log: log) {
            case .string(let s): text += s
            case let other: text += other.description
            }
        }
        return .string(text)
    }

    static func bool(_ code: Code, _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Bool {
        if case .bool(let b) = try evaluate(code, facts, log: log) { return b }
        return false
    }

    private static func checked(_ result: (partialValue: Int64, overflow: Bool), _ span: Span) throws(EvaluationError) -> Int64 {
        if result.overflow { throw EvaluationError("the result is too large", span: span) }
        return result.partialValue
    }

    /// Orders two values of one ordered type; `nil` for unordered or mixed values.
    static func order(_ a: Value, _ b: Value) -> Int? {
        func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x == y ? 0 : 1) }
        switch (a, b) {
        case (.int(let x), .int(let y)): return sign(x, y)
        case (.duration(let x), .duration(let y)): return sign(x, y)
        case (.percent(let x), .percent(let y)): return sign(x, y)
        case (.instant(let x), .instant(let y)): return sign(x, y)
        case (.timeOfDay(let x), .timeOfDay(let y)): return sign(x, y)
        case (.string(let x), .string(let y)): return sign(x, y)
        default: return nil
        }
    }

    static func compare(_ op: BinaryOperator, _ a: Value, _ b: Value) -> Bool {
        switch op {
        case .equal: return a == b
        case .notEqual: return a != b
        default:
            guard let o = order(a, b) else { return false }
            switch op {
            case .less: return o < 0
            case .lessEqual: return o <= 0
            case .greater: return o > 0
            case .greaterEqual: return o >= 0
            default: return false
            }
        }
    }

    static func arithmetic(_ op: BinaryOperator, _ a: Value, _ b: Value, _ span: Span) throws(EvaluationError) -> Value {
        switch (op, a, b) {
        case (.add, .int(let x), .int(let y)): return .int(try checked(x.addingReportingOverflow(y), span))
        case (.subtract, .int(let x), .int(let y)): return .int(try checked(x.subtractingReportingOverflow(y), span))
        case (.multiply, .int(let x), .int(let y)): return .int(try checked(x.multipliedReportingOverflow(by: y), span))
        case (.divide, .int(let x), .int(let y)):
            guard y != 0 else { throw EvaluationError("division by zero", span: span) }
            return .int(try checked(x.dividedReportingOverflow(by: y), span))
        case (.add, .duration(let x), .duration(let y)): return .duration(try checked(x.addingReportingOverflow(y), span))
        case (.subtract, .duration(let x), .duration(let y)): return .duration(try checked(x.subtractingReportingOverflow(y), span))
        case (.multiply, .duration(let x), .int(let y)), (.multiply, .int(let y), .duration(let x)):
            return .duration(try checked(x.multipliedReportingOverflow(by: y), span))
        case (.divide, .duration(let x), .int(let y)):
            guard y != 0 else { throw EvaluationError("division by zero", span: span) }
            return .duration(try checked(x.dividedReportingOverflow(by: y), span))
        case (.divide, .duration(let x), .duration(let y)):
            guard y != 0 else { throw EvaluationError("division by zero", span: span) }
            return .int(try checked(x.dividedReportingOverflow(by: y), span))
        case (.add, .percent(let x), .percent(let y)): return .percent(x + y)
        case (.subtract, .percent(let x), .percent(let y)): return .percent(x - y)
        case (.add, .instant(let i), .duration(let d)), (.add, .duration(let d), .instant(let i)):
            return .instant(Instant(epochMilliseconds: try checked(i.epochMilliseconds.addingReportingOverflow(d), span), utcOffsetSeconds: i.utcOffsetSeconds))
        case (.subtract, .instant(let i), .duration(let d)):
            return .instant(Instant(epochMilliseconds: try checked(i.epochMilliseconds.subtractingReportingOverflow(d), span), utcOffsetSeconds: i.utcOffsetSeconds))
        case (.subtract, .instant(let x), .instant(let y)):
            return .duration(try checked(x.epochMilliseconds.subtractingReportingOverflow(y.epochMilliseconds), span))
        case (.add, .string(let x), .string(let y)): return .string(x + y)
        default:
            throw EvaluationError("`\(op.rawValue)` cannot combine \(a.type) and \(b.type)", span: span)
        }
    }

    private static func call(_ function: BuiltinFunction, _ args: [Code], _ facts: FactSlots, _ log: ConditionLog?) throws(EvaluationError) -> Value {
        switch function {
        case .len:
            guard let arg = args.first else { return .int(0) }
            switch try evaluate(arg, facts, log: log) {
            case .list(let items): return .int(Int64(items.count))
            case .map(let entries): return .int(Int64(entries.count))
            case .string(let s): return .int(Int64(s.count))
            default: return .int(0)
            }
        case .max, .min:
            var best: Value?
            for arg in args {
                let v = try evaluate(arg, facts, log: log)
                if let current = best, let o = order(v, current) {
                    if (function == .max && o > 0) || (function == .min && o < 0) { best = v }
                } else if best == nil {
                    best = v
                }
            }
            return best ?? .int(0)
        }
    }
}
