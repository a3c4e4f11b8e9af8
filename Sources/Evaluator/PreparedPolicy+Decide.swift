import PolicyLang

/// The decision steps of DESIGN.md, one pass for one phase.
extension PreparedPolicy {
    /// Decides for one phase. `phase` overrides the facts' phase; `trace` fills `Decision.trace`.
    public func decide(_ facts: Facts, phase override: HealthPhase? = nil, trace tracing: Bool = false) -> Decision {
        let phase = override ?? facts.phase ?? .preLock
        var run = Run(policy: self, facts: facts, slots: slots(facts, phase: phase), phase: phase, tracing: tracing)
        if override == nil, facts.phase == nil, tracing { run.assume(Assumption(fact: "phase", value: "\"pre-lock\"")) }
        run.appliesTo()
        if phase == .postBoot {
            run.afterBoot()
        } else {
            run.beforeReboot()
        }
        run.decision.trace = run.sink?.entries ?? []
        return run.decision
    }
}

/// The state of one decision while it is being made. Trace lines are built only behind `tracing`.
struct Run {
    let policy: PreparedPolicy
    let facts: Facts
    let slots: FactSlots
    let phase: HealthPhase
    let tracing: Bool
    var decision: Decision

    init(policy: PreparedPolicy, facts: Facts, slots: FactSlots, phase: HealthPhase, tracing: Bool) {
        self.policy = policy
        self.facts = facts
        self.slots = slots
        self.phase = phase
        self.tracing = tracing
        sink = tracing ? Sink() : nil
        decision = Decision(
            outcome: .reboot, blockedBy: nil, name: nil, nextEligible: nil, reasons: [], assumed: [], phase: phase,
            applies: nil, trace: [])
    }

    var file: SourceFile { policy.policy.file }
    var now: Int64 { facts.now?.epochMilliseconds ?? FactDefaults.now.epochMilliseconds }

    /// Where trace lines go, when tracing.
    final class Sink {
        var entries: [TraceEntry] = []
    }

    let sink: Sink?

    /// The one recording point of the trace.
    @inline(__always)
    func record(_ entry: @autoclosure () -> TraceEntry) {
        sink?.entries.append(entry())
    }

    func record(_ entries: [TraceEntry]) {
        sink?.entries += entries
    }

    mutating func assume(_ assumption: Assumption) {
        if !decision.assumed.contains(assumption) { decision.assumed.append(assumption) }
    }

    mutating func assumeFacts(_ keys: [FactKey]) {
        for key in keys where !facts.isGiven(key) { assume(policy.assumedValue(key, slots)) }
    }

    func entry(
        _ depth: Int, _ step: Step, _ clause: String, _ result: TraceResult, _ value: String? = nil, span: Span? = nil,
        truth: Bool? = nil, key: CoverageKey? = nil, assumed: Bool = false
    ) -> TraceEntry {
        TraceEntry(depth: depth, step: step, clause: clause, result: result, value: value.map(LazyText.init), span: span, truth: truth, coverageKey: key, assumed: assumed)
    }

    /// A trace line whose value is written when the trace is rendered.
    func entry(
        _ depth: Int, _ step: Step, _ clause: String, _ result: TraceResult, lazy value: LazyText, span: Span? = nil,
        truth: Bool? = nil, key: CoverageKey? = nil, assumed: Bool = false
    ) -> TraceEntry {
        TraceEntry(depth: depth, step: step, clause: clause, result: result, value: value, span: span, truth: truth, coverageKey: key, assumed: assumed)
    }

    mutating func block(_ reason: BlockReason, _ name: String?, _ why: String) { block(reason, name, LazyText(why)) }

    /// Blocks with a reason written when it is read.
    mutating func block(_ reason: BlockReason, _ name: String?, _ why: LazyText) {
        decision.outcome = .blocked
        decision.blockedBy = reason
        decision.name = name
        decision.reasonTexts.insert(why, at: 0)
    }

    mutating func reason(_ text: String) { decision.reasonTexts.append(LazyText(text)) }

    /// Marks the steps after `step` as not reached.
    mutating func notReached(after step: Step) {
        guard tracing else { return }
        let steps: [Step] = [.detect, .killSwitch, .window, .rule, .health, .lock]
        for later in steps.drop(while: { $0 != step }).dropFirst() {
            record(entry(0, later, title(later), .notReached))
            if later == .rule {
                for rule in policy.rules {
                    record(entry(1, .rule, "rule \(quoteString(rule.spec.name))", .notReached, span: rule.spec.span))
                }
            }
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

    // MARK: applies_to

    mutating func appliesTo() {
        guard let code = policy.appliesTo, let expr = policy.policy.appliesTo else { return }
        let applies = (try? Interpreter.bool(code, slots, nil)) ?? false
        decision.applies = applies
        if !applies {
            reason("policy \(quoteString(policy.policy.name)) does not apply to node \(quoteString(slots[.nodeName].stringValue)) (applies_to is false)")
        }
        assumeFacts(factsRead(by: expr, policy.policy.tables))
        if tracing {
            record(
                entry(
                    0, .appliesTo, "applies_to " + file.text(expr.span), applies ? .pass : .block,
                    describe(expr, value: .bool(applies)), span: expr.span,
                    assumed: factsRead(by: expr, policy.policy.tables).contains { !facts.isGiven($0) }))
        }
    }

    // MARK: before the reboot (pre-lock and post-lock)

    mutating func beforeReboot() {
        guard detect() else { return }
        guard killSwitch() else { return notReached(after: .killSwitch) }
        guard windows() else { return notReached(after: .window) }
        guard rules() else { return notReached(after: .rule) }
        guard health() else { return notReached(after: .health) }
        guard lock() else { return }
        decision.outcome = .reboot
        if phase == .preLock {
            reason("every gate passed: take the lock slot and reboot")
        } else {
            reason("every gate passed under the lock: reboot")
        }
    }

    /// Step 1 (and 7 under the lock): any detector fired → reboot needed. Returns whether to go on.
    mutating func detect() -> Bool {
        var fired: [String] = []
        var errors: [(String, String)] = []
        var lines: [TraceEntry] = []
        for detector in policy.detectors {
            let observation = facts.detectors[detector.name]
            if observation == nil { assume(Assumption(fact: detector.label, value: "clear")) }
            switch observation?.state ?? .clear {
            case .fired:
                fired.append(detector.label)
                if tracing { lines.append(entry(1, .detect, detector.label, .pass, "fired" + outputSuffix(observation?.output), span: detector.span)) }
            case .clear:
                if tracing { lines.append(entry(1, .detect, detector.label, .neutral, "clear", span: detector.span, assumed: observation == nil)) }
            case .error(let message):
                errors.append((detector.name, message))
                if tracing { lines.append(entry(1, .detect, detector.label, .block, "error: \(message)", span: detector.span)) }
            }
        }
        if !fired.isEmpty {
            // A detector that fired settles the need; errors of others do not hold a needed reboot back.
            if tracing {
                for i in lines.indices where lines[i].result == .block { lines[i].result = .neutral }
            }
            let why = LazyText { [fired] in fired.count == 1 ? fired[0] + " fired" : fired.map { $0 + " fired" }.joined(separator: ", ") }
            record(entry(0, .detect, title(.detect), .pass, "reboot needed: " + why.text))
            record(lines)
            decision.reasonTexts.append(why)
            return true
        }
        if let (name, message) = errors.first {
            record(entry(0, .detect, title(.detect), .block, "detector \(quoteString(name)) failed: \(message)"))
            record(lines)
            block(.detectorError, name, "detector \(quoteString(name)) could not run: \(message); rc cannot tell whether a reboot is needed")
            notReached(after: .detect)
            return false
        }
        record(entry(0, .detect, title(.detect), .block, policy.policy.detectors.isEmpty ? "the policy has no detectors" : "no detector fired"))
        record(lines)
        decision.outcome = .noRebootNeeded
        reason(phase == .postLock ? "no detector fires any more: release the lock slot without rebooting" : "no detector fired: no reboot needed")
        notReached(after: .detect)
        return false
    }

    /// Step 2: an active kill switch blocks.
    mutating func killSwitch() -> Bool {
        let active = facts.killSwitch ?? FactDefaults.killSwitch
        if facts.killSwitch == nil { assume(Assumption(fact: "kill_switch", value: "false")) }
        guard active else {
            record(entry(0, .killSwitch, title(.killSwitch), .pass, "not active", assumed: facts.killSwitch == nil))
            return true
        }
        // The switches found active; when the facts do not say which, the ones it may be.
        let configured = policy.policy.killSwitches.map(policy.policy.text(of:))
        let where_ = facts.activeKillSwitches.flatMap { $0.isEmpty ? nil : $0.joined(separator: ", ") }
            ?? (configured.count > 1 ? "one of " : "") + configured.joined(separator: ", ")
        record(entry(0, .killSwitch, title(.killSwitch), .block, "active" + (where_.isEmpty ? "" : " (\(where_))"), assumed: facts.killSwitch == nil))
        block(.killSwitch, nil, "the kill switch is active" + (where_.isEmpty ? "" : " (\(where_))"))
        return !active
    }

    /// Step 3: a deny window open blocks; with allow windows, one must be open.
    mutating func windows() -> Bool {
        let calendar = policy.calendar
        guard !calendar.windows.isEmpty else {
            record(entry(0, .window, title(.window), .pass, "the policy has no windows"))
            return true
        }
        if facts.now == nil { assume(policy.assumedValue(.now, slots)) }
        var denying: Int?
        var anyAllowOpen = false
        var lines: [TraceEntry] = []
        let minutes = calendar.localMinutes(at: now)
        for (i, window) in calendar.windows.enumerated() {
            let open = window.isOpen(localMinute: minutes[window.zoneIndex])
            if open, window.spec.effect == .deny, denying == nil { denying = i }
            if open, window.spec.effect == .allow { anyAllowOpen = true }
            if tracing {
                let result: TraceResult = window.spec.effect == .deny ? (open ? .block : .pass) : (open ? .pass : .block)
                let (zone, now) = (window.zone, now)
                lines.append(
                    entry(
                        1, .window, "window \(window.spec.effect.rawValue) \(quoteString(window.spec.name)) \(window.spec.text)", result,
                        lazy: LazyText { (open ? "open" : "closed") + " at " + zone.format(now, withDate: false) }, span: window.spec.span, truth: open,
                        key: CoverageKey(kind: .window, span: window.spec.span), assumed: facts.now == nil))
            }
        }
        if tracing, !calendar.hasAllow || anyAllowOpen {
            for i in lines.indices where lines[i].result == .block && calendar.windows[i].spec.effect == .allow { lines[i].result = .neutral }
        }
        let isEligible = denying == nil && (!calendar.hasAllow || anyAllowOpen)
        if isEligible {
            record(entry(0, .window, title(.window), .pass, lazy: LazyText { [zone = policy.zone, now] in "open at " + zone.format(now) }))
            record(lines)
            return true
        }
        let search = calendar.search(from: now)
        let next = search.next
        decision.nextEligible = next.map { Instant(epochMilliseconds: $0, utcOffsetSeconds: policy.zone.offsetSeconds(at: $0)) }
        let zone = policy.zone
        let until = LazyText { next.map { "until " + zone.format($0) } ?? "for at least \(WindowCalendar.horizonDays) days" }
        let eligible = { @Sendable in next.map { "eligible at " + zone.format($0) } ?? "not eligible within \(WindowCalendar.horizonDays) days" }
        let now = now
        if let i = denying {
            let w = calendar.windows[i]
            record(entry(0, .window, title(.window), .block, lazy: LazyText { "closed " + until.text }))
            record(lines)
            block(.window, w.spec.name, LazyText { "deny window \(quoteString(w.spec.name)) (\(w.spec.text)) is open at \(w.zone.format(now)); \(eligible())" })
        } else {
            // No allow window open: name the one that opens first, or, when none opens within the search, say so
            // (the first allow window stands for them all; none is "next").
            let soonest = search.soonestAllow ?? calendar.windows.firstIndex { !$0.isDeny }!
            let w = calendar.windows[soonest]
            let which = search.soonestAllow == nil
                ? "none opens within \(WindowCalendar.horizonDays) days"
                : "next: \(quoteString(w.spec.name)) \(w.spec.text)"
            record(entry(0, .window, title(.window), .block, lazy: LazyText { "no allow window open; closed " + until.text }))
            record(lines)
            block(.window, w.spec.name, LazyText { "no allow window is open at \(zone.format(now)) (\(which)); \(eligible())" })
        }
        return false
    }

    /// The built-in rule of `cluster { cooldown … }`: no reboot until the cooldown since the cluster's last reboot
    /// has passed.
    static let cooldownRule = cooldownRuleName

    /// Step 4: the cluster cooldown, then the first rule with a condition that holds, blocks.
    mutating func rules() -> Bool {
        let cooldown = policy.policy.cluster.cooldown
        var lines: [TraceEntry] = []
        if cooldown > 0 {
            assumeFacts([.now, .clusterLastReboot])
            let last = facts.cluster.lastReboot ?? FactDefaults.lastReboot
            let elapsed = now - last.epochMilliseconds
            let waiting = elapsed < cooldown
            let since = facts.cluster.lastReboot.map { "\(formatDuration(milliseconds: max(0, elapsed))) since the last reboot (\(policy.zone.format($0.epochMilliseconds)))" }
            let value = (since ?? "no reboot on record") + ", cooldown \(formatDuration(milliseconds: cooldown))"
            if tracing {
                lines.append(entry(1, .rule, "cluster { cooldown \(formatDuration(milliseconds: cooldown)) }", waiting ? .block : .pass, value, assumed: facts.cluster.lastReboot == nil))
            }
            if waiting {
                record(entry(0, .rule, title(.rule), .block, "the cluster cooled down for only \(formatDuration(milliseconds: max(0, elapsed)))"))
                record(lines)
                block(.rule, Run.cooldownRule, "the cluster rebooted \(formatDuration(milliseconds: max(0, elapsed))) ago, less than its cooldown of \(formatDuration(milliseconds: cooldown)); eligible at \(policy.zone.format(last.epochMilliseconds + cooldown))")
                return false
            }
        }
        guard !policy.rules.isEmpty else {
            record(entry(0, .rule, title(.rule), .pass, cooldown > 0 ? "the cooldown has passed" : "the policy has no rules"))
            record(lines)
            return true
        }
        var denied: (rule: PreparedPolicy.Rule, why: LazyText)?
        var index = 0
        while index < policy.rules.count, denied == nil {
            let rule = policy.rules[index]
            index += 1
            assumeFacts(rule.facts)
            var ruleLines: [TraceEntry] = []
            var denies = false
            for (expr, code) in rule.conditions where !denies {
                let log = tracing ? ConditionLog() : nil
                do {
                    denies = try Interpreter.bool(code, slots, log)
                    if tracing { ruleLines += conditionLines(expr, code, holds: denies, log: log!) }
                    if denies {
                        let (file, tracing, values) = (file, tracing, describeLater(expr, value: .bool(true)))
                        denied = (rule, LazyText { "rule \(quoteString(rule.spec.name)) denies: \(file.text(expr.span))" + (tracing ? ": " + values.text : "") })
                    }
                } catch {
                    denies = true
                    let at = file.location(of: error.span.start)
                    denied = (rule, LazyText("rule \(quoteString(rule.spec.name)) could not be evaluated (\(error.message) at \(file.path):\(at)); a rule that cannot be evaluated denies"))
                    if tracing {
                        ruleLines.append(entry(2, .rule, file.text(expr.span), .block, "error: \(error.message)", span: expr.span, truth: true, key: CoverageKey(kind: .condition, span: expr.span)))
                    }
                }
            }
            if tracing {
                let assumed = rule.facts.contains { !facts.isGiven($0) }
                lines.append(entry(1, .rule, "rule \(quoteString(rule.spec.name))", denies ? .block : .pass, denies ? "denies" : "allows", span: rule.spec.span, truth: denies, key: CoverageKey(kind: .rule, span: rule.spec.span), assumed: assumed))
                lines += ruleLines
            }
        }
        if tracing {
            for rule in policy.rules[index...] {
                lines.append(entry(1, .rule, "rule \(quoteString(rule.spec.name))", .notReached, span: rule.spec.span))
            }
        }
        if let denied {
            record(entry(0, .rule, title(.rule), .block, "denied by rule \(quoteString(denied.rule.spec.name))"))
            record(lines)
            // A rule's description says why it exists: it goes with the reason.
            let (why, description) = (denied.why, denied.rule.spec.description)
            block(.rule, denied.rule.spec.name, LazyText { why.text + (description.map { " (\($0))" } ?? "") })
            return false
        }
        record(entry(0, .rule, title(.rule), .pass, "no rule denies"))
        record(lines)
        return true
    }

    /// The lines of one `deny when` condition and, for `and`/`or`, of each operand.
    private func conditionLines(_ expr: Expr, _ code: Code, holds: Bool, log: ConditionLog) -> [TraceEntry] {
        var lines = [
            entry(2, .rule, file.text(expr.span), holds ? .block : .pass, lazy: describeLater(expr, value: .bool(holds)), span: expr.span, truth: holds, key: CoverageKey(kind: .condition, span: expr.span), assumed: factsRead(by: expr, policy.policy.tables).contains { !facts.isGiven($0) })
        ]
        switch code {
        case .and(let operands), .or(let operands):
            let exprs = operandExprs(expr)
            for (operand, e) in zip(operands, exprs) {
                if let truth = log.results[operand.id] {
                    lines.append(entry(3, .rule, file.text(e.span), .neutral, lazy: describeLater(e, value: .bool(truth)), span: e.span, truth: truth, key: CoverageKey(kind: .condition, span: e.span)))
                } else {
                    lines.append(entry(3, .rule, file.text(e.span), .notReached, span: e.span))
                }
            }
        default: break
        }
        return lines
    }

    // MARK: health and lock

    /// Steps 5 and 8: every health check of the phase must pass.
    mutating func health() -> Bool {
        let checks = policy.healthChecks.filter { $0.phases.contains(phase) }
        guard !checks.isEmpty else {
            record(entry(0, .health, title(.health), .pass, "no health check runs \(phase.environmentValue)"))
            return true
        }
        var failed: (PreparedPolicy.Gate, String)?
        var lines: [TraceEntry] = []
        for check in checks {
            let observation = facts.health[check.name]
            if observation == nil { assume(Assumption(fact: check.label, value: "ok")) }
            let result = observation ?? HealthObservation(ok: true)
            // A measuring check's values are judged by its `ok when` here, so a replayed facts file decides alike.
            let judged = observation.flatMap { policy.judgeHealth(check.name, $0) }
            let ok = judged?.ok ?? result.ok
            let text = judged.map { ($0.ok ? "ok: " : "failed: ") + $0.text } ?? healthText(result)
            if !ok, failed == nil { failed = (check, text) }
            if tracing {
                lines.append(entry(1, .health, check.label, ok ? .pass : .block, text, span: judged?.condition?.span ?? check.span, assumed: observation == nil))
            }
        }
        if let (check, text) = failed {
            record(entry(0, .health, title(.health), .block, "health \(quoteString(check.name)) failed"))
            record(lines)
            block(.health, check.name, "health check \(quoteString(check.name)) failed \(phase.environmentValue): \(text.hasPrefix("failed: ") ? String(text.dropFirst(8)) : text)")
            return false
        }
        record(entry(0, .health, title(.health), .pass, checks.count == 1 ? "the check passed" : "all \(checks.count) checks passed"))
        record(lines)
        return true
    }

    private func healthText(_ h: HealthObservation) -> String {
        var parts: [String] = [h.ok ? "ok" : "failed"]
        if let exit = h.exitCode, !(h.ok && exit == 0) { parts.append("exit \(exit)") }
        if let d = h.duration { parts.append("after \(formatDuration(milliseconds: d))") }
        var text = parts.joined(separator: ", ")
        if let output = h.output, !output.isEmpty { text += ": " + firstLine(output) }
        return text
    }

    /// Step 6: before the lock, a free slot (or one already held); under it, the slot must be held.
    mutating func lock() -> Bool {
        let held = slots[.lockHeld] == .bool(true)
        let slotCount = slots[.lockSlots].intValue
        let holders = slots[.lockHolders].intValue
        if phase == .postLock {
            if facts.lock.held == nil { assume(Assumption(fact: "lock.held", value: "true")) }
            record(entry(0, .lock, title(.lock), held ? .pass : .block, held ? "this node holds a slot" : "this node does not hold a slot", assumed: facts.lock.held == nil))
            if !held { block(.lock, nil, "this node does not hold a lock slot under the lock phase") }
            return held
        }
        if held {
            record(entry(0, .lock, title(.lock), .pass, "this node already holds a slot"))
            return true
        }
        let available = facts.lock.available ?? true
        if facts.lock.available == nil { assume(Assumption(fact: "lock.available", value: "true")) }
        if available {
            record(entry(0, .lock, title(.lock), .pass, "a slot is free (\(holders) of \(slotCount) held)", assumed: facts.lock.available == nil))
            return true
        }
        let who = (facts.lock.holders ?? []).map { h in
            var text = h.node
            var details: [String] = []
            if let pid = h.pid { details.append("pid \(pid)") }
            if let since = h.since { details.append("since \(policy.zone.format(since.epochMilliseconds))") }
            if !details.isEmpty { text += " (" + details.joined(separator: ", ") + ")" }
            return text
        }
        var value = "all \(slotCount) slot\(slotCount == 1 ? "" : "s") held" + (who.isEmpty ? "" : " by " + who.joined(separator: ", "))
        if let line = facts.lock.waiting, !line.isEmpty {
            value += "; in line: " + line.joined(separator: ", ")
            if let all = facts.lock.waitingCount, all > line.count { value += " and \(all - Int64(line.count)) more" }
            if let name = facts.nodeName, let place = line.firstIndex(of: name) { value += " (this node is \(ordinal(place + 1)))" }
        }
        record(entry(0, .lock, title(.lock), .block, value))
        block(.lock, nil, "no lock slot is free: \(value)")
        return false
    }

    // MARK: after the boot

    /// After the reboot only the `post_boot` health gate decides; it releases the slot when it passes.
    mutating func afterBoot() {
        if tracing {
            for step in [Step.detect, .killSwitch, .window, .rule] {
                record(entry(0, step, title(step), .notReached, "not decided after the boot"))
            }
        }
        guard health() else {
            record(entry(0, .lock, title(.lock), .block, "the slot stays held until the post-boot health gate passes"))
            return
        }
        record(entry(0, .lock, title(.lock), .pass, "release the slot"))
        decision.outcome = .noRebootNeeded
        reason("the node is back and the post-boot health gate passed: release the lock slot")
    }

    // MARK: describing values

    /// The values behind a condition (``PreparedPolicy/describe(_:value:_:)``).
    func describe(_ expr: Expr, value: Value) -> String? { policy.describe(expr, value: value, slots) }

    /// The same, written when the trace is rendered.
    func describeLater(_ expr: Expr, value: Value) -> LazyText {
        let (policy, slots) = (policy, slots)
        return LazyText { policy.describe(expr, value: value, slots) ?? "" }
    }

    private func outputSuffix(_ output: String?) -> String {
        guard let output, !output.isEmpty else { return "" }
        return ": " + firstLine(output)
    }
}

extension PreparedPolicy {
    /// The values behind a condition: `2 < 3 is true, with cluster.healthy = 2, cluster.size = 5`.
    func describe(_ expr: Expr, value: Value, _ slots: FactSlots) -> String? {
        let file = policy.file
        var text = "is \(value)"
        if case .binary(let op, let l, let r) = expr.kind, op.isComparison || op == .matches, let a = self.value(of: l, slots)?.description {
            let b = op == .matches ? file.text(r.span) : (self.value(of: r, slots)?.description ?? file.text(r.span))
            text = "\(a) \(op.rawValue) \(b) is \(value)"
        }
        let facts = factsRead(by: expr, policy.tables).map { "\($0.rawValue) = \(slots[$0])" }
        return facts.isEmpty ? text : text + ", with " + facts.joined(separator: ", ")
    }
}

func firstLine(_ text: String) -> String {
    let line = text.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
    return line.count > 120 ? String(line.prefix(117)) + "…" : line
}

extension Value {
    var stringValue: String {
        if case .string(let s) = self { return s }
        return description
    }

    var intValue: Int64 {
        if case .int(let n) = self { return n }
        return 0
    }
}

/// The operands of a chain of one `and`/`or` operator, flattened as the compiler does.
func operandExprs(_ expr: Expr) -> [Expr] {
    guard case .binary(let op, _, _) = expr.kind, op == .and || op == .or else { return [expr] }
    var result: [Expr] = []
    func walk(_ e: Expr) {
        if case .binary(let inner, let l, let r) = e.kind, inner == op {
            walk(l)
            walk(r)
        } else {
            result.append(e)
        }
    }
    walk(expr)
    return result
}
