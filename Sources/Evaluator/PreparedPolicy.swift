import PolicyLang

/// A checked policy made ready for evaluation: expressions compiled, windows prepared. Deciding is a pure function
/// of the policy and the facts; it reads no clock, file or process. Immutable, so one instance serves any number of
/// threads.
public final class PreparedPolicy: Sendable {
    public let policy: CheckedPolicy
    public let calendar: WindowCalendar
    let appliesTo: Code?
    /// The facts `applies_to` reads, for the list of assumptions.
    let appliesToFacts: [FactKey]
    let rules: [Rule]
    let detectorConditions: [String: (reboot: Code, ok: Code?)]
    /// The compiled `ok when` of each measuring health check.
    let healthConditions: [String: Code]
    let zone: Zone
    let compiler: Compiler

    final class Rule: Sendable {
        let spec: RuleSpec
        let conditions: [(expr: Expr, code: Code)]
        /// The facts the rule reads, for the list of assumptions.
        let facts: [FactKey]

        init(spec: RuleSpec, conditions: [(expr: Expr, code: Code)], facts: [FactKey]) {
            self.spec = spec
            self.conditions = conditions
            self.facts = facts
        }
    }

    /// A detector or health check, with its name quoted once for reasons and traces.
    final class Gate: Sendable {
        let name: String
        /// `detector "apt"`, `health "cluster"`.
        let label: String
        let span: Span
        let phases: [HealthPhase]

        init(kind: String, name: String, span: Span, phases: [HealthPhase] = []) {
            self.name = name
            label = "\(kind) \(quoteString(name))"
            self.span = span
            self.phases = phases
        }
    }

    let detectors: [Gate]
    let healthChecks: [Gate]

    /// Compiles a checked policy.
    public init(_ policy: CheckedPolicy) {
        self.policy = policy
        let compiler = Compiler(tables: policy.tables, policyName: policy.name)
        self.compiler = compiler
        calendar = WindowCalendar(policy.windows)
        appliesTo = policy.appliesTo.map(compiler.compile)
        appliesToFacts = policy.appliesTo.map { factsRead(by: $0, policy.tables) } ?? []
        rules = policy.rules.map { spec in
            Rule(
                spec: spec, conditions: spec.conditions.map { ($0, compiler.compileCondition($0)) },
                facts: spec.conditions.flatMap { factsRead(by: $0, policy.tables) }.uniqued())
        }
        var conditions: [String: (reboot: Code, ok: Code?)] = [:]
        for detector in policy.detectors {
            if case .command(_, let rebootWhen, let okWhen) = detector.source {
                conditions[detector.name] = (compiler.compileCondition(rebootWhen), okWhen.map(compiler.compileCondition))
            }
        }
        detectorConditions = conditions
        var health: [String: Code] = [:]
        for check in policy.health { if let condition = check.probe?.condition { health[check.name] = compiler.compileCondition(condition) } }
        healthConditions = health
        detectors = policy.detectors.map { Gate(kind: "detector", name: $0.name, span: $0.span) }
        healthChecks = policy.health.map { Gate(kind: $0.kindName, name: $0.name, span: $0.span, phases: $0.phases) }
        zone = Zone(identifier: policy.timeZone) ?? .utc
    }

    /// The slots of a lock when the facts do not say: one for a local lock, the policy's `slots` for etcd.
    public var lockSlots: Int64 {
        if case .etcd(let spec) = policy.lock { return Int64(spec.slots) }
        return 1
    }

    /// Whether the policy governs the node these facts describe (`true` without `applies_to`; `false` when the
    /// condition cannot be evaluated).
    public func applies(to facts: Facts) -> Bool {
        guard let appliesTo else { return true }
        return (try? Interpreter.bool(appliesTo, slots(facts, phase: facts.phase ?? .preLock), nil)) ?? false
    }

    /// What a command detector's exit code and output mean: fired when `reboot_when` holds, clear when `ok_when`
    /// holds (default: exit 0), otherwise an error. `nil` for a detector that is not a command.
    public func commandDetectorState(_ name: String, exitCode: Int32, stdout: String) -> DetectorState? {
        guard let conditions = detectorConditions[name] else { return nil }
        var facts = FactSlots.empty
        facts[.exitCode] = .int(Int64(exitCode))
        facts[.stdout] = .string(stdout)
        do {
            if try Interpreter.bool(conditions.reboot, facts, nil) { return .fired }
            if let ok = conditions.ok {
                if try Interpreter.bool(ok, facts, nil) { return .clear }
            } else if exitCode == 0 {
                return .clear
            }
            return .error("unexpected exit \(exitCode)")
        } catch {
            return .error(error.message)
        }
    }

    /// Fills the fact slots, taking defaults for what is missing.
    func slots(_ facts: Facts, phase: HealthPhase) -> FactSlots {
        let held = facts.lock.held ?? (phase != .preLock)
        // In `FactKey.slot` order, built at once: one allocation, no copy of a shared empty set.
        var s = FactSlots([
            .instant(facts.now ?? FactDefaults.now), .string(phase.environmentValue), .bool(facts.killSwitch ?? FactDefaults.killSwitch),
            .string(facts.nodeName ?? FactDefaults.nodeName), .bool(false), .duration(facts.nodeUptime ?? FactDefaults.nodeUptime),
            .int(facts.cluster.size ?? FactDefaults.clusterSize), .int(facts.cluster.healthy ?? FactDefaults.clusterHealthy),
            .int(facts.cluster.fallbackHealthy ?? FactDefaults.clusterFallbackHealthy), .instant(facts.cluster.lastReboot ?? FactDefaults.lastReboot),
            .bool(held), .bool(facts.lock.available ?? true), .int(facts.lock.slots ?? lockSlots), .int(facts.lock.count ?? (held ? 1 : 0)),
            .int(0), .string(""),
            // A health check's measured values and a quantifier's sample: set while that check's `ok when` runs.
            .bool(false), .bool(false), .bool(false), .bool(false), .bool(false), .bool(false), .bool(false),
        ])
        s.labels = facts.nodeLabels ?? [:]
        return s
    }

    /// The value of a sub-expression for the search of what would change a decision (``wouldChange(_:phase:)``),
    /// or `nil` when it cannot be evaluated (a regex literal, an overflow).
    func value(of expr: Expr, _ slots: FactSlots) -> Value? {
        if case .regex = expr.kind { return nil }
        return try? Interpreter.evaluate(compiler.compile(expr), slots, recorder: nil)
    }

    /// The assumed value of a fact, as the explain output shows it.
    func assumedValue(_ key: FactKey, _ slots: FactSlots) -> Assumption {
        let value: String
        switch key {
        case .now: value = slots[key].description + " (not given)"
        case .clusterLastReboot: value = "never"
        default: value = slots[key].description
        }
        return Assumption(fact: key.rawValue, value: value)
    }
}

/// The facts an expression reads, in order of first appearance.
func factsRead(by expr: Expr, _ tables: ExpressionTables) -> [FactKey] {
    var keys: [FactKey] = []
    func walk(_ e: Expr) {
        if let key = tables.facts[e.id] {
            if !keys.contains(key) { keys.append(key) }
            return
        }
        if case .string(let literal) = e.kind {
            for case .interpolation(let path, _) in literal.parts {
                if let key = FactKey(rawValue: path.joined(separator: ".")), !keys.contains(key) { keys.append(key) }
            }
        }
        e.kind.children.forEach(walk)
    }
    walk(expr)
    return keys
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
