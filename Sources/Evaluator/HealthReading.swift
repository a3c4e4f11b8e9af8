import PolicyLang

/// What the health check that blocked a decision measured, and what it needed: the number a fleet's status and
/// the decision log show beside the reason (`value 0.034`, `needs value < 0.01, was 0.034`).
public struct HealthReading: Sendable, Equatable {
    /// The check's name.
    public var check: String
    /// The measurement's one number (``HealthMeasurement/number``): a Prometheus value, the number of samples or
    /// of blocking alerts, or an HTTP status code; `nil` when the measurement has none (a failed query).
    public var value: Double?
    /// What would let it pass: `needs value < 0.01, was 0.034`, `needs no active alert matching {severity: "critical"}`.
    public var needs: String?

    /// The reading as a line shows it, from what a report or a log entry kept of it: `needs value < 0.01, was
    /// 0.034` (a threshold's `needs` already names what it saw), `value 2, needs no active alert matching …`.
    public static func text(value: Double?, needs: String?) -> String? {
        if let needs, needs.contains(", was ") { return needs }
        let parts = [value.map { "value " + formatNumber($0) }, needs].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// Creates a reading.
    public init(check: String, value: Double?, needs: String?) {
        self.check = check
        self.value = value
        self.needs = needs
    }
}

extension PreparedPolicy {
    /// The reading of the health check that blocked `decision`, decided on `facts`; `nil` unless a health check
    /// that measures (http, prometheus, alerts) blocked it having measured something (an unreachable endpoint
    /// measured nothing: the reason says why).
    public func blockingReading(_ decision: Decision, _ facts: Facts) -> HealthReading? {
        guard decision.outcome == .blocked, decision.blockedBy == .health, let name = decision.name,
            policy.health.first(where: { $0.name == name })?.probe != nil, let observation = facts.health[name],
            let measurement = observation.measurement
        else { return nil }
        return HealthReading(check: name, value: measurement.number, needs: judgeHealth(name, observation)?.needs)
    }
}
