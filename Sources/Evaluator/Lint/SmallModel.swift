import PolicyLang

/// Decides questions about conditions ("does this ever hold?", "does this imply that?") by evaluating them on every
/// point of a small model of the facts.
///
/// A condition is split into its boolean structure (`and`, `or`, `not`) over *atoms*: comparisons and other
/// bool-valued leaves. Each atom is evaluated by the evaluator itself, so the model never disagrees with a decision.
/// The facts an atom reads take the values at which a comparison can change: every constant the conditions compare
/// with and one either side, plus the edges of the fact's range (0, 1, small counts). Between two such values no
/// comparison of a fact with a constant changes, so a condition that holds on every point holds everywhere. Counts
/// keep their relations (`cluster.healthy` ≤ `cluster.size`, `lock.holders` ≤ `lock.slots`).
///
/// An atom the model cannot enumerate (a regex match, a substring test, a label read some other way than
/// `node.labels["key"]`) is a free boolean: it may be true or false independently. That only adds points, so an
/// answer of "always" or "never" stays sound; "can both hold" (``satisfiable(_:)``) may then be an over-approximation,
/// which the lints that use it say.
///
/// When the points would exceed ``limit`` the model gives no answer (`nil`), never a guess.
struct SmallModel {
    /// The most points evaluated for one question.
    static let limit = 40_000

    /// The facts the model gives values to; an atom that reads another (labels as a whole, a health check's
    /// measured value) is a free boolean.
    static let enumerated: Set<FactKey> = [
        .now, .phase, .killSwitch, .nodeName, .nodeUptime, .clusterSize, .clusterHealthy, .clusterFallbackHealthy,
        .clusterLastReboot, .lockHeld, .lockAvailable, .lockSlots, .lockHolders, .exitCode, .stdout,
    ]

    indirect enum Formula {
        case constant(Bool)
        case atom(Int)
        case not(Formula)
        case and(Formula, Formula)
        case or(Formula, Formula)
    }

    /// What atoms read (facts, label keys) and compare with (constants).
    private struct Reads {
        var facts = Set<FactKey>()
        var labelKeys = Set<String>()
        var ints = Set<Int64>()
        var durations = Set<Int64>()
        var instants = Set<Int64>()
        var strings = Set<String>()

        mutating func formUnion(_ other: Reads) {
            facts.formUnion(other.facts)
            labelKeys.formUnion(other.labelKeys)
            ints.formUnion(other.ints)
            durations.formUnion(other.durations)
            instants.formUnion(other.instants)
            strings.formUnion(other.strings)
        }
    }

    private struct Atom {
        var code: Code?
        /// A free boolean: `code` is not evaluated.
        var opaque: Bool
        var reads = Reads()
    }

    /// The points of one question: what the formulas asked about read, and their free atoms.
    private struct Space {
        var reads = Reads()
        /// Atom index → position among the free atoms.
        var opaque: [Int: Int] = [:]
    }

    private let tables: ExpressionTables
    private let compiler: Compiler
    private let file: SourceFile
    private var atoms: [Atom] = []
    private var atomIndex: [String: Int] = [:]

    init(_ policy: CheckedPolicy, compiler: Compiler) {
        tables = policy.tables
        self.compiler = compiler
        file = policy.file
    }

    // MARK: - Building formulas

    /// The formula of a bool expression, registering its atoms.
    mutating func formula(_ expr: Expr) -> Formula {
        switch expr.kind {
        case .bool(let b): return .constant(b)
        case .unary(.not, let e): return .not(formula(e))
        case .binary(.and, let a, let b): return .and(formula(a), formula(b))
        case .binary(.or, let a, let b): return .or(formula(a), formula(b))
        default: return .atom(atom(expr))
        }
    }

    private mutating func atom(_ expr: Expr) -> Int {
        let key = canonical(expr)
        if let index = atomIndex[key] { return index }
        let opaque = !enumerable(expr)
        var atom = Atom(code: opaque ? nil : compiler.compile(expr), opaque: opaque)
        if !opaque { collect(expr, into: &atom) }
        atoms.append(atom)
        atomIndex[key] = atoms.count - 1
        return atoms.count - 1
    }

    /// The expression's text with its spaces normalised: two atoms written alike are one atom.
    private func canonical(_ expr: Expr) -> String {
        file.text(expr.span).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).joined(separator: " ")
    }

    /// Whether every fact the atom reads can be enumerated.
    private func enumerable(_ expr: Expr) -> Bool {
        var ok = true
        func walk(_ e: Expr) {
            guard ok else { return }
            switch e.kind {
            case .regex, .binary(.matches, _, _): ok = false
            case .binary(let op, let a, let b) where op == .in || op == .notIn:
                if case .string? = tables.types[b.id] { ok = false }
                if case .map? = tables.types[b.id], tables.facts[b.id] == .nodeLabels {
                    if case .string = a.kind, constantString(a) != nil { return }
                    ok = false
                }
                walk(a)
                walk(b)
            case .binary(let op, let a, _) where [.less, .lessEqual, .greater, .greaterEqual, .add].contains(op):
                if case .string? = tables.types[a.id] { ok = false }
                e.kind.children.forEach(walk)
            case .index(let base, let key):
                if tables.facts[base.id] == .nodeLabels {
                    if constantString(key) == nil { ok = false }
                    return
                }
                e.kind.children.forEach(walk)
            case .call(let f, _) where f.name == "len":
                ok = false
            default:
                if let key = tables.facts[e.id] {
                    if !SmallModel.enumerated.contains(key) { ok = false }
                    return
                }
                e.kind.children.forEach(walk)
            }
        }
        walk(expr)
        return ok
    }

    private func constantString(_ e: Expr) -> String? {
        guard case .string(let literal) = e.kind else { return nil }
        var s = ""
        for part in literal.parts {
            guard case .text(let t) = part else { return nil }
            s += t
        }
        return s
    }

    /// Records the facts and constants of an enumerable atom.
    private func collect(_ expr: Expr, into atom: inout Atom) {
        if let key = tables.facts[expr.id] {
            atom.reads.facts.insert(key)
            return
        }
        switch expr.kind {
        case .integer(let i): atom.reads.ints.insert(i)
        case .duration(let d): atom.reads.durations.insert(d)
        case .instant(let i): atom.reads.instants.insert(i.epochMilliseconds)
        case .string: if let s = constantString(expr) { atom.reads.strings.insert(s) }
        case .index(let base, let key) where tables.facts[base.id] == .nodeLabels:
            if let k = constantString(key) { atom.reads.labelKeys.insert(k) }
            return
        case .binary(let op, let a, let b) where (op == .in || op == .notIn) && tables.facts[b.id] == .nodeLabels:
            if let k = constantString(a) { atom.reads.labelKeys.insert(k) }
            return
        default: break
        }
        for child in expr.kind.children { collect(child, into: &atom) }
    }

    /// The atoms a formula mentions.
    private func atomsOf(_ f: Formula, into out: inout Set<Int>) {
        switch f {
        case .constant: break
        case .atom(let i): out.insert(i)
        case .not(let a): atomsOf(a, into: &out)
        case .and(let a, let b), .or(let a, let b):
            atomsOf(a, into: &out)
            atomsOf(b, into: &out)
        }
    }

    private func space(_ formulas: [Formula]) -> Space {
        var used = Set<Int>()
        for f in formulas { atomsOf(f, into: &used) }
        var space = Space()
        for i in used.sorted() {
            let a = atoms[i]
            if a.opaque {
                space.opaque[i] = space.opaque.count
                continue
            }
            space.reads.formUnion(a.reads)
        }
        return space
    }

    /// Whether two formulas read a fact (or two bounded by one another), a label or a free atom in common.
    func share(_ a: Formula, _ b: Formula) -> Bool {
        let x = space([a]), y = space([b])
        func related(_ facts: Set<FactKey>) -> Set<FactKey> {
            let counts: Set<FactKey> = [.clusterSize, .clusterHealthy, .clusterFallbackHealthy]
            let lock: Set<FactKey> = [.lockSlots, .lockHolders]
            var out = facts
            if !facts.isDisjoint(with: counts) { out.formUnion(counts) }
            if !facts.isDisjoint(with: lock) { out.formUnion(lock) }
            return out
        }
        return !related(x.reads.facts).isDisjoint(with: y.reads.facts) || !x.reads.labelKeys.isDisjoint(with: y.reads.labelKeys)
            || !Set(x.opaque.keys).isDisjoint(with: y.opaque.keys)
    }

    // MARK: - Questions

    /// Whether `f` holds on every point (`true`), on none (`false`), or on some (`nil`); `nil` too when the model is
    /// too large or an atom fails to evaluate.
    func constant(_ f: Formula) -> Bool? {
        var seen: (true: Bool, false: Bool) = (false, false)
        let complete = forEachPoint([f]) { value in
            let v = evaluate(f, value)
            guard let v else { return false }
            if v { seen.true = true } else { seen.false = true }
            return !(seen.true && seen.false)
        }
        guard complete else { return nil }
        if seen.true && !seen.false { return true }
        if seen.false && !seen.true { return false }
        return nil
    }

    /// Whether `premise` implies `conclusion` on every point (and the premise holds on some); `nil` when unknown.
    func implies(_ premise: Formula, _ conclusion: Formula) -> Bool? {
        var premiseHeld = false
        var counterexample = false
        let complete = forEachPoint([premise, conclusion]) { value in
            guard let p = evaluate(premise, value) else { return false }
            guard p else { return true }
            premiseHeld = true
            guard let c = evaluate(conclusion, value) else { return false }
            if !c { counterexample = true }
            return !counterexample
        }
        if counterexample { return false }
        guard complete else { return nil }
        return premiseHeld
    }

    /// Whether some point makes every formula true; `nil` when unknown.
    func satisfiable(_ formulas: [Formula]) -> Bool? {
        var found = false
        let complete = forEachPoint(formulas) { value in
            for f in formulas {
                guard let v = evaluate(f, value) else { return false }
                if !v { return true }
            }
            found = true
            return false
        }
        if found { return true }
        return complete ? false : nil
    }

    /// Whether some atom is a free boolean.
    var hasOpaqueAtoms: Bool { atoms.contains { $0.opaque } }

    // MARK: - Points

    private struct Point {
        var slots: FactSlots
        var opaque: [Bool]
        var opaqueSlots: [Int: Int]
    }

    private func evaluate(_ f: Formula, _ point: Point) -> Bool? {
        switch f {
        case .constant(let b): return b
        case .not(let a): return evaluate(a, point).map { !$0 }
        case .and(let a, let b):
            guard let x = evaluate(a, point) else { return nil }
            guard x else { return false }
            return evaluate(b, point)
        case .or(let a, let b):
            guard let x = evaluate(a, point) else { return nil }
            if x { return true }
            return evaluate(b, point)
        case .atom(let i):
            let atom = atoms[i]
            guard let code = atom.code else { return point.opaque[point.opaqueSlots[i]!] }
            return try? Interpreter.bool(code, point.slots, nil)
        }
    }

    /// The values each fact takes.
    private func candidates(_ key: FactKey, _ space: Space) -> [Value] {
        let (ints, durations, instants, strings) = (space.reads.ints, space.reads.durations, space.reads.instants, space.reads.strings)
        func around(_ values: Set<Int64>, base: [Int64], minimum: Int64) -> [Int64] {
            var out = Set(base)
            for v in values { for d in Int64(-1)...1 { let (x, o) = v.addingReportingOverflow(d); if !o { out.insert(x) } } }
            return out.filter { $0 >= minimum }.sorted()
        }
        switch key {
        case .clusterSize, .clusterHealthy, .clusterFallbackHealthy, .lockHolders:
            return around(ints, base: [0, 1, 2, 3, 4, 5, 7, 10, 20], minimum: 0).map(Value.int)
        case .lockSlots:
            return around(ints, base: [1, 2, 3, 5, 10], minimum: 1).map(Value.int)
        case .exitCode:
            return around(ints, base: [0, 1, 2, 100, 255], minimum: -1).filter { $0 <= 255 }.map(Value.int)
        case .nodeUptime:
            return around(durations, base: [0, 1, 3_600_000, 86_400_000, 365 * 86_400_000], minimum: 0).map(Value.duration)
        case .now, .clusterLastReboot:
            let base: Int64 = 1_800_000_000_000
            var points: Set<Int64> = [0, base, base + 3_600_000]
            for d in durations { for e in Int64(-1)...1 { points.insert(base - d + e); points.insert(base + d + e) } }
            for i in instants { for e in Int64(-1)...1 { points.insert(i + e) } }
            return points.sorted().map { .instant(Instant(epochMilliseconds: $0)) }
        case .phase:
            return HealthPhase.allCases.map { .string($0.environmentValue) }
        case .nodeName, .stdout:
            return (strings.sorted() + ["", "\u{1}other"]).uniqued().map(Value.string)
        case .killSwitch, .lockHeld, .lockAvailable:
            return [.bool(false), .bool(true)]
        default:
            // Never asked: atoms reading other facts are free booleans (see `enumerated`).
            return []
        }
    }

    /// Calls `body` on every point until it returns `false`; returns whether every point was visited (and there
    /// were no more than ``limit``).
    private func forEachPoint(_ formulas: [Formula], _ body: (Point) -> Bool) -> Bool {
        let space = space(formulas)
        // A count bounded by another brings that one in, so the bound can vary with it.
        var read = space.reads.facts.filter { $0 != .nodeLabels }
        if read.contains(.clusterFallbackHealthy) { read.insert(.clusterHealthy) }
        if read.contains(.clusterHealthy) { read.insert(.clusterSize) }
        if read.contains(.lockHolders) { read.insert(.lockSlots) }
        let keys = read.sorted { $0.rawValue < $1.rawValue }
        let values = keys.map { candidates($0, space) }
        let labels = space.reads.labelKeys.sorted()
        let labelValues: [String?] = [nil] + (space.reads.strings.sorted() + ["", "\u{1}other"]).uniqued().map { Optional($0) }
        let opaqueCount = space.opaque.count
        var total = 1
        for v in values { total = total.multipliedReportingOverflow(by: max(1, v.count)).partialValue }
        for _ in labels { total = total.multipliedReportingOverflow(by: labelValues.count).partialValue }
        if opaqueCount >= 20 { return false }
        total = total.multipliedReportingOverflow(by: 1 << opaqueCount).partialValue
        guard total > 0, total <= SmallModel.limit else { return false }

        var point = Point(slots: PreparedPolicyDefaults.slots, opaque: Array(repeating: false, count: opaqueCount), opaqueSlots: space.opaque)
        var stop = false
        func valid(_ slots: FactSlots) -> Bool {
            func int(_ k: FactKey) -> Int64 { if case .int(let i) = slots[k] { i } else { 0 } }
            if int(.clusterHealthy) > int(.clusterSize) { return false }
            if int(.clusterFallbackHealthy) > int(.clusterHealthy) { return false }
            if int(.lockHolders) > int(.lockSlots) { return false }
            return true
        }
        func opaqueLevel(_ i: Int) {
            if stop { return }
            if i == opaqueCount {
                if !body(point) { stop = true }
                return
            }
            for b in [false, true] {
                point.opaque[i] = b
                opaqueLevel(i + 1)
                if stop { return }
            }
        }
        func labelLevel(_ i: Int) {
            if stop { return }
            if i == labels.count { opaqueLevel(0); return }
            for v in labelValues {
                point.slots.labels[labels[i]] = v
                labelLevel(i + 1)
                if stop { return }
            }
        }
        func factLevel(_ i: Int) {
            if stop { return }
            if i == keys.count {
                if valid(point.slots) { labelLevel(0) }
                return
            }
            for v in values[i] {
                point.slots[keys[i]] = v
                factLevel(i + 1)
                if stop { return }
            }
        }
        factLevel(0)
        return !stop
    }
}

/// The facts a point starts from: a consistent cluster of one, before the lock.
enum PreparedPolicyDefaults {
    static let slots: FactSlots = {
        var s = FactSlots.empty
        s[.now] = .instant(Instant(epochMilliseconds: 1_800_000_000_000))
        s[.phase] = .string(HealthPhase.preLock.environmentValue)
        s[.killSwitch] = .bool(false)
        s[.nodeName] = .string("")
        s[.nodeUptime] = .duration(0)
        s[.clusterSize] = .int(1)
        s[.clusterHealthy] = .int(1)
        s[.clusterFallbackHealthy] = .int(0)
        s[.clusterLastReboot] = .instant(Instant(epochMilliseconds: 0))
        s[.lockHeld] = .bool(false)
        s[.lockAvailable] = .bool(true)
        s[.lockSlots] = .int(1)
        s[.lockHolders] = .int(0)
        s[.exitCode] = .int(0)
        s[.stdout] = .string("")
        return s
    }()
}
