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
    /// A comparison, with the id of its expression: a trace records both sides under it.
    case compare(BinaryOperator, Code, Code, id: Int)
    case arithmetic(BinaryOperator, Code, Code, Span)
    /// `in` / `not in`; a constant list on the right is a set (`list` keeps it as written, for traces).
    case contains(negated: Bool, Code, Code, id: Int)
    case containsConstant(negated: Bool, Code, Set<Value>, list: Value, id: Int)
    case matches(Code, CompiledRegex, id: Int)
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
    /// A value a health check measured (`value`, `json`, …); reading one the check could not measure is an error
    /// that says why (`the query returned no sample`).
    case measured(FactKey, Span)
    /// `json.a.b`, `json.items[0]`: a part of a JSON body; `path` is the path as written, for errors.
    case jsonMember(Code, String, path: String, Span)
    case jsonIndex(Code, Code, path: String, Span)
    /// `all(list, condition)` / `any(list, condition)`: the condition reads each element as `sample`; over a
    /// Prometheus `result` it reads the sample's labels as `labels`. Over a JSON list (`json` set) each element
    /// must be a number, as `sample` is.
    case quantifier(all: Bool, Code, Code, overResult: Bool, json: JSONPlace?)
    /// A part of a JSON body where one kind of value is needed (`not json.degraded`, `json.lag * 2`,
    /// `len(json.items)`): any other kind is an error naming the path, never a silent `false`.
    case jsonExpecting(Code, JSONKinds, path: String, Span)
    /// A comparison with a part of a JSON body: both sides must be of one kind (numbers with numbers, strings with
    /// strings, …), or it is an error naming the path. `"30" >= 5` is neither true nor false.
    case compareJSON(BinaryOperator, Code, Code, path: String, Span, id: Int)

    /// One operand of `and`/`or`.
    struct Operand: Sendable {
        var code: Code
        var id: Int
    }

    var constantValue: Value? {
        if case .constant(let v) = self { v } else { nil }
    }
}

/// Where a part of a JSON body is read: the path as written and its span, for errors.
struct JSONPlace: Sendable {
    var path: String
    var span: Span
}

/// The kinds of value a JSON body holds, as a set: what a place in an expression accepts.
struct JSONKinds: OptionSet, Sendable, Hashable {
    let rawValue: UInt8
    init(rawValue: UInt8) { self.rawValue = rawValue }
    static let number = JSONKinds(rawValue: 1)
    static let string = JSONKinds(rawValue: 2)
    static let bool = JSONKinds(rawValue: 4)
    static let list = JSONKinds(rawValue: 8)
    static let object = JSONKinds(rawValue: 16)

    /// The kind of `value`; empty for a value no JSON body holds.
    init(of value: Value) {
        switch value {
        case .int, .number: self = .number
        case .string: self = .string
        case .bool: self = .bool
        case .list: self = .list
        case .map: self = .object
        default: self = []
        }
    }

    /// "a number", "a list, an object or a string".
    var description: String {
        let names: [(JSONKinds, String)] = [(.number, "a number"), (.string, "a string"), (.bool, "a bool"), (.list, "a list"), (.object, "an object")]
        let parts = names.filter { contains($0.0) }.map(\.1)
        guard let last = parts.last else { return "nothing" }
        return parts.count == 1 ? last : parts.dropLast().joined(separator: ", ") + " or " + last
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
    /// Why a measured value is missing, for the values a health check could not measure.
    var unavailable: [FactKey: String] = [:]
    /// The labels of each sample of `result`, in order.
    var resultLabels: [[String: String]] = []

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
        case .healthStatus: 16
        case .healthJSON: 17
        case .healthValue: 18
        case .healthResult: 19
        case .healthEmpty: 20
        case .sample: 21
        case .sampleLabels: 22
        }
    }
}

/// Evaluates compiled expressions.
enum Interpreter {
    /// Evaluates `code`. Every case with more than a line of work is a function of its own: this function recurses
    /// once per level of the expression, and a small frame keeps deep expressions (`Parser.maxExpressionDepth`)
    /// well inside a thread's stack in unoptimised builds too (docs/language.md, "Limits").
    static func evaluate(_ code: Code, _ facts: FactSlots, recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        switch code {
        case .constant(let v): return v
        case .fact(let key): return facts[key]
        case .not(let c): return .bool(!(try bool(c, facts, recorder)))
        case .negate(let c, let span): return try negate(c, span, facts, recorder)
        case .and(let operands): return .bool(try all(operands, facts, recorder))
        case .or(let operands): return .bool(try any(operands, facts, recorder))
        case .compare(let op, let l, let r, let id):
            if let recorder { return try compareRecorded(op, l, r, id, facts, recorder) }
            return .bool(compare(op, try evaluate(l, facts, recorder: nil), try evaluate(r, facts, recorder: nil)))
        case .compareJSON(let op, let l, let r, let path, let span, let id): return try compareJSON(op, l, r, path, span, id, facts, recorder)
        case .jsonExpecting(let c, let kinds, let path, let span): return try jsonExpecting(c, kinds, path, span, facts, recorder)
        case .arithmetic(let op, let l, let r, let span):
            return try arithmetic(op, try evaluate(l, facts, recorder: recorder), try evaluate(r, facts, recorder: recorder), span)
        case .contains(let negated, let l, let r, let id): return try contains(negated, l, r, id, facts, recorder)
        case .containsConstant(let negated, let l, let set, let list, let id):
            if let recorder { return try containsConstantRecorded(negated, l, set, list, id, facts, recorder) }
            return .bool(set.contains(try evaluate(l, facts, recorder: nil)) != negated)
        case .matches(let l, let regex, let id): return try matches(l, regex, id, facts, recorder)
        case .index(let base, let key, let missing): return try index(base, key, missing, facts, recorder)
        case .label(let key): return try label(key, facts, recorder)
        case .call(let function, let args): return try call(function, args, facts, recorder)
        case .percentOf(let p, let whole, let span): return try percentOf(p, whole, span, facts, recorder)
        case .list(let items): return try list(items, facts, recorder)
        case .map(let entries): return try map(entries, facts, recorder)
        case .concatenation(let parts): return try concatenation(parts, facts, recorder)
        case .failure(let message, let span): throw EvaluationError(message, span: span)
        case .measured(let key, let span):
            if let why = facts.unavailable[key] { throw EvaluationError(why, span: span) }
            return facts[key]
        case .jsonMember(let base, let name, let path, let span): return try jsonMember(base, name, path, span, facts, recorder)
        case .jsonIndex(let base, let key, let path, let span): return try jsonIndex(base, key, path, span, facts, recorder)
        case .quantifier(let all, let list, let condition, let overResult, let json):
            return try quantifier(all, list, condition, overResult, json, facts, recorder)
        }
    }

    private static func jsonExpecting(_ c: Code, _ kinds: JSONKinds, _ path: String, _ span: Span, _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        try expecting(kinds, try evaluate(c, facts, recorder: recorder), path, span)
    }

    /// `value` when a JSON body's part of one of `kinds` is needed; an error naming the path otherwise.
    private static func expecting(_ kinds: JSONKinds, _ value: Value, _ path: String, _ span: Span) throws(EvaluationError) -> Value {
        guard kinds.contains(JSONKinds(of: value)), JSONKinds(of: value) != [] else {
            throw EvaluationError("\(path): the response has \(jsonKind(value))\(shown(value)) where \(kinds.description) was expected", span: span)
        }
        return value
    }

    /// A comparison while tracing: both sides are recorded. The left side is recorded as it was read (a part of a
    /// JSON body before its kind is checked) also when the comparison fails, so that what a health check needs can
    /// say what it read (`json.lag < 5, was "30"`).
    @inline(never)
    private static func compareRecorded(_ op: BinaryOperator, _ l: Code, _ r: Code, _ id: Int, _ facts: FactSlots, _ recorder: TraceRecorder) throws(EvaluationError) -> Value {
        let (a, b) = try sidesRecorded(l, r, id, facts, recorder)
        return .bool(compare(op, a, b))
    }

    /// Both sides of a comparison (`==`, `<`, `in`, …) while tracing, recorded under the comparison's id.
    private static func sidesRecorded(_ l: Code, _ r: Code, _ id: Int, _ facts: FactSlots, _ recorder: TraceRecorder) throws(EvaluationError) -> (Value, Value) {
        let a = try leftRecorded(l, id, facts, recorder)
        let b: Value
        do throws(EvaluationError) {
            b = try evaluate(r, facts, recorder: recorder)
        } catch {
            recorder.record(.compared(id: id, left: a, right: nil))
            throw error
        }
        recorder.record(.compared(id: id, left: a, right: b))
        return (a, b)
    }

    /// The left side of a comparison while tracing; a part of a JSON body of the wrong kind is recorded as it was
    /// read before it fails.
    private static func leftRecorded(_ l: Code, _ id: Int, _ facts: FactSlots, _ recorder: TraceRecorder) throws(EvaluationError) -> Value {
        guard case .jsonExpecting(let inner, let kinds, let path, let span) = l else { return try evaluate(l, facts, recorder: recorder) }
        let read = try evaluate(inner, facts, recorder: recorder)
        do throws(EvaluationError) {
            return try expecting(kinds, read, path, span)
        } catch {
            recorder.record(.compared(id: id, left: read, right: nil))
            throw error
        }
    }

    @inline(never)
    private static func containsConstantRecorded(
        _ negated: Bool, _ l: Code, _ set: Set<Value>, _ list: Value, _ id: Int, _ facts: FactSlots, _ recorder: TraceRecorder
    ) throws(EvaluationError) -> Value {
        let needle = try leftRecorded(l, id, facts, recorder)
        recorder.record(.compared(id: id, left: needle, right: list))
        return .bool(set.contains(needle) != negated)
    }

    private static func compareJSON(
        _ op: BinaryOperator, _ l: Code, _ r: Code, _ path: String, _ span: Span, _ id: Int, _ facts: FactSlots, _ recorder: TraceRecorder?
    ) throws(EvaluationError) -> Value {
        let a = try evaluate(l, facts, recorder: recorder)
        let b: Value
        do throws(EvaluationError) {
            b = try evaluate(r, facts, recorder: recorder)
        } catch {
            recorder?.record(.compared(id: id, left: a, right: nil))
            throw error
        }
        recorder?.record(.compared(id: id, left: a, right: b))
        let (ka, kb) = (JSONKinds(of: a), JSONKinds(of: b))
        guard ka == kb, ka != [] else {
            throw EvaluationError("\(path): the response has \(jsonKind(a))\(shown(a)) where \(jsonKind(b))\(shown(b)) is compared with it", span: span)
        }
        if ![BinaryOperator.equal, .notEqual].contains(op), ![.number, .string].contains(ka) {
            throw EvaluationError("\(path): the response has \(jsonKind(a)), which cannot be ordered", span: span)
        }
        if case .number(let x) = a, x.isNaN { throw EvaluationError("\(path): the response has NaN", span: span) }
        return .bool(compare(op, a, b))
    }

    /// ` ("30")`: a scalar as it was, for messages; nothing for lists and objects.
    private static func shown(_ value: Value) -> String {
        switch value {
        case .string(let s): " (" + quoteString(s.count > 40 ? String(s.prefix(40)) + "…" : s) + ")"
        case .bool, .int, .number: " (\(value))"
        default: ""
        }
    }

    private static func jsonMember(_ base: Code, _ name: String, _ path: String, _ span: Span, _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        let value = try evaluate(base, facts, recorder: recorder)
        guard case .map(let fields) = value else {
            throw EvaluationError("\(path): the response has \(jsonKind(value)) where an object with `\(name)` was expected", span: span)
        }
        guard let field = fields[name] else {
            throw EvaluationError("\(path): the response has no field `\(name)` (or it is null)", span: span)
        }
        return field
    }

    private static func jsonIndex(_ base: Code, _ key: Code, _ path: String, _ span: Span, _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        switch (try evaluate(base, facts, recorder: recorder), try evaluate(key, facts, recorder: recorder)) {
        case (.map(let fields), .string(let k)):
            guard let field = fields[k] else { throw EvaluationError("\(path): the response has no field \(quoteString(k)) (or it is null)", span: span) }
            return field
        case (.list(let items), .int(let i)):
            guard i >= 0, i < items.count else { throw EvaluationError("\(path): the response's list has \(items.count) element\(items.count == 1 ? "" : "s")", span: span) }
            return items[Int(i)]
        case (let value, _):
            throw EvaluationError("\(path): the response has \(jsonKind(value)) here", span: span)
        }
    }

    /// How a JSON value is named in messages.
    static func jsonKind(_ value: Value) -> String {
        switch value {
        case .map: "an object"
        case .list: "a list"
        case .string: "a string"
        case .bool: "a bool"
        case .int, .number: "a number"
        default: "\(value.type)"
        }
    }

    private static func quantifier(_ all: Bool, _ list: Code, _ condition: Code, _ overResult: Bool, _ json: JSONPlace?, _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        guard case .list(let items) = try evaluate(list, facts, recorder: recorder) else { return .bool(all) }
        var scope = facts
        for (i, item) in items.enumerated() {
            if let json, JSONKinds(of: item) != .number {
                throw EvaluationError("\(json.path)[\(i)]: the response has \(jsonKind(item))\(shown(item)) where a number was expected", span: json.span)
            }
            scope[.sample] = item
            if overResult { scope[.sampleLabels] = .map((i < facts.resultLabels.count ? facts.resultLabels[i] : [:]).mapValues(Value.string)) }
            if try bool(condition, scope, nil) != all { return .bool(!all) }
        }
        return .bool(all)
    }

    private static func negate(_ c: Code, _ span: Span, _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        switch try evaluate(c, facts, recorder: recorder) {
        case .int(let n): return .int(try checked(Int64(0).subtractingReportingOverflow(n), span))
        case .duration(let n): return .duration(try checked(Int64(0).subtractingReportingOverflow(n), span))
        case .percent(let p): return .percent(-p)
        case .number(let n): return .number(-n)
        default: throw EvaluationError("`-` needs a number", span: span)
        }
    }

    private static func all(_ operands: [Code.Operand], _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Bool {
        for operand in operands {
            let b = try bool(operand.code, facts, recorder)
            recorder?.record(.operand(id: operand.id, b))
            if !b { return false }
        }
        return true
    }

    private static func any(_ operands: [Code.Operand], _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Bool {
        for operand in operands {
            let b = try bool(operand.code, facts, recorder)
            recorder?.record(.operand(id: operand.id, b))
            if b { return true }
        }
        return false
    }

    private static func contains(_ negated: Bool, _ l: Code, _ r: Code, _ id: Int, _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        let (needle, haystack) = if let recorder { try sidesRecorded(l, r, id, facts, recorder) } else { (try evaluate(l, facts, recorder: nil), try evaluate(r, facts, recorder: nil)) }
        let found: Bool
        switch haystack {
        case .list(let items): found = items.contains(needle)
        case .map(let entries):
            if case .string(let key) = needle { found = entries[key] != nil } else { found = false }
        case .string(let haystack):
            if case .string(let s) = needle { found = s.isEmpty || haystack.contains(s) } else { found = false }
        default: found = false
        }
        return .bool(found != negated)
    }

    private static func matches(_ l: Code, _ regex: CompiledRegex, _ id: Int, _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        let value: Value
        if let recorder {
            value = try leftRecorded(l, id, facts, recorder)
            recorder.record(.matched(id: id, value))
        } else {
            value = try evaluate(l, facts, recorder: nil)
        }
        guard case .string(let s) = value else { return .bool(false) }
        return .bool(regex.matches(s))
    }

    private static func index(_ base: Code, _ key: Code, _ missing: Value, _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        switch (try evaluate(base, facts, recorder: recorder), try evaluate(key, facts, recorder: recorder)) {
        case (.map(let entries), .string(let k)): return entries[k] ?? missing
        case (.list(let items), .int(let i)): return i >= 0 && i < items.count ? items[Int(i)] : missing
        default: return missing
        }
    }

    private static func label(_ key: Code, _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        guard case .string(let k) = try evaluate(key, facts, recorder: recorder) else { return .string("") }
        return .string(facts.labels[k] ?? "")
    }

    private static func percentOf(_ p: Code, _ whole: Code, _ span: Span, _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        guard case .percent(let percent) = try evaluate(p, facts, recorder: recorder) else {
            throw EvaluationError("`of` needs a percentage", span: span)
        }
        // Percentages are exact to a thousandth of a percent; counts round up so a threshold is never weaker
        // than written.
        let milli = Int64((percent * 1000).rounded())
        switch try evaluate(whole, facts, recorder: recorder) {
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

    private static func list(_ items: [Code], _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        var values: [Value] = []
        values.reserveCapacity(items.count)
        for item in items { values.append(try evaluate(item, facts, recorder: recorder)) }
        return .list(values)
    }

    private static func map(_ entries: [(key: Code, value: Code)], _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        var values: [String: Value] = [:]
        for entry in entries {
            guard case .string(let k) = try evaluate(entry.key, facts, recorder: recorder) else { continue }
            values[k] = try evaluate(entry.value, facts, recorder: recorder)
        }
        return .map(values)
    }

    private static func concatenation(_ parts: [Code], _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        var text = ""
        for part in parts {
            switch try evaluate(part, facts, recorder: recorder) {
            case .string(let s): text += s
            case let other: text += other.description
            }
        }
        return .string(text)
    }

    static func bool(_ code: Code, _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Bool {
        if case .bool(let b) = try evaluate(code, facts, recorder: recorder) { return b }
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
        case (.number(let x), .number(let y)): return x.isNaN || y.isNaN ? nil : sign(x, y)
        case (.int(let x), .number(let y)): return y.isNaN ? nil : sign(Double(x), y)
        case (.number(let x), .int(let y)): return x.isNaN ? nil : sign(x, Double(y))
        case (.duration(let x), .duration(let y)): return sign(x, y)
        case (.percent(let x), .percent(let y)): return sign(x, y)
        case (.instant(let x), .instant(let y)): return sign(x, y)
        case (.timeOfDay(let x), .timeOfDay(let y)): return sign(x, y)
        case (.string(let x), .string(let y)): return sign(x, y)
        default: return nil
        }
    }

    static func compare(_ op: BinaryOperator, _ a: Value, _ b: Value) -> Bool {
        switch (op, a, b) {
        case (.equal, .int, .number), (.equal, .number, .int): return order(a, b) == 0
        case (.notEqual, .int, .number), (.notEqual, .number, .int): return order(a, b) != 0
        default: break
        }
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
        if let x = a.decimal, let y = b.decimal, a.isNumber || b.isNumber {
            switch op {
            case .add: return .number(x + y)
            case .subtract: return .number(x - y)
            case .multiply: return .number(x * y)
            default:
                guard y != 0 else { throw EvaluationError("division by zero", span: span) }
                return .number(x / y)
            }
        }
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

    private static func call(_ function: BuiltinFunction, _ args: [Code], _ facts: FactSlots, _ recorder: TraceRecorder?) throws(EvaluationError) -> Value {
        switch function {
        case .len, .count:
            guard let arg = args.first else { return .int(0) }
            switch try evaluate(arg, facts, recorder: recorder) {
            case .list(let items): return .int(Int64(items.count))
            case .map(let entries): return .int(Int64(entries.count))
            case .string(let s): return .int(Int64(s.count))
            default: return .int(0)
            }
        case .max, .min:
            var best: Value?
            for arg in args {
                let v = try evaluate(arg, facts, recorder: recorder)
                if let current = best, let o = order(v, current) {
                    if (function == .max && o > 0) || (function == .min && o < 0) { best = v }
                } else if best == nil {
                    best = v
                }
            }
            return best ?? .int(0)
        case .all, .any:
            return .bool(function == .all)
        }
    }
}

extension Value {
    /// An int or a number as a `Double`.
    var decimal: Double? {
        switch self {
        case .int(let n): Double(n)
        case .number(let n): n
        default: nil
        }
    }

    var isNumber: Bool {
        if case .number = self { return true }
        return false
    }
}
