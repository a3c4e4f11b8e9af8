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
        if let recorder = run.recorder {
            run.decision.trace = Trace(Trace.Record(events: recorder.events, policy: self, facts: facts, slots: run.slots, phase: phase))
        }
        return run.decision
    }
}

/// The state of one decision while it is being made. The trace's events are recorded only behind `recorder`,
/// which is `nil` when not tracing; they hold indices and values, and their text is written when rendered.
struct Run {
    let policy: PreparedPolicy
    let facts: Facts
    let slots: FactSlots
    let phase: HealthPhase
    /// Where trace events go, when tracing.
    let recorder: TraceRecorder?
    var decision: Decision

    init(policy: PreparedPolicy, facts: Facts, slots: FactSlots, phase: HealthPhase, tracing: Bool) {
        self.policy = policy
        self.facts = facts
        self.slots = slots
        self.phase = phase
        recorder = tracing ? TraceRecorder() : nil
        decision = Decision(
            outcome: .reboot, blockedBy: nil, name: nil, nextEligible: nil, reasons: [], assumed: [], phase: phase,
            applies: nil)
    }

    var tracing: Bool { recorder != nil }
    var file: SourceFile { policy.policy.file }
    var now: Int64 { facts.now?.epochMilliseconds ?? FactDefaults.now.epochMilliseconds }

    mutating func assume(_ assumption: Assumption) {
        if !decision.assumed.contains(assumption) { decision.assumed.append(assumption) }
    }

    mutating func assumeFacts(_ keys: [FactKey]) {
        for key in keys where !facts.isGiven(key) { assume(policy.assumedValue(key, slots)) }
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
    func notReached(after step: Step) {
        recorder?.record(.notReached(after: step))
    }

    // MARK: applies_to

    mutating func appliesTo() {
        guard let code = policy.appliesTo else { return }
        let applies = (try? Interpreter.bool(code, slots, recorder)) ?? false
        decision.applies = applies
        if !applies {
            reason("policy \(quoteString(policy.policy.name)) does not apply to node \(quoteString(slots[.nodeName].stringValue)) (applies_to is false)")
        }
        assumeFacts(policy.appliesToFacts)
        recorder?.record(.appliesTo(holds: applies))
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
        var firstError: (index: Int, message: String)?
        let mark = recorder?.mark ?? 0
        for (i, detector) in policy.detectors.enumerated() {
            let observation = facts.detectors[detector.name]
            if observation == nil { assume(Assumption(fact: detector.label, value: "clear")) }
            switch observation?.state ?? .clear {
            case .fired:
                fired.append(detector.label)
                recorder?.record(.detector(i, .pass))
            case .clear:
                recorder?.record(.detector(i, .neutral))
            case .error(let message):
                if firstError == nil { firstError = (i, message) }
                recorder?.record(.detector(i, .block))
            }
        }
        if !fired.isEmpty {
            // A detector that fired settles the need; errors of others do not hold a needed reboot back.
            if let recorder {
                for k in mark..<recorder.events.count {
                    if case .detector(let i, .block) = recorder.events[k] { recorder.events[k] = .detector(i, .neutral) }
                }
                recorder.insert(.step(.detect, .pass, .fired), at: mark)
            }
            let why = LazyText { [fired] in fired.count == 1 ? fired[0] + " fired" : fired.map { $0 + " fired" }.joined(separator: ", ") }
            decision.reasonTexts.append(why)
            return true
        }
        if let (i, message) = firstError {
            let name = policy.detectors[i].name
            recorder?.insert(.step(.detect, .block, .detectorFailed(i)), at: mark)
            block(.detectorError, name, "detector \(quoteString(name)) could not run: \(message); rc cannot tell whether a reboot is needed")
            notReached(after: .detect)
            return false
        }
        recorder?.insert(.step(.detect, .block, policy.policy.detectors.isEmpty ? .noDetectors : .noneFired), at: mark)
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
            recorder?.record(.step(.killSwitch, .pass, .inactive))
            return true
        }
        let places = policy.killSwitchPlaces(facts)
        recorder?.record(.step(.killSwitch, .block, .active))
        block(.killSwitch, nil, "the kill switch is active" + (places.isEmpty ? "" : " (\(places))"))
        return !active
    }

    /// Step 3: a deny window open blocks; with allow windows, one must be open.
    mutating func windows() -> Bool {
        let calendar = policy.calendar
        guard !calendar.windows.isEmpty else {
            recorder?.record(.step(.window, .pass, .noWindows))
            return true
        }
        if facts.now == nil { assume(policy.assumedValue(.now, slots)) }
        var denying: Int?
        var anyAllowOpen = false
        let mark = recorder?.mark ?? 0
        let minutes = calendar.localMinutes(at: now)
        for (i, slot) in calendar.slots.enumerated() {
            let open = calendar.isOpen(i, localMinute: minutes[slot.zoneIndex])
            if open, slot.isDeny, denying == nil { denying = i }
            if open, !slot.isDeny { anyAllowOpen = true }
            recorder?.record(.window(i, open: open, slot.isDeny ? (open ? .block : .pass) : (open ? .pass : .block)))
        }
        if let recorder, !calendar.hasAllow || anyAllowOpen {
            // A closed allow window holds nothing back while another lets the node through.
            for k in mark..<recorder.events.count {
                if case .window(let i, let open, .block) = recorder.events[k], calendar.windows[i].spec.effect == .allow {
                    recorder.events[k] = .window(i, open: open, .neutral)
                }
            }
        }
        let isEligible = denying == nil && (!calendar.hasAllow || anyAllowOpen)
        if isEligible {
            recorder?.insert(.step(.window, .pass, .open), at: mark)
            return true
        }
        let search = calendar.search(from: now)
        let next = search.next
        decision.nextEligible = next.map { Instant(epochMilliseconds: $0, utcOffsetSeconds: policy.zone.offsetSeconds(at: $0)) }
        recorder?.insert(.step(.window, .block, .closed(next: next, denied: denying != nil)), at: mark)
        let zone = policy.zone
        let eligible = { @Sendable in next.map { "eligible at " + zone.format($0) } ?? "not eligible within \(WindowCalendar.horizonDays) days" }
        let now = now
        if let i = denying {
            let w = calendar.windows[i]
            block(.window, w.spec.name, LazyText { "deny window \(quoteString(w.spec.name)) (\(w.spec.text)) is open at \(w.zone.format(now)); \(eligible())" })
        } else {
            // No allow window open: name the one that opens first, or, when none opens within the search, say so
            // (the first allow window stands for them all; none is "next").
            let soonest = search.soonestAllow ?? calendar.windows.firstIndex { !$0.isDeny }!
            let w = calendar.windows[soonest]
            let which = search.soonestAllow == nil
                ? "none opens within \(WindowCalendar.horizonDays) days"
                : "next: \(quoteString(w.spec.name)) \(w.spec.text)"
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
        let mark = recorder?.mark ?? 0
        if cooldown > 0 {
            assumeFacts([.now, .clusterLastReboot])
            let last = facts.cluster.lastReboot ?? FactDefaults.lastReboot
            let elapsed = now - last.epochMilliseconds
            let waiting = elapsed < cooldown
            recorder?.record(.cooldown(waiting: waiting))
            if waiting {
                recorder?.insert(.step(.rule, .block, .coolingDown), at: mark)
                block(.rule, Run.cooldownRule, "the cluster rebooted \(formatDuration(milliseconds: max(0, elapsed))) ago, less than its cooldown of \(formatDuration(milliseconds: cooldown)); eligible at \(policy.zone.format(last.epochMilliseconds + cooldown))")
                return false
            }
        }
        guard !policy.rules.isEmpty else {
            recorder?.insert(.step(.rule, .pass, cooldown > 0 ? .cooldownPassed : .noRules), at: mark)
            return true
        }
        var denied: (index: Int, why: LazyText)?
        var index = 0
        while index < policy.rules.count, denied == nil {
            let rule = policy.rules[index]
            let ruleIndex = index
            index += 1
            assumeFacts(rule.facts)
            let ruleMark = recorder?.mark ?? 0
            var denies = false
            for (c, (expr, code)) in rule.conditions.enumerated() where !denies {
                let conditionMark = recorder?.mark ?? 0
                do {
                    denies = try Interpreter.bool(code, slots, recorder)
                    recorder?.record(.condition(rule: ruleIndex, c, holds: denies))
                    if denies {
                        let file = file
                        if let recorder {
                            // The reason shows the values the trace recorded, written when it is read.
                            let (policy, events, slots) = (policy, Array(recorder.events[conditionMark...]), slots)
                            denied = (ruleIndex, LazyText {
                                "rule \(quoteString(rule.spec.name)) denies: \(file.text(expr.span)): "
                                    + RecordedValues(policy: policy, events: events).describe(expr, value: .bool(true), slots)
                            })
                        } else {
                            denied = (ruleIndex, LazyText { "rule \(quoteString(rule.spec.name)) denies: \(file.text(expr.span))" })
                        }
                    }
                } catch {
                    denies = true
                    let at = file.location(of: error.span.start)
                    denied = (ruleIndex, LazyText("rule \(quoteString(rule.spec.name)) could not be evaluated (\(error.message) at \(file.path):\(at)); a rule that cannot be evaluated denies"))
                    recorder?.record(.conditionFailed(rule: ruleIndex, c, error))
                }
            }
            recorder?.insert(.rule(ruleIndex, denies: denies), at: ruleMark)
        }
        if index < policy.rules.count { recorder?.record(.rulesNotReached(from: index)) }
        if let denied {
            let rule = policy.rules[denied.index]
            recorder?.insert(.step(.rule, .block, .deniedBy(denied.index)), at: mark)
            // A rule's description says why it exists: it goes with the reason.
            let (why, description) = (denied.why, rule.spec.description)
            block(.rule, rule.spec.name, LazyText { why.text + (description.map { " (\($0))" } ?? "") })
            return false
        }
        recorder?.insert(.step(.rule, .pass, .noRuleDenies), at: mark)
        return true
    }

    // MARK: health and lock

    /// Steps 5 and 8: every health check of the phase must pass.
    mutating func health() -> Bool {
        var failed: (PreparedPolicy.Gate, HealthJudgement?, HealthObservation)?
        var failedIndex = 0
        var count = 0
        let mark = recorder?.mark ?? 0
        for (i, check) in policy.healthChecks.enumerated() where check.phases.contains(phase) {
            count += 1
            let observation = facts.health[check.name]
            if observation == nil { assume(Assumption(fact: check.label, value: "ok")) }
            let result = observation ?? HealthObservation(ok: true)
            // A measuring check's values are judged by its `ok when` here, so a replayed facts file decides alike.
            let judged = observation.flatMap { policy.judgeHealth(check.name, $0) }
            let ok = judged?.ok ?? result.ok
            if !ok, failed == nil { (failed, failedIndex) = ((check, judged, result), i) }
            recorder?.record(.health(i, ok: ok, judged))
        }
        guard count > 0 else {
            recorder?.record(.step(.health, .pass, .noHealthCheck))
            return true
        }
        if let (check, judged, result) = failed {
            recorder?.insert(.step(.health, .block, .failed(failedIndex)), at: mark)
            let phase = phase
            block(.health, check.name, LazyText {
                let text = judged.map { ($0.ok ? "ok: " : "failed: ") + $0.text } ?? healthText(result)
                return "health check \(quoteString(check.name)) failed \(phase.environmentValue): \(text.hasPrefix("failed: ") ? String(text.dropFirst(8)) : text)"
            })
            return false
        }
        recorder?.insert(.step(.health, .pass, .passed(count: count)), at: mark)
        return true
    }

    /// Step 6: before the lock, a free slot (or one already held); under it, the slot must be held.
    mutating func lock() -> Bool {
        let held = slots[.lockHeld] == .bool(true)
        if phase == .postLock {
            if facts.lock.held == nil { assume(Assumption(fact: "lock.held", value: "true")) }
            recorder?.record(.step(.lock, held ? .pass : .block, .holdsSlot(held)))
            if !held { block(.lock, nil, "this node does not hold a lock slot under the lock phase") }
            return held
        }
        if held {
            recorder?.record(.step(.lock, .pass, .alreadyHeld))
            return true
        }
        let available = facts.lock.available ?? true
        if facts.lock.available == nil { assume(Assumption(fact: "lock.available", value: "true")) }
        if available {
            recorder?.record(.step(.lock, .pass, .slotFree))
            return true
        }
        recorder?.record(.step(.lock, .block, .slotsFull))
        block(.lock, nil, "no lock slot is free: " + policy.slotsFullText(facts, slots))
        return false
    }

    // MARK: after the boot

    /// After the reboot only the `post_boot` health gate decides; it releases the slot when it passes.
    mutating func afterBoot() {
        recorder?.record(.notDecidedAfterBoot)
        guard health() else {
            recorder?.record(.step(.lock, .block, .staysHeld))
            return
        }
        recorder?.record(.step(.lock, .pass, .release))
        decision.outcome = .noRebootNeeded
        reason("the node is back and the post-boot health gate passed: release the lock slot")
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
