import CoreMetrics
import Evaluator
import Foundation
import PolicyLang
import Prometheus

/// What the runner tells whoever watches it, beside the decision of each pass (metrics today).
public protocol RunnerObserver: Sendable {
    /// A health check ran.
    /// `measures`: an http, prometheus or alerts check (not a script).
    func healthChecked(_ name: String, phase: HealthPhase, _ observation: HealthObservation, measures: Bool)
    /// A try for a lock slot ended after `milliseconds`.
    func lockAcquire(milliseconds: Int64, acquired: Bool)
    /// The reboot command ran.
    func rebootCommand(succeeded: Bool)
    /// Something a webhook may be told of happened in the pass (a slot taken or given back, the reboot begins).
    func happened(_ event: NotifyEvent)
}

extension RunnerObserver {
    public func happened(_ event: NotifyEvent) {}
}

/// The daemon's metrics (docs/operations.md, "Metrics"), kept with swift-metrics in a Prometheus registry of its own
/// and served at `/metrics`.
public final class RCMetrics: RunnerObserver, @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let lock = NSLock()
    /// Why a pass was blocked: the labels of `rc_blocked`.
    struct Reason: Hashable {
        var blockedBy: String
        var name: String
    }
    /// The reason this node is blocked now (its gauge is 1), to set back to 0 when it changes.
    private var blocked: Reason?
    /// When this node first needed a reboot, for `rc_reboot_required_since_seconds`.
    private var requiredSince: Instant?

    /// Every metric name the daemon exports (the dashboard and the docs are checked against it).
    public static let names = [
        "rc_build_info", "rc_reboot_required", "rc_reboot_required_since_seconds", "rc_decisions_total", "rc_blocked", "rc_reboots_total",
        "rc_health_checks_total", "rc_health_check_duration_seconds", "rc_health_value", "rc_detector_errors_total", "rc_lock_acquire_seconds", "rc_lock_held",
        "rc_lock_waiting_position", "rc_fleet_members", "rc_policy_reloads_total",
        // clusterrebootd's names for the same things (pkg/orchestrator/runner.go), so its dashboards keep working.
        "clusterrebootd_orchestration_outcomes_total", "clusterrebootd_health_checks_total", "clusterrebootd_lock_attempts_total",
    ]

    /// clusterrebootd's outcome status of a decision (its `OutcomeStatus`), where one means the same.
    static func legacyStatus(_ decision: Decision) -> String? {
        switch (decision.outcome, decision.blockedBy) {
        case (.reboot, _): "ready"
        case (.noRebootNeeded, _): "no_action"
        case (.blocked, .killSwitch?): "kill_switch_active"
        case (.blocked, .health?): "health_blocked"
        case (.blocked, .window?): "window_denied"
        case (.blocked, .lock?): "lock_unavailable"
        default: nil
        }
    }

    /// A registry with `rc_build_info{version}` set.
    public init(version: String) {
        var factory = PrometheusMetricsFactory(registry: registry)
        let seconds: [Duration] = [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5), .seconds(30), .seconds(120), .seconds(600)]
        factory.durationHistogramBuckets = ["rc_health_check_duration_seconds": seconds, "rc_lock_acquire_seconds": seconds]
        self.factory = factory
        Gauge(label: "rc_build_info", dimensions: [("version", version)], factory: factory).record(1)
        // Known from the start, so a scrape before the first pass shows them at 0.
        Gauge(label: "rc_reboot_required", factory: factory).record(0)
        Gauge(label: "rc_lock_held", factory: factory).record(0)
        Counter(label: "rc_reboots_total", factory: factory).increment(by: 0)
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    /// A pass ended with `result`.
    public func passed(_ result: PassResult) {
        let decision = result.decision
        let blockedBy = decision.blockedBy?.rawValue ?? ""
        Counter(label: "rc_decisions_total", dimensions: [("outcome", decision.outcome.rawValue), ("blocked_by", blockedBy)], factory: factory).increment()
        if let status = Self.legacyStatus(decision) {
            Counter(label: "clusterrebootd_orchestration_outcomes_total", dimensions: [("status", status)], factory: factory).increment()
        }
        let facts = result.facts
        let required = facts.detectors.values.contains { $0.state == .fired }
        Gauge(label: "rc_reboot_required", factory: factory).record(required ? 1 : 0)
        for (name, observation) in facts.detectors {
            if case .error = observation.state { Counter(label: "rc_detector_errors_total", dimensions: [("detector", name)], factory: factory).increment() }
        }
        // After the pass: a reboot keeps the slot, every other pass under the lock gave it back.
        let held: Bool =
            switch result.action {
            case .rebooted: true
            case .dryRun, .releasedAfterBoot: false
            case .none: facts.phase == .preLock && facts.lock.held == true
            }
        Gauge(label: "rc_lock_held", factory: factory).record(held ? 1 : 0)
        let position = facts.nodeName.flatMap { facts.lock.waiting?.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
        Gauge(label: "rc_lock_waiting_position", factory: factory).record(position)
        let reason = decision.outcome == .blocked ? Reason(blockedBy: blockedBy, name: decision.name ?? "") : nil
        let (previous, since) = lock.withLock { () -> (Reason?, Instant?) in
            let previous = blocked
            blocked = reason
            if !required { requiredSince = nil } else if requiredSince == nil { requiredSince = facts.now }
            return (previous, requiredSince)
        }
        if let previous, previous != reason {
            Gauge(label: "rc_blocked", dimensions: [("blocked_by", previous.blockedBy), ("name", previous.name)], factory: factory).record(0)
        }
        if let reason { Gauge(label: "rc_blocked", dimensions: [("blocked_by", reason.blockedBy), ("name", reason.name)], factory: factory).record(1) }
        Gauge(label: "rc_reboot_required_since_seconds", factory: factory).record(since.map { Double($0.epochMilliseconds) / 1000 } ?? 0)
        if let size = facts.cluster.size, let healthy = facts.cluster.healthy {
            Gauge(label: "rc_fleet_members", dimensions: [("state", "healthy")], factory: factory).record(healthy)
            Gauge(label: "rc_fleet_members", dimensions: [("state", "not_healthy")], factory: factory).record(max(0, size - healthy))
        }
    }

    /// A `SIGHUP` reload: `applied` when the new policy is in force.
    public func reloaded(applied: Bool) {
        Counter(label: "rc_policy_reloads_total", dimensions: [("result", applied ? "applied" : "rejected")], factory: factory).increment()
    }

    public func healthChecked(_ name: String, phase: HealthPhase, _ observation: HealthObservation, measures: Bool) {
        let dimensions = [("check", name), ("phase", phase.environmentValue), ("result", observation.ok ? "ok" : "failed")]
        Counter(label: "rc_health_checks_total", dimensions: dimensions, factory: factory).increment()
        // clusterrebootd: pass, blocked (the script exited non-zero) or error (it could not run or timed out).
        let legacy = observation.ok ? "pass" : (observation.exitCode ?? 0) != 0 ? "blocked" : "error"
        Counter(label: "clusterrebootd_health_checks_total", dimensions: [("phase", phase.environmentValue), ("result", legacy)], factory: factory).increment()
        // The value a measuring check saw (a Prometheus value, the matching alerts, an HTTP status); NaN when it
        // measured none this time (unreachable, timed out, no sample), never the last value it saw.
        if measures {
            Gauge(label: "rc_health_value", dimensions: [("check", name)], factory: factory).record(observation.measurement?.number ?? .nan)
        }
        if let ms = observation.duration {
            Timer(label: "rc_health_check_duration_seconds", dimensions: [("check", name), ("phase", phase.environmentValue)], factory: factory)
                .recordNanoseconds(ms * 1_000_000)
        }
    }

    public func lockAcquire(milliseconds: Int64, acquired: Bool) {
        Timer(label: "rc_lock_acquire_seconds", dimensions: [("acquired", acquired ? "true" : "false")], factory: factory).recordNanoseconds(milliseconds * 1_000_000)
        Counter(label: "clusterrebootd_lock_attempts_total", dimensions: [("result", acquired ? "success" : "contended")], factory: factory).increment()
    }

    public func rebootCommand(succeeded: Bool) {
        if succeeded { Counter(label: "rc_reboots_total", factory: factory).increment() }
    }
}
