import PolicyLang

/// What a measuring health check's values mean under the policy's `ok when` or `block_on`.
public struct HealthJudgement: Sendable {
    /// Whether the check passes.
    public var ok: Bool
    /// The source of the condition, for the trace.
    public var condition: Expr?
    let prose: Prose

    /// What the judgement says: written already (alerts, a condition that could not be evaluated), or from what
    /// the interpreter recorded while it evaluated the condition.
    enum Prose: Sendable {
        case written(text: String, needs: String?)
        case recorded(MeasuredText)
    }

    /// Readable: `0.034 < 0.01 is false`, `no sample: the query returned nothing`, `alert "HighErrorRate" is active`.
    public var text: String {
        switch prose {
        case .written(let text, _): text
        case .recorded(let measured): measured.text(ok)
        }
    }

    /// The threshold the check needs and the value it saw, when one comparison decided: `needs value < 0.01, was 0.034`.
    public var needs: String? {
        switch prose {
        case .written(_, let needs): needs
        case .recorded(let measured): ok ? nil : measured.needs()
        }
    }
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
                return HealthJudgement(ok: false, prose: .written(text: text, needs: "needs Alertmanager's list of active alerts"))
            }
            let text = active.isEmpty
                ? "no active alert matches " + labelsText(probe.blockOn)
                : "\(active.count) active alert\(active.count == 1 ? "" : "s") match\(active.count == 1 ? "es" : "") \(labelsText(probe.blockOn)): " + active.map(quoteString).joined(separator: ", ")
            return HealthJudgement(
                ok: active.isEmpty, prose: .written(text: text, needs: active.isEmpty ? nil : "needs no active alert matching \(labelsText(probe.blockOn))"))
        }
        guard let condition = probe.condition, let code = healthConditions[name] else { return nil }
        let slots = healthSlots(measurement)
        // The judgement's text is written from what the evaluation recorded.
        let recorder = TraceRecorder()
        do {
            let ok = try Interpreter.bool(code, slots, recorder)
            if !ok, case .and(let operands) = code {
                // What it needs names every operand that fails; the evaluation stopped at the first.
                for operand in operands where !recorder.ran(operand.id) {
                    if let b = try? Interpreter.bool(operand.code, slots, recorder) { recorder.record(.operand(id: operand.id, b)) }
                }
            }
            return HealthJudgement(
                ok: ok, condition: condition, prose: .recorded(MeasuredText(policy: self, condition: condition, events: recorder.events)))
        } catch {
            return HealthJudgement(
                ok: false, condition: condition, prose: .written(text: error.message, needs: "needs " + file.text(condition.span) + " to be measurable"))
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
}
