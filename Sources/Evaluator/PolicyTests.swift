import PolicyLang

/// The result of one `test` block.
public struct PolicyTestResult: Sendable {
    public var name: String
    public var span: Span
    public var expected: ExpectedOutcome
    /// The decision made from the test's `given`, traced.
    public var decision: Decision
    /// Why the test failed; `nil` when it passed.
    public var failure: String?

    public var passed: Bool { failure == nil }
}

/// Runs the `test` blocks of a policy and measures which clauses they exercised.
public enum PolicyTestRunner {
    /// Runs every test of the policy.
    public static func run(_ policy: PreparedPolicy) -> [PolicyTestResult] {
        policy.policy.tests.map { run($0, policy) }
    }

    static func run(_ test: TestSpec, _ policy: PreparedPolicy) -> PolicyTestResult {
        let facts = Facts(given: test.given)
        let decision = policy.decide(facts, trace: true)
        var failure: String?
        if facts.now == nil, decision.assumed.contains(where: { $0.fact == "now" }) {
            // A test that depends on the time must say which time, or it would pass or fail by the calendar.
            failure = "the decision depends on the time, but the test gives no `now`; add e.g. `now 2026-11-24T23:00:00+01:00` to `given`"
        } else if facts.nodeName != nil || facts.nodeLabels != nil, decision.applies == false {
            // On a live node such a policy is refused; a test of it must be about a node it governs.
            failure = "the policy does not apply to the node this test gives (its applies_to is false), so no node would decide this way; give a node.name (and labels) the policy governs"
        } else if !matches(test.expected, decision) {
            failure = "expected \(describe(test.expected)), got \(ExplainRenderer.headline(decision))"
        }
        return PolicyTestResult(name: test.name, span: test.span, expected: test.expected, decision: decision, failure: failure)
    }

    static func matches(_ expected: ExpectedOutcome, _ d: Decision) -> Bool {
        switch expected {
        case .reboot: d.outcome == .reboot
        case .noReboot: d.outcome == .noRebootNeeded
        case .blocked(let reason, let name): d.outcome == .blocked && d.blockedBy == reason && (name == nil || name == d.name)
        }
    }

    /// `blocked by rule "keep quorum"`.
    public static func describe(_ expected: ExpectedOutcome) -> String {
        switch expected {
        case .reboot: "reboot"
        case .noReboot: "no reboot needed"
        case .blocked(let reason, let name): "blocked by \(reason.rawValue)" + (name.map { " " + quoteString($0) } ?? "")
        }
    }
}

/// Branch coverage of a policy's rules, windows and conditions by its tests: each should be seen both true and
/// false.
public struct PolicyCoverage: Sendable {
    /// One coverable clause.
    public struct Item: Sendable {
        public var kind: CoverageKey.Kind
        /// `rule "keep quorum"`, `window deny "backups"`, or a condition's source text.
        public var clause: String
        public var span: Span
        public var seenTrue: Bool
        public var seenFalse: Bool

        public var reached: Bool { seenTrue || seenFalse }
        public var covered: Bool { seenTrue && seenFalse }
    }

    public var items: [Item]

    /// Branches seen (each item has two) and branches in all.
    public var branches: (covered: Int, total: Int) {
        (items.reduce(0) { $0 + ($1.seenTrue ? 1 : 0) + ($1.seenFalse ? 1 : 0) }, items.count * 2)
    }

    /// Covered branches in percent (100 for a policy with nothing to cover).
    public var percent: Double {
        let (covered, total) = branches
        return total == 0 ? 100 : Double(covered) * 100 / Double(total)
    }

    /// Collects coverage from the traced decisions of a policy's tests.
    public init(policy: PreparedPolicy, results: [PolicyTestResult]) {
        var seen: [CoverageKey: (Bool, Bool)] = [:]
        for result in results {
            result.decision.trace.covered { key, truth in
                let old = seen[key] ?? (false, false)
                seen[key] = (old.0 || truth, old.1 || !truth)
            }
        }
        let file = policy.policy.file
        var items: [Item] = []
        func add(_ kind: CoverageKey.Kind, _ clause: String, _ span: Span) {
            let s = seen[CoverageKey(kind: kind, span: span)] ?? (false, false)
            items.append(Item(kind: kind, clause: clause, span: span, seenTrue: s.0, seenFalse: s.1))
        }
        for window in policy.policy.windows {
            add(.window, "window \(window.effect.rawValue) \(quoteString(window.name))", window.span)
        }
        for rule in policy.policy.rules {
            add(.rule, "rule \(quoteString(rule.name))", rule.span)
            for condition in rule.conditions {
                add(.condition, file.text(condition.span), condition.span)
                let operands = operandExprs(condition)
                if operands.count > 1 {
                    for operand in operands { add(.condition, file.text(operand.span), operand.span) }
                }
            }
        }
        self.items = items
    }
}
