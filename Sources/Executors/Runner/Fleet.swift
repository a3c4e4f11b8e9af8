import Evaluator
import Foundation
import Logging
import PolicyLang

/// What a node tells its fleet about itself: published by every pass and again by the reporter on its own timer.
public struct MemberReport: Codable, Sendable, Equatable {
    /// How a pass ended, as the node published it.
    public struct Outcome: Codable, Sendable, Equatable {
        public var outcome: String
        public var blockedBy: String?
        public var name: String?
        public var reason: String?
        /// When a measuring health check blocked: its value and what it needed (``HealthReading``). Reports of
        /// earlier versions have neither.
        public var value: Double?
        public var needs: String?
        public var at: String

        /// Creates an outcome.
        public init(
            outcome: String, blockedBy: String? = nil, name: String? = nil, reason: String? = nil, value: Double? = nil, needs: String? = nil, at: String
        ) {
            (self.outcome, self.blockedBy, self.name, self.reason, self.at) = (outcome, blockedBy, name, reason, at)
            (self.value, self.needs) = (value, needs)
        }

        enum CodingKeys: String, CodingKey {
            case outcome, name, reason, value, needs, at
            case blockedBy = "blocked_by"
        }
    }

    public var node: String
    public var healthy: Bool
    /// RFC 3339, on the reporting node's clock (shown, never compared with another node's clock).
    public var reportedAt: String
    public var version: String
    public var labels: [String: String]
    public var instance: String
    public var bootID: String
    /// `rebooting` from right before the reboot command until the node reports again after its boot.
    public var phase: String?
    /// The node's last decision (a report published before a pass decides carries the one before).
    public var decision: Outcome?
    /// The etcd raft term the node had seen when it wrote the report (set by the etcd fleet): a reader that sees a
    /// later term cannot take the report's liveness lease as the node's, since a new leader renews every lease.
    public var etcdTerm: Int64?

    /// Creates a report.
    public init(
        node: String, healthy: Bool, reportedAt: String, labels: [String: String] = [:], instance: String, bootID: String, phase: String? = nil,
        decision: Outcome? = nil, version: String = rcVersion
    ) {
        (self.node, self.healthy, self.reportedAt, self.version, self.labels) = (node, healthy, reportedAt, version, labels)
        (self.instance, self.bootID, self.phase, self.decision) = (instance, bootID, phase, decision)
    }

    enum CodingKeys: String, CodingKey {
        case node, healthy, version, labels, instance, phase, decision
        case reportedAt = "reported_at"
        case bootID = "boot_id"
        case etcdTerm = "etcd_term"
    }
}

/// What a node knows of its fleet: the members and their health, the last reboot anywhere, a fleet-wide kill
/// switch; and what it tells the fleet.
public protocol Fleet: Sendable {
    /// Whether the fleet's health is published and read (so health checks run on every pass).
    var publishesHealth: Bool { get }
    /// The cluster facts; `now` is this node's clock, against which the time since the last reboot is laid. With
    /// `healthy`, this node counts as that (and as fresh, not rebooting) whatever it last published: right before
    /// its reboot command a node has announced its reboot, and decides again on the fleet as it was with itself up.
    func cluster(node: String, fallbackNodes: [String], now: Instant, healthy: Bool?) async throws(LockUnavailable) -> ClusterFacts
    /// Whether a fleet-wide kill switch is set; `nil` when the fleet has none.
    func killSwitch() async throws(LockUnavailable) -> Bool?
    /// Publishes this node's report (and keeps publishing it on the reporter's timer).
    func publish(_ report: MemberReport) async throws(LockUnavailable)
    /// Records a reboot for the cooldown.
    func recordReboot(at: Instant) async throws(LockUnavailable)
    /// Notes a reboot in the fleet's history (`rc fleet history`): when it began, and once it is over, how it ended.
    /// Best effort: a history that cannot be written is logged, never a reason not to reboot.
    func history(_ entry: RebootHistoryEntry) async
    /// How old, in milliseconds, the cluster facts may be when the reboot command acts on them: a pass that stalled
    /// longer between reading the fleet and the command (a stopped process, a slow etcd) reads it again.
    var factsMaxAge: Int64 { get }
}

/// One reboot in the fleet's history.
public struct RebootHistoryEntry: Codable, Sendable, Equatable {
    public var node: String
    /// RFC 3339, on the node's clock, when the reboot command began.
    public var started: String
    public var finished: String?
    /// Milliseconds from the command to the node being back (its post-boot gate passed).
    public var duration: Int64?
    /// `rebooting`, `rebooted`, `failed` (the reboot command failed) or `did not happen` (the boot id never changed).
    public var outcome: String

    public init(node: String, started: String, finished: String? = nil, duration: Int64? = nil, outcome: String) {
        (self.node, self.started, self.finished, self.duration, self.outcome) = (node, started, finished, duration, outcome)
    }
}

extension Fleet {
    /// The cluster facts, with this node as it last published.
    public func cluster(node: String, fallbackNodes: [String], now: Instant) async throws(LockUnavailable) -> ClusterFacts {
        try await cluster(node: node, fallbackNodes: fallbackNodes, now: now, healthy: nil)
    }
}

/// A single host: the cluster is this node, the last reboot is in the state directory.
public struct LocalFleet: Fleet {
    let state: StateStore

    /// The fleet of one host.
    public init(state: StateStore) {
        self.state = state
    }

    public var publishesHealth: Bool { false }

    /// The cluster of one host does not change behind its back.
    public var factsMaxAge: Int64 { .max }

    public func cluster(node: String, fallbackNodes: [String], now: Instant, healthy: Bool?) async throws(LockUnavailable) -> ClusterFacts {
        ClusterFacts(size: 1, healthy: 1, fallbackHealthy: fallbackNodes.contains(node) ? 1 : 0, lastReboot: state.lastReboot())
    }

    public func killSwitch() async throws(LockUnavailable) -> Bool? { nil }

    public func publish(_ report: MemberReport) async throws(LockUnavailable) {}

    /// A single host keeps no fleet history (its decision log has its reboots).
    public func history(_ entry: RebootHistoryEntry) async {}

    public func recordReboot(at: Instant) async throws(LockUnavailable) {
        do {
            try state.saveLastReboot(at)
        } catch {
            throw LockUnavailable("cannot record the reboot: \(error)")
        }
    }
}
