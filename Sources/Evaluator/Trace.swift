import PolicyLang

/// What a traced decision recorded, in order: one event per step, gate, window, rule and condition it looked at,
/// and the values the interpreter computed on the way (both sides of each comparison, the result of each `and`/`or`
/// operand that ran). A clause is an index into the policy, never text: the trace lines' prose is written from the
/// events when they are rendered (TraceText.swift), and writing it evaluates nothing again.
public enum TraceEvent: Sendable {
    /// A step's line: its result and what it says.
    case step(Step, TraceResult, StepNote)
    /// The steps after this one were not reached (the policy's rules with the rules step).
    case notReached(after: Step)
    /// After the boot: the steps before the health gate, not decided.
    case notDecidedAfterBoot
    /// `applies_to`, and whether it holds.
    case appliesTo(holds: Bool)
    /// A detector (its index among the policy's detectors) and its line's result.
    case detector(Int, TraceResult)
    /// A window (its index in the calendar), whether it is open, and its line's result.
    case window(Int, open: Bool, TraceResult)
    /// `cluster { cooldown … }`, and whether it still holds the reboot back.
    case cooldown(waiting: Bool)
    /// A rule (its index among the policy's rules), and whether it denies.
    case rule(Int, denies: Bool)
    /// The rules from this index on were not reached.
    case rulesNotReached(from: Int)
    /// A rule's condition (the rule's index, the condition's) and whether it holds.
    case condition(rule: Int, Int, holds: Bool)
    /// A rule's condition that could not be evaluated (it denies).
    indirect case conditionFailed(rule: Int, Int, EvaluationError)
    /// A health check (its index among the policy's checks), whether it passed, and what its `ok when` or
    /// `block_on` made of a measurement.
    indirect case health(Int, ok: Bool, HealthJudgement?)
    /// A comparison the interpreter made (the expression's id) with the values of both sides; `right` is `nil` when
    /// the comparison failed after its left side was read.
    case compared(id: Int, left: Value, right: Value?)
    /// A `matches` (the expression's id) with the value it matched.
    case matched(id: Int, Value)
    /// An `and`/`or` operand that ran (the operand's id) and its result.
    case operand(id: Int, Bool)
}

/// What a step's line says, from the values the decision computed.
public enum StepNote: Sendable {
    case none
    /// detect: the detectors that fired; one that failed (its index); none; no detector fired.
    case fired, detectorFailed(Int), noDetectors, noneFired
    /// kill switch: not active; active.
    case inactive, active
    /// windows: none; open now; closed until `next` (`denied`: a deny window is open, rather than no allow window).
    case noWindows, open, closed(next: Int64?, denied: Bool)
    /// rules: the cooldown has not passed; it has; no rules; the rule (its index) that denied; none denies.
    case coolingDown, cooldownPassed, noRules, deniedBy(Int), noRuleDenies
    /// health: no check in this phase; every check (this many) passed; the check (its index) that failed.
    case noHealthCheck, passed(count: Int), failed(Int)
    /// lock: under the lock, whether this node holds a slot; it already holds one; one is free; all are held; after
    /// the boot, the slot stays held; it is released.
    case holdsSlot(Bool), alreadyHeld, slotFree, slotsFull, staysHeld, release
}

/// A decision's trace: its events and what they were recorded against (the policy, the facts). Empty unless the
/// decision was traced.
public struct Trace: Sendable {
    final class Record: Sendable {
        let events: [TraceEvent]
        let policy: PreparedPolicy
        let facts: Facts
        let slots: FactSlots
        let phase: HealthPhase

        init(events: [TraceEvent], policy: PreparedPolicy, facts: Facts, slots: FactSlots, phase: HealthPhase) {
            self.events = events
            self.policy = policy
            self.facts = facts
            self.slots = slots
            self.phase = phase
        }
    }

    let record: Record?

    /// An empty trace.
    public init() { record = nil }

    init(_ record: Record) { self.record = record }

    /// The events, in the order they were recorded.
    public var events: [TraceEvent] { record?.events ?? [] }

    public var isEmpty: Bool { record?.events.isEmpty ?? true }

    /// The policy's source, which the lines' locations point into.
    public var file: SourceFile? { record?.policy.policy.file }

    /// The lines of the trace as `rc explain` shows them, written from the events.
    public var lines: [TraceLine] {
        guard let record else { return [] }
        return TraceText(record).lines()
    }

    /// The rules, windows and conditions the decision saw, each with the truth it had, for coverage.
    func covered(_ visit: (CoverageKey, Bool) -> Void) {
        guard let record else { return }
        let policy = record.policy
        let operands = ValueIndex(record.events).operands
        for event in record.events {
            switch event {
            case .window(let i, let open, _):
                visit(CoverageKey(kind: .window, span: policy.calendar.windows[i].spec.span), open)
            case .rule(let i, let denies):
                visit(CoverageKey(kind: .rule, span: policy.rules[i].spec.span), denies)
            case .condition(let r, let c, let holds):
                let (expr, code) = policy.rules[r].conditions[c]
                visit(CoverageKey(kind: .condition, span: expr.span), holds)
                if case .and(let list) = code { visitOperands(list, expr) } else if case .or(let list) = code { visitOperands(list, expr) }
            case .conditionFailed(let r, let c, _):
                visit(CoverageKey(kind: .condition, span: policy.rules[r].conditions[c].expr.span), true)
            default:
                continue
            }
        }
        func visitOperands(_ list: [Code.Operand], _ expr: Expr) {
            for (operand, e) in zip(list, operandExprs(expr)) {
                if let truth = operands[operand.id] { visit(CoverageKey(kind: .condition, span: e.span), truth) }
            }
        }
    }
}

/// One line of a rendered trace.
public struct TraceLine: Sendable {
    /// Nesting: 0 for a step, 1 for a window/rule/detector/check, 2+ for conditions inside.
    public var depth: Int
    public var step: Step
    /// What was evaluated: `rule "keep quorum"`, a condition's source text, `detector "apt"`.
    public var clause: String
    public var result: TraceResult
    /// The value that decided, readable: `cluster.healthy = 3, 3 < 3 is false`.
    public var value: String?
    /// Where the clause is written.
    public var span: Span?
    /// Whether the line rests on an assumed fact.
    public var assumed: Bool
}

/// Where the interpreter and the decision record events while a decision is traced; `nil` when it is not, so the
/// untraced path checks one optional and records nothing.
final class TraceRecorder {
    var events: [TraceEvent] = []

    init() { events.reserveCapacity(32) }

    @inline(__always)
    func record(_ event: TraceEvent) { events.append(event) }

    /// Where the next event goes: a step's line is put there once its parts are recorded (it is shown first).
    var mark: Int { events.count }

    func insert(_ event: TraceEvent, at mark: Int) { events.insert(event, at: mark) }

    /// Whether an `and`/`or` operand ran.
    func ran(_ id: Int) -> Bool {
        events.contains { if case .operand(id, _) = $0 { true } else { false } }
    }
}

/// The values the interpreter recorded, by expression id.
struct ValueIndex {
    /// Both sides of each comparison (`matches`: the value matched, with no right side).
    var sides: [Int: (left: Value, right: Value?)] = [:]
    /// The result of each `and`/`or` operand that ran.
    var operands: [Int: Bool] = [:]

    init(_ events: [TraceEvent]) {
        for event in events {
            switch event {
            case .compared(let id, let left, let right): sides[id] = (left, right)
            case .matched(let id, let value): sides[id] = (value, nil)
            case .operand(let id, let b): operands[id] = b
            default: continue
            }
        }
    }
}
