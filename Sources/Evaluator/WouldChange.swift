import PolicyLang

/// One change of facts that moves a decision towards a reboot.
public struct FactChange: Sendable, Hashable {
    /// Readable: `cluster.healthy ≥ 3`, `health "cluster" ok`, `now ≥ Mon 2026-11-23 08:00 +01:00`.
    public var text: String
    /// The fact changed: `cluster.healthy`, `health "cluster"`, `detector "apt"`.
    public var fact: String
    /// The value that makes the change, as a policy would write it.
    public var value: String
    var edit: Edit

    enum Edit: Sendable, Hashable {
        case fact(FactKey, Value)
        case label(String, String)
        case detector(String, DetectorState)
        case health(String)
    }

    func apply(to facts: inout Facts) {
        switch edit {
        case .fact(let key, let value): facts.set(key, value)
        case .label(let key, let value):
            var labels = facts.nodeLabels ?? [:]
            labels[key] = value
            facts.nodeLabels = labels
        case .detector(let name, let state): facts.detectors[name] = DetectorObservation(state)
        case .health(let name): facts.health[name] = HealthObservation(ok: true, exitCode: 0)
        }
    }
}

extension PreparedPolicy {
    /// The smallest changes of facts found, applied one after another, that turn the decision into a reboot
    /// (for a decision that is already `reboot`, none). Each change is checked by deciding again with it, so the
    /// list is never a guess; it stops after eight changes or when no single change helps.
    public func wouldChange(_ facts: Facts, phase: HealthPhase? = nil) -> (changes: [FactChange], complete: Bool) {
        var current = facts
        var changes: [FactChange] = []
        for _ in 0..<8 {
            let decision = decide(current, phase: phase)
            let next: FactChange?
            switch decision.outcome {
            case .reboot:
                return (merged(changes), true)
            case .noRebootNeeded:
                guard decision.phase != .postBoot else { return (merged(changes), true) }
                next = policy.detectors.first.map {
                    FactChange(text: "detector \(quoteString($0.name)) fired", fact: "detector \(quoteString($0.name))", value: "fired", edit: .detector($0.name, .fired))
                }
            case .blocked:
                next = change(for: decision, current)
            }
            guard let next, !changes.contains(next), !turnsTimeBack(next, current) else { return (merged(changes), false) }
            next.apply(to: &current)
            changes.append(next)
        }
        return (merged(changes), decide(current, phase: phase).outcome == .reboot)
    }

    /// Later changes of one fact replace earlier ones (a later `now` wins).
    private func merged(_ changes: [FactChange]) -> [FactChange] {
        var result: [FactChange] = []
        for change in changes {
            if let i = result.firstIndex(where: { $0.fact == change.fact }) {
                result[i] = change
            } else {
                result.append(change)
            }
        }
        return result
    }

    private func change(for decision: Decision, _ facts: Facts) -> FactChange? {
        switch decision.blockedBy {
        case .killSwitch?:
            return FactChange(text: "kill switch off", fact: "kill_switch", value: "false", edit: .fact(.killSwitch, .bool(false)))
        case .window?:
            guard let next = decision.nextEligible else { return nil }
            return FactChange(
                text: "now ≥ " + zone.format(next.epochMilliseconds), fact: "now", value: next.description,
                edit: .fact(.now, .instant(next)))
        case .health?:
            let name = decision.name ?? ""
            // A threshold names what it needs and what it saw: `health "errors" needs value < 0.01, was 0.034`.
            let needs = facts.health[name].flatMap { judgeHealth(name, $0) }?.needs
            let text = needs.map { "health \(quoteString(name)) \($0)" } ?? "health \(quoteString(name)) ok"
            return FactChange(text: text, fact: "health \(quoteString(name))", value: "ok", edit: .health(name))
        case .lock?:
            if decision.phase == .postLock {
                return FactChange(text: "this node holds a lock slot (lock.held)", fact: "lock.held", value: "true", edit: .fact(.lockHeld, .bool(true)))
            }
            return FactChange(text: "a lock slot is free (lock.available)", fact: "lock.available", value: "true", edit: .fact(.lockAvailable, .bool(true)))
        case .detectorError?:
            let name = decision.name ?? ""
            return FactChange(
                text: "detector \(quoteString(name)) runs without error", fact: "detector \(quoteString(name))", value: "clear",
                edit: .detector(name, .clear))
        case .rule? where decision.name == Run.cooldownRule:
            let last = facts.cluster.lastReboot ?? FactDefaults.lastReboot
            let at = Instant(epochMilliseconds: last.epochMilliseconds + policy.cluster.cooldown, utcOffsetSeconds: zone.offsetSeconds(at: last.epochMilliseconds + policy.cluster.cooldown))
            return FactChange(text: "now ≥ " + zone.format(at.epochMilliseconds), fact: "now", value: at.description, edit: .fact(.now, .instant(at)))
        case .rule?:
            guard let rule = rules.first(where: { $0.spec.name == decision.name }) else { return nil }
            let phase = decision.phase
            let slots = slots(facts, phase: phase)
            for (expr, code) in rule.conditions where (try? Interpreter.bool(code, slots, nil)) ?? true {
                for candidate in solve(expr, want: false, slots) where !turnsTimeBack(candidate, facts) {
                    var changed = facts
                    candidate.apply(to: &changed)
                    if (try? Interpreter.bool(code, self.slots(changed, phase: phase), nil)) == false { return candidate }
                }
            }
            return nil
        case nil:
            return nil
        }
    }

    /// Whether a change sets `now` to the current instant or before it: time only moves on, so such a change is
    /// no answer (`now < Fri 18 Dec` on 20 Dec), and one that is already true (`now ≥ 03:00` at 04:00) changes nothing.
    private func turnsTimeBack(_ change: FactChange, _ facts: Facts) -> Bool {
        guard case .fact(.now, .instant(let target)) = change.edit else { return false }
        return target.epochMilliseconds <= (facts.now ?? FactDefaults.now).epochMilliseconds
    }

    /// Single changes that would each make `expr` evaluate to `want`, the most natural first.
    private func solve(_ expr: Expr, want: Bool, _ slots: FactSlots) -> [FactChange] {
        let tables = policy.tables
        switch expr.kind {
        case .unary(.not, let inner):
            return solve(inner, want: !want, slots)
        case .binary(let op, _, _) where op == .and || op == .or:
            // `a and b` turns false when any operand does; `a or b` turns true when any operand does.
            let operands = operandExprs(expr)
            if (op == .and) != want {
                return operands.flatMap { solve($0, want: want, slots) }.sorted { rank($0) < rank($1) }
            }
            return []
        case .binary(let op, let l, let r) where op.isComparison:
            let target = want ? op : negated(op)
            var candidates: [FactChange] = []
            if let bound = value(of: r, slots) { candidates += solveSide(l, target, bound, slots) }
            if let bound = value(of: l, slots) { candidates += solveSide(r, flipped(target), bound, slots) }
            return candidates.sorted { rank($0) < rank($1) }
        case .binary(let op, let l, let r) where op == .in || op == .notIn:
            // Only a plain fact on the left can be moved out of (or into) a constant list.
            guard let key = tables.facts[l.id], key != .phase, case .list(let items)? = value(of: r, slots) else { return [] }
            let inside = (op == .in) == want
            if inside, let first = items.first {
                return [change(key, .equal, first)]
            }
            if !inside, case .string = slots[key] {
                var candidate = ""
                while items.contains(.string(candidate)) { candidate += "x" }
                return [FactChange(text: "\(key.rawValue) \(op == .in ? "not in" : "in") \(policy.file.text(r.span))", fact: key.rawValue, value: quoteString(candidate), edit: .fact(key, .string(candidate)))]
            }
            return []
        default:
            if let key = tables.facts[expr.id], [.killSwitch, .lockHeld, .lockAvailable].contains(key) {
                return [change(key, .equal, .bool(want))]
            }
            return []
        }
    }

    /// Changes making `side op bound` true by moving the one fact in `side`.
    private func solveSide(_ side: Expr, _ op: BinaryOperator, _ bound: Value, _ slots: FactSlots) -> [FactChange] {
        let tables = policy.tables
        if let key = tables.facts[side.id] {
            guard key != .phase, let target = satisfying(op, bound) else { return [] }
            return [change(key, op, target)]
        }
        switch side.kind {
        case .index(let base, let keyExpr):
            guard tables.facts[base.id] == .nodeLabels, case .string(let label)? = value(of: keyExpr, slots), case .string(let s) = bound else { return [] }
            switch op {
            case .equal:
                return [FactChange(text: "node.labels[\(quoteString(label))] = \(quoteString(s))", fact: "node.labels[\(quoteString(label))]", value: quoteString(s), edit: .label(label, s))]
            case .notEqual:
                let other = s == "" ? "none" : ""
                return [FactChange(text: "node.labels[\(quoteString(label))] ≠ \(quoteString(s))", fact: "node.labels[\(quoteString(label))]", value: quoteString(other), edit: .label(label, other))]
            default:
                return []
            }
        case .binary(let arith, let a, let b) where arith == .add || arith == .subtract:
            // a + b op V  →  a op V - b;   a - b op V  →  a op V + b  and  b (flipped op) a - V.
            var result: [FactChange] = []
            if let bv = value(of: b, slots), !mentionsSameFact(a, b) {
                let inverse: BinaryOperator = arith == .add ? .subtract : .add
                if let v = try? Interpreter.arithmetic(inverse, bound, bv, side.span) { result += solveSide(a, op, v, slots) }
            }
            if let av = value(of: a, slots), !mentionsSameFact(a, b) {
                if arith == .add, let v = try? Interpreter.arithmetic(.subtract, bound, av, side.span) {
                    result += solveSide(b, op, v, slots)
                } else if arith == .subtract, let v = try? Interpreter.arithmetic(.subtract, av, bound, side.span) {
                    result += solveSide(b, flipped(op), v, slots)
                }
            }
            return result
        default:
            return []
        }
    }

    private func mentionsSameFact(_ a: Expr, _ b: Expr) -> Bool {
        !Set(factsRead(by: a, policy.tables)).isDisjoint(with: factsRead(by: b, policy.tables))
    }

    /// The value nearest to `bound` that satisfies `x op bound`.
    private func satisfying(_ op: BinaryOperator, _ bound: Value) -> Value? {
        func step(_ v: Value, _ delta: Int64) -> Value? {
            switch v {
            case .int(let n): .int(n + delta)
            case .duration(let d): .duration(d + delta * 1000)
            case .instant(let i): .instant(Instant(epochMilliseconds: i.epochMilliseconds + delta * 1000, utcOffsetSeconds: i.utcOffsetSeconds))
            default: nil
            }
        }
        switch op {
        case .equal, .greaterEqual, .lessEqual: return bound
        case .greater: return step(bound, 1)
        case .less: return step(bound, -1)
        case .notEqual:
            switch bound {
            case .bool(let b): return .bool(!b)
            case .string(let s): return .string(s.isEmpty ? "x" : "")
            default: return step(bound, 1)
            }
        default: return nil
        }
    }

    private func change(_ key: FactKey, _ op: BinaryOperator, _ target: Value) -> FactChange {
        let shown: String
        if case .instant(let i) = target { shown = zone.format(i.epochMilliseconds) } else { shown = target.description }
        let symbol = ["<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"][op.rawValue] ?? op.rawValue
        let text: String
        switch (key, target) {
        case (.killSwitch, .bool(false)): text = "kill switch off"
        case (_, .bool(let b)): text = "\(key.rawValue) \(b)"
        default: text = "\(key.rawValue) \(symbol) \(shown)"
        }
        return FactChange(text: text, fact: key.rawValue, value: target.description, edit: .fact(key, target))
    }

    /// Facts that change by themselves (time, the cluster) come before facts about who the node is.
    private func rank(_ change: FactChange) -> Int {
        guard case .fact(let key, _) = change.edit else { return 5 }
        switch key {
        case .now: return 0
        case .clusterLastReboot: return 1
        case .clusterHealthy, .clusterFallbackHealthy, .clusterSize: return 1
        case .lockAvailable, .lockHeld, .lockHolders, .lockSlots: return 2
        case .nodeUptime, .killSwitch: return 3
        default: return 6
        }
    }
}

private func negated(_ op: BinaryOperator) -> BinaryOperator {
    switch op {
    case .less: .greaterEqual
    case .lessEqual: .greater
    case .greater: .lessEqual
    case .greaterEqual: .less
    case .equal: .notEqual
    case .notEqual: .equal
    default: op
    }
}

/// `a op b` is `b flipped(op) a`.
private func flipped(_ op: BinaryOperator) -> BinaryOperator {
    switch op {
    case .less: .greater
    case .lessEqual: .greaterEqual
    case .greater: .less
    case .greaterEqual: .lessEqual
    default: op
    }
}
