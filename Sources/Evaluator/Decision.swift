import PolicyLang

/// The answer to "may this node reboot now?", with its reasons. A decision always carries its reasons; the trace
/// is filled only when tracing was asked for.
public struct Decision: Sendable {
    public var outcome: Outcome
    /// What blocked the reboot, when `outcome` is `.blocked`.
    public var blockedBy: BlockReason?
    /// The window, rule, health check or detector that blocked.
    public var name: String?
    /// When a window blocks: the first instant the windows let the node through (within 400 days).
    public var nextEligible: Instant?
    /// Why, in a sentence each, most important first; written when read (``LazyText``).
    public var reasons: [String] {
        get { reasonTexts.map(\.text) }
        set { reasonTexts = newValue.map(LazyText.init) }
    }
    /// The reasons as recorded.
    public var reasonTexts: [LazyText]
    /// How many reasons there are, without writing them.
    public var reasonCount: Int { reasonTexts.count }
    /// The facts that were not given and what was assumed for them.
    public var assumed: [Assumption]
    /// The phase decided.
    public var phase: HealthPhase
    /// Whether the policy's `applies_to` holds for these facts (`nil`: the policy applies to every node).
    public var applies: Bool?
    /// What the decision recorded, step by step, when traced (empty otherwise).
    public var trace: Trace

    /// Creates a decision.
    public init(
        outcome: Outcome, blockedBy: BlockReason?, name: String?, nextEligible: Instant?, reasons: [String], assumed: [Assumption],
        phase: HealthPhase, applies: Bool?, trace: Trace = Trace()
    ) {
        self.outcome = outcome
        self.blockedBy = blockedBy
        self.name = name
        self.nextEligible = nextEligible
        self.reasonTexts = reasons.map(LazyText.init)
        self.assumed = assumed
        self.phase = phase
        self.applies = applies
        self.trace = trace
    }

    /// The exit status of DESIGN.md for this decision.
    public var exitCode: Int32 { ExitStatus.of(outcome, blockedBy: blockedBy) }
}

/// A fact that was not given, and the value used for it.
public struct Assumption: Sendable, Hashable {
    /// The fact, e.g. `cluster.healthy` or `detector "apt"`.
    public var fact: String
    /// The value assumed, as a policy would write it.
    public var value: String

    /// Creates an assumption.
    public init(fact: String, value: String) {
        self.fact = fact
        self.value = value
    }
}

/// The steps of a decision, in order.
public enum Step: String, Sendable, CaseIterable {
    case appliesTo = "applies_to"
    case detect
    case killSwitch = "kill_switch"
    case window
    case rule
    case health
    case lock
}

/// What one trace line says about the reboot.
public enum TraceResult: String, Sendable {
    /// Lets the reboot go on (a step passed, a detector fired, a deny condition is false).
    case pass
    /// Holds it back (a step blocked, a deny condition holds, a health check failed).
    case block
    /// Not evaluated: an earlier step already decided.
    case notReached = "not_reached"
    /// Evaluated, with no effect either way (a detector that is clear while another fired).
    case neutral
}

/// A clause that tests can cover: a rule, a window, or a condition (a `deny when` line or an operand of
/// `and`/`or` in one).
public struct CoverageKey: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case rule, window, condition
    }

    public var kind: Kind
    /// Where the clause is written, start and end: `a and b` starts where its operand `a` does, so a start
    /// offset alone would merge the two.
    public var span: Span
}
