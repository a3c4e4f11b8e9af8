import PolicyLang

/// The prose of a trace, written from its events: each line's clause from the policy, its value from what the
/// decision recorded (the values compared, the operands that ran) and from the facts it was given. Nothing here
/// evaluates an expression.
struct TraceText {
    let policy: PreparedPolicy
    let facts: Facts
    let slots: FactSlots
    let phase: HealthPhase
    let events: [TraceEvent]
    let values: RecordedValues

    init(_ record: Trace.Record) {
        policy = record.policy
        facts = record.facts
        slots = record.slots
        phase = record.phase
        events = record.events
        values = RecordedValues(policy: record.policy, events: record.events)
    }

    var file: SourceFile { policy.policy.file }
    var now: Int64 { facts.now?.epochMilliseconds ?? FactDefaults.now.epochMilliseconds }

    func lines() -> [TraceLine] {
        var out: [TraceLine] = []
        out.reserveCapacity(events.count + 8)
        for event in events { add(event, to: &out) }
        return out
    }

    private func line(
        _ depth: Int, _ step: Step, _ clause: String, _ result: TraceResult, _ value: String? = nil, span: Span? = nil, assumed: Bool = false
    ) -> TraceLine {
        TraceLine(depth: depth, step: step, clause: clause, result: result, value: value, span: span, assumed: assumed)
    }

    private func add(_ event: TraceEvent, to out: inout [TraceLine]) {
        switch event {
        case .step(let step, let result, let note):
            let (value, assumed) = text(of: note)
            out.append(line(0, step, title(step), result, value, assumed: assumed))
        case .notReached(let step):
            let steps: [Step] = [.detect, .killSwitch, .window, .rule, .health, .lock]
            for later in steps.drop(while: { $0 != step }).dropFirst() {
                out.append(line(0, later, title(later), .notReached))
                if later == .rule { rulesNotReached(from: 0, to: &out) }
            }
        case .notDecidedAfterBoot:
            for step in [Step.detect, .killSwitch, .window, .rule] {
                out.append(line(0, step, title(step), .notReached, "not decided after the boot"))
            }
        case .appliesTo(let holds):
            guard let expr = policy.policy.appliesTo else { return }
            out.append(
                line(
                    0, .appliesTo, "applies_to " + file.text(expr.span), holds ? .pass : .block, describe(expr, value: .bool(holds)), span: expr.span,
                    assumed: policy.appliesToFacts.contains { !facts.isGiven($0) }))
        case .detector(let i, let result):
            let detector = policy.detectors[i]
            let observation = facts.detectors[detector.name]
            let value: String
            switch observation?.state ?? .clear {
            case .fired: value = "fired" + outputSuffix(observation?.output)
            case .clear: value = "clear"
            case .error(let message): value = "error: \(message)"
            }
            out.append(line(1, .detect, detector.label, result, value, span: detector.span, assumed: observation == nil))
        case .window(let i, let open, let result):
            let window = policy.calendar.windows[i]
            out.append(
                line(
                    1, .window, "window \(window.spec.effect.rawValue) \(quoteString(window.spec.name)) \(window.spec.text)", result,
                    (open ? "open" : "closed") + " at " + window.zone.format(now, withDate: false), span: window.spec.span, assumed: facts.now == nil))
        case .cooldown(let waiting):
            let cooldown = policy.policy.cluster.cooldown
            let since = facts.cluster.lastReboot.map { "\(formatDuration(milliseconds: max(0, elapsedSinceLastReboot))) since the last reboot (\(policy.zone.format($0.epochMilliseconds)))" }
            let value = (since ?? "no reboot on record") + ", cooldown \(formatDuration(milliseconds: cooldown))"
            out.append(line(1, .rule, "cluster { cooldown \(formatDuration(milliseconds: cooldown)) }", waiting ? .block : .pass, value, assumed: facts.cluster.lastReboot == nil))
        case .rule(let i, let denies):
            let rule = policy.rules[i]
            out.append(
                line(
                    1, .rule, "rule \(quoteString(rule.spec.name))", denies ? .block : .pass, denies ? "denies" : "allows", span: rule.spec.span,
                    assumed: rule.facts.contains { !facts.isGiven($0) }))
        case .rulesNotReached(let from):
            rulesNotReached(from: from, to: &out)
        case .condition(let r, let c, let holds):
            let (expr, code) = policy.rules[r].conditions[c]
            out.append(
                line(
                    2, .rule, file.text(expr.span), holds ? .block : .pass, describe(expr, value: .bool(holds)), span: expr.span,
                    assumed: factsRead(by: expr, policy.policy.tables).contains { !facts.isGiven($0) }))
            // Each operand of `and`/`or`: the value it had, or that it was not reached.
            let operands: [Code.Operand]
            switch code {
            case .and(let list), .or(let list): operands = list
            default: operands = []
            }
            for (operand, e) in zip(operands, operandExprs(expr)) {
                if let truth = values.operands[operand.id] {
                    out.append(line(3, .rule, file.text(e.span), .neutral, describe(e, value: .bool(truth)), span: e.span))
                } else {
                    out.append(line(3, .rule, file.text(e.span), .notReached, span: e.span))
                }
            }
        case .conditionFailed(let r, let c, let error):
            let expr = policy.rules[r].conditions[c].expr
            out.append(line(2, .rule, file.text(expr.span), .block, "error: \(error.message)", span: expr.span))
        case .health(let i, let ok, let judged):
            let check = policy.healthChecks[i]
            let observation = facts.health[check.name]
            let text = judged.map { ($0.ok ? "ok: " : "failed: ") + $0.text } ?? healthText(observation ?? HealthObservation(ok: true))
            out.append(line(1, .health, check.label, ok ? .pass : .block, text, span: judged?.condition?.span ?? check.span, assumed: observation == nil))
        case .compared, .matched, .operand:
            return
        }
    }

    private func rulesNotReached(from index: Int, to out: inout [TraceLine]) {
        for rule in policy.rules[index...] {
            out.append(line(1, .rule, "rule \(quoteString(rule.spec.name))", .notReached, span: rule.spec.span))
        }
    }

    func title(_ step: Step) -> String {
        switch step {
        case .appliesTo: "applies_to"
        case .detect: phase == .postLock ? "detect again under the lock" : "detect"
        case .killSwitch: "kill switch"
        case .window: "windows"
        case .rule: "rules"
        case .health: "health (\(phase.environmentValue))"
        case .lock: "lock"
        }
    }

    private var elapsedSinceLastReboot: Int64 { now - (facts.cluster.lastReboot ?? FactDefaults.lastReboot).epochMilliseconds }

    /// A step's value, and whether it rests on an assumed fact.
    private func text(of note: StepNote) -> (String?, Bool) {
        switch note {
        case .none: return (nil, false)
        case .fired:
            let fired = policy.detectors.filter { d in
                if case .fired? = facts.detectors[d.name]?.state { true } else { false }
            }
            return ("reboot needed: " + fired.map { $0.label + " fired" }.joined(separator: ", "), false)
        case .detectorFailed(let i):
            let name = policy.detectors[i].name
            guard case .error(let message)? = facts.detectors[name]?.state else { return (nil, false) }
            return ("detector \(quoteString(name)) failed: \(message)", false)
        case .noDetectors: return ("the policy has no detectors", false)
        case .noneFired: return ("no detector fired", false)
        case .inactive: return ("not active", facts.killSwitch == nil)
        case .active:
            let places = policy.killSwitchPlaces(facts)
            return ("active" + (places.isEmpty ? "" : " (\(places))"), facts.killSwitch == nil)
        case .noWindows: return ("the policy has no windows", false)
        case .open: return ("open at " + policy.zone.format(now), false)
        case .closed(let next, let denied):
            let until = next.map { "until " + policy.zone.format($0) } ?? "for at least \(WindowCalendar.horizonDays) days"
            return ((denied ? "closed " : "no allow window open; closed ") + until, false)
        case .coolingDown: return ("the cluster cooled down for only \(formatDuration(milliseconds: max(0, elapsedSinceLastReboot)))", false)
        case .cooldownPassed: return ("the cooldown has passed", false)
        case .noRules: return ("the policy has no rules", false)
        case .deniedBy(let i): return ("denied by rule \(quoteString(policy.rules[i].spec.name))", false)
        case .noRuleDenies: return ("no rule denies", false)
        case .noHealthCheck: return ("no health check runs \(phase.environmentValue)", false)
        case .passed(let count): return (count == 1 ? "the check passed" : "all \(count) checks passed", false)
        case .failed(let i): return ("health \(quoteString(policy.healthChecks[i].name)) failed", false)
        case .holdsSlot(let held): return (held ? "this node holds a slot" : "this node does not hold a slot", facts.lock.held == nil)
        case .alreadyHeld: return ("this node already holds a slot", false)
        case .slotFree:
            return ("a slot is free (\(slots[.lockHolders].intValue) of \(slots[.lockSlots].intValue) held)", facts.lock.available == nil)
        case .slotsFull: return (policy.slotsFullText(facts, slots), false)
        case .staysHeld: return ("the slot stays held until the post-boot health gate passes", false)
        case .release: return ("release the slot", false)
        }
    }

    /// The values behind a condition: `2 < 3 is true, with cluster.healthy = 2, cluster.size = 5`.
    func describe(_ expr: Expr, value: Value) -> String {
        values.describe(expr, value: value, slots)
    }
}

/// The values an evaluation recorded, with the policy they belong to, and the sentences made of them.
struct RecordedValues: Sendable {
    let policy: PreparedPolicy
    /// Both sides of each comparison (`matches`: the value matched), by expression id.
    let sides: [Int: (left: Value, right: Value?)]
    /// The result of each `and`/`or` operand that ran, by the operand's id.
    let operands: [Int: Bool]

    init(policy: PreparedPolicy, events: [TraceEvent]) {
        self.policy = policy
        let index = ValueIndex(events)
        sides = index.sides
        operands = index.operands
    }

    var file: SourceFile { policy.policy.file }

    /// `2 < 3 is true, with cluster.healthy = 2, cluster.size = 5`: a comparison's values and the facts it read.
    func describe(_ expr: Expr, value: Value, _ slots: FactSlots) -> String {
        var text = "is \(value)"
        if case .binary(let op, _, let r) = expr.kind, op.isComparison || op == .matches, let sides = sides[expr.id] {
            let b = op == .matches ? file.text(r.span) : (sides.right?.description ?? file.text(r.span))
            text = "\(sides.left.description) \(op.rawValue) \(b) is \(value)"
        }
        let facts = factsRead(by: expr, policy.policy.tables).map { "\($0.rawValue) = \(slots[$0])" }
        return facts.isEmpty ? text : text + ", with " + facts.joined(separator: ", ")
    }

    /// `0.034 < 0.01 is false`; for `and`/`or`, the operand that decided, or every operand's values when all ran
    /// without deciding.
    func measured(_ expr: Expr, _ truth: Bool) -> String {
        if case .binary(let op, _, _) = expr.kind, op == .and || op == .or {
            let exprs = operandExprs(expr)
            // The first operand that gives the whole its value decides it.
            for operand in exprs {
                guard let b = operands[operand.id] else { continue }
                if b == (op == .or) { return measured(operand, b) }
            }
            return exprs.map { measured($0, truth) }.joined(separator: ", ")
        }
        if case .binary(let op, _, let r) = expr.kind, op.isComparison, let sides = sides[expr.id] {
            return "\(shorten(sides.left)) \(op.rawValue) \(sides.right.map(shorten) ?? file.text(r.span)) is \(truth)"
        }
        return "\(file.text(expr.span)) is \(truth)"
    }

    /// `needs value < 0.01, was 0.034`: each operand of an `and` that failed, with the value it read
    /// (`needs status == 200, was 503; and json.lag < 5, was 7.5`): changing one of them alone would not do.
    func needs(_ expr: Expr) -> String? {
        let parts = unmet(expr)
        return parts.isEmpty ? nil : "needs " + parts.joined(separator: "; and ")
    }

    private func unmet(_ expr: Expr) -> [String] {
        switch expr.kind {
        case .binary(.and, _, _):
            return operandExprs(expr).filter { operands[$0.id] != true }.flatMap(unmet)
        case .binary(let op, _, _) where op.isComparison:
            let was = sides[expr.id].map { shorten($0.left) } ?? "not measurable"
            return ["\(file.text(expr.span)), was \(was)"]
        default:
            return [file.text(expr.span)]
        }
    }

    private func shorten(_ value: Value) -> String {
        let text = value.description
        return text.count > 80 ? String(text.prefix(77)) + "…" : text
    }
}

/// What a measuring health check's condition recorded when it was judged, and the sentences written from it.
struct MeasuredText: Sendable {
    let condition: Expr
    let values: RecordedValues

    init(policy: PreparedPolicy, condition: Expr, events: [TraceEvent]) {
        self.condition = condition
        values = RecordedValues(policy: policy, events: events)
    }

    func text(_ ok: Bool) -> String { values.measured(condition, ok) }
    func needs() -> String? { values.needs(condition) }
}

extension PreparedPolicy {
    /// Which kill switches are active: those the facts name (`file /etc/rc/disable`), or, when the facts do not say
    /// which, the ones it may be (`one of file /etc/rc/disable, etcd key /rc/kill_switch`).
    func killSwitchPlaces(_ facts: Facts) -> String {
        if let active = facts.activeKillSwitches, !active.isEmpty { return active.joined(separator: ", ") }
        let configured = policy.killSwitches.map(policy.text(of:))
        return (configured.count > 1 ? "one of " : "") + configured.joined(separator: ", ")
    }

    /// `all 1 slot held by web-2 (pid 4121, since …); in line: web-7, web-3 (this node is 2nd)`.
    func slotsFullText(_ facts: Facts, _ slots: FactSlots) -> String {
        let slotCount = slots[.lockSlots].intValue
        let who = (facts.lock.holders ?? []).map { h in
            var text = h.node
            var details: [String] = []
            if let pid = h.pid { details.append("pid \(pid)") }
            if let since = h.since { details.append("since \(zone.format(since.epochMilliseconds))") }
            if !details.isEmpty { text += " (" + details.joined(separator: ", ") + ")" }
            return text
        }
        var value = "all \(slotCount) slot\(slotCount == 1 ? "" : "s") held" + (who.isEmpty ? "" : " by " + who.joined(separator: ", "))
        if let line = facts.lock.waiting, !line.isEmpty {
            value += "; in line: " + line.joined(separator: ", ")
            if let all = facts.lock.waitingCount, all > line.count { value += " and \(all - Int64(line.count)) more" }
            if let name = facts.nodeName, let place = line.firstIndex(of: name) { value += " (this node is \(ordinal(place + 1)))" }
        }
        return value
    }
}

/// `failed, exit 1, after 2s500ms: quorum at risk`: a check's result as the executor reported it.
func healthText(_ h: HealthObservation) -> String {
    var parts: [String] = [h.ok ? "ok" : "failed"]
    if let exit = h.exitCode, !(h.ok && exit == 0) { parts.append("exit \(exit)") }
    if let d = h.duration { parts.append("after \(formatDuration(milliseconds: d))") }
    var text = parts.joined(separator: ", ")
    if let output = h.output, !output.isEmpty { text += ": " + firstLine(output) }
    return text
}

/// `: <first line>` of a detector's output, or nothing.
func outputSuffix(_ output: String?) -> String {
    guard let output, !output.isEmpty else { return "" }
    return ": " + firstLine(output)
}
