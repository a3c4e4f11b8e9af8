import PolicyLang

/// What a measuring health check's values mean under the policy's `ok when` or `block_on`.
public struct HealthJudgement: Sendable {
    /// Whether the check passes.
    public var ok: Bool
    /// Readable: `0.034 < 0.01 is false`, `no sample: the query returned nothing`, `alert "HighErrorRate" is active`.
    public var text: String
    /// The threshold the check needs and the value it saw, when one comparison decided: `needs value < 0.01, was 0.034`.
    public var needs: String?
    /// The source of the condition, for the trace.
    public var condition: Expr?
}

extension PreparedPolicy {
    /// Judges what a measuring check saw; `nil` for a script check, or when nothing was measured.
    public func judgeHealth(_ name: String, _ observation: HealthObservation) -> HealthJudgement? {
        guard let spec = policy.health.first(where: { $0.name == name }), let probe = spec.probe,
            let measurement = observation.measurement
        else { return nil }
        if probe.kind == .alerts {
            // No list of alerts is no proof that none is active.
            guard let active = measurement.blockingAlerts else {
                let text = "no list of active alerts" + (measurement.status.map { " (Alertmanager answered HTTP \($0))" } ?? "")
                return HealthJudgement(ok: false, text: text, needs: "needs Alertmanager's list of active alerts")
            }
            let text = active.isEmpty
                ? "no active alert matches " + labelsText(probe.blockOn)
                : "\(active.count) active alert\(active.count == 1 ? "" : "s") match\(active.count == 1 ? "es" : "") \(labelsText(probe.blockOn)): " + active.map(quoteString).joined(separator: ", ")
            return HealthJudgement(ok: active.isEmpty, text: text, needs: active.isEmpty ? nil : "needs no active alert matching \(labelsText(probe.blockOn))")
        }
        guard let condition = probe.condition, let code = healthConditions[name] else { return nil }
        let slots = healthSlots(measurement)
        do {
            let ok = try Interpreter.bool(code, slots, nil)
            return HealthJudgement(
                ok: ok, text: describeMeasured(condition, ok, slots), needs: ok ? nil : needs(condition, slots), condition: condition)
        } catch {
            return HealthJudgement(ok: false, text: error.message, needs: "needs " + file.text(condition.span) + " to be measurable", condition: condition)
        }
    }

    private var file: SourceFile { policy.file }

    private func labelsText(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key): \(quoteString($0.value))" }.joined(separator: ", ") + "}"
    }

    /// The slots of a check's condition: each measured value, or why it is missing.
    func healthSlots(_ m: HealthMeasurement) -> FactSlots {
        var s = FactSlots.empty
        if let status = m.status { s[.healthStatus] = .int(status) } else { s.unavailable[.healthStatus] = "status: no HTTP response" }
        if let json = m.json {
            s[.healthJSON] = json
        } else {
            s.unavailable[.healthJSON] = "json: " + (m.bodyError ?? "the response has no JSON body")
        }
        if let error = m.queryError {
            for key in [FactKey.healthValue, .healthResult, .healthEmpty] { s.unavailable[key] = "\(key.rawValue): the query failed: \(error)" }
            return s
        }
        // Neither a value nor samples nor an error: no query result at all, which is not an empty one.
        if m.value == nil, m.samples == nil {
            let why = "no query result" + (m.status.map { " (Prometheus answered HTTP \($0))" } ?? "")
            for key in [FactKey.healthValue, .healthResult, .healthEmpty] { s.unavailable[key] = "\(key.rawValue): " + why }
            return s
        }
        let samples = m.samples ?? m.value.map { [HealthSample(value: $0)] } ?? []
        s[.healthResult] = .list(samples.map { .number($0.value) })
        s.resultLabels = samples.map(\.labels)
        s[.healthEmpty] = .bool(samples.isEmpty)
        if let value = m.value {
            s[.healthValue] = .number(value)
        } else if samples.count == 1 {
            s[.healthValue] = .number(samples[0].value)
        } else if samples.isEmpty {
            s.unavailable[.healthValue] = "value: the query returned no sample (test it with `empty`)"
        } else {
            s.unavailable[.healthValue] = "value: the query returned \(samples.count) samples (compare them with `all(result, sample < …)` or `count(result)`)"
        }
        return s
    }

    /// `0.034 < 0.01 is false`; for `and`/`or`, the operand that decided.
    private func describeMeasured(_ expr: Expr, _ truth: Bool, _ slots: FactSlots) -> String {
        if case .binary(let op, _, _) = expr.kind, op == .and || op == .or {
            // The first operand that gives the whole its value decides it.
            for operand in operandExprs(expr) {
                guard case .bool(let b)? = value(of: operand, slots) else { continue }
                if b == (op == .or) { return describeMeasured(operand, b, slots) }
            }
            // Every operand ran: each one's values.
            return operandExprs(expr).map { describeMeasured($0, truth, slots) }.joined(separator: ", ")
        }
        if case .binary(let op, let l, let r) = expr.kind, op.isComparison, let a = value(of: l, slots) {
            return "\(shorten(a)) \(op.rawValue) \(value(of: r, slots).map(shorten) ?? file.text(r.span)) is \(truth)"
        }
        return "\(file.text(expr.span)) is \(truth)"
    }

    /// `needs value < 0.01, was 0.034`: each operand of an `and` that failed, with the value it read
    /// (`needs status == 200, was 503; and json.lag < 5, was 7.5`): changing one of them alone would not do.
    private func needs(_ expr: Expr, _ slots: FactSlots) -> String? {
        let parts = unmet(expr, slots)
        return parts.isEmpty ? nil : "needs " + parts.joined(separator: "; and ")
    }

    private func unmet(_ expr: Expr, _ slots: FactSlots) -> [String] {
        switch expr.kind {
        case .binary(.and, _, _):
            return operandExprs(expr).filter { value(of: $0, slots) != .bool(true) }.flatMap { unmet($0, slots) }
        case .binary(let op, let l, _) where op.isComparison:
            let was = value(of: l, slots).map(shorten) ?? "not measurable"
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
