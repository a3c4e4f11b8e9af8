import Evaluator
import Foundation
import Logging
import PolicyLang

/// What a node knows of its fleet: the published cluster state, the last reboot anywhere, a fleet-wide kill
/// switch; and what it tells the fleet.
public protocol Fleet: Sendable {
    /// Whether the fleet's health is published and read (so health checks run on every pass).
    var publishesHealth: Bool { get }
    /// The cluster facts.
    func cluster(node: String, fallbackNodes: [String]) async throws(LockUnavailable) -> ClusterFacts
    /// Whether a fleet-wide kill switch is set; `nil` when the fleet has none.
    func killSwitch() async throws(LockUnavailable) -> Bool?
    /// Publishes this node's health.
    func publish(node: String, healthy: Bool, at: Instant) async throws(LockUnavailable)
    /// Records a reboot for the cooldown.
    func recordReboot(at: Instant) async throws(LockUnavailable)
}

/// A single host: the cluster is this node, the last reboot is in the state directory.
public struct LocalFleet: Fleet {
    let state: StateStore

    /// The fleet of one host.
    public init(state: StateStore) {
        self.state = state
    }

    public var publishesHealth: Bool { false }

    public func cluster(node: String, fallbackNodes: [String]) async throws(LockUnavailable) -> ClusterFacts {
        ClusterFacts(size: 1, healthy: 1, fallbackHealthy: fallbackNodes.contains(node) ? 1 : 0, lastReboot: state.lastReboot())
    }

    public func killSwitch() async throws(LockUnavailable) -> Bool? { nil }

    public func publish(node: String, healthy: Bool, at: Instant) async throws(LockUnavailable) {}

    public func recordReboot(at: Instant) async throws(LockUnavailable) {
        do {
            try state.saveLastReboot(at)
        } catch {
            throw LockUnavailable("cannot record the reboot: \(error)")
        }
    }
}

/// The fleet on etcd: every node publishes `{healthy, checked_at, version}` under `<prefix>/nodes/<node>` with a
/// lease of three publish intervals (so a node that stops publishing drops out), the cooldown reads and writes
/// `<prefix>/last_reboot`, and `<prefix>/kill_switch` (or the policy's key) stops every node.
public actor EtcdFleet: Fleet {
    let client: EtcdClient
    let prefix: String
    let publishInterval: Int64
    let killSwitchKey: String?
    private var lease: Int64?

    /// The fleet of a policy's `lock etcd` and `kill_switch etcd`.
    public init(client: EtcdClient, policy: CheckedPolicy, spec: EtcdLockSpec) {
        self.client = client
        prefix = spec.prefix
        publishInterval = policy.cluster.publishInterval
        killSwitchKey = policy.killSwitches.compactMap { if case .etcd(let key) = $0 { key ?? policy.defaultKillSwitchKey } else { nil } }.first
    }

    public nonisolated var publishesHealth: Bool { true }

    struct NodeState: Codable {
        var healthy: Bool
        var checkedAt: String
        var version: String

        enum CodingKeys: String, CodingKey {
            case healthy, version
            case checkedAt = "checked_at"
        }
    }

    public func cluster(node: String, fallbackNodes: [String]) async throws(LockUnavailable) -> ClusterFacts {
        do {
            let (kvs, _) = try await client.range(prefix + "/nodes/", prefix: true)
            var size: Int64 = 0
            var healthy: Int64 = 0
            var fallback: Int64 = 0
            for kv in kvs {
                size += 1
                let name = String(kv.key.dropFirst((prefix + "/nodes/").count))
                if let state = try? JSONDecoder().decode(NodeState.self, from: kv.value), state.healthy {
                    healthy += 1
                    if fallbackNodes.contains(name) { fallback += 1 }
                }
            }
            let last = try await client.range(prefix + "/last_reboot").kvs.first.flatMap { kv -> Instant? in
                if case .success(let i) = Instant.parse(String(decoding: kv.value, as: UTF8.self)) { return i }
                return nil
            }
            return ClusterFacts(size: size, healthy: healthy, fallbackHealthy: fallback, lastReboot: last)
        } catch {
            throw LockUnavailable(error.description)
        }
    }

    public func killSwitch() async throws(LockUnavailable) -> Bool? {
        guard let key = killSwitchKey else { return nil }
        do {
            return try await !client.range(key).kvs.isEmpty
        } catch {
            throw LockUnavailable(error.description)
        }
    }

    public func publish(node: String, healthy: Bool, at: Instant) async throws(LockUnavailable) {
        let value = (try? JSONEncoder().encode(NodeState(healthy: healthy, checkedAt: at.description, version: rcVersion))) ?? Data()
        do {
            var alive: Int64 = 0
            if let lease { alive = try await client.keepAlive(lease) }
            if alive <= 0 { lease = try await client.grant(ttl: max(3, publishInterval * 3 / 1000)) }
            try await client.put(prefix + "/nodes/" + node, value, lease: lease)
        } catch {
            throw LockUnavailable(error.description)
        }
    }

    public func recordReboot(at: Instant) async throws(LockUnavailable) {
        do {
            try await client.put(prefix + "/last_reboot", Data(at.description.utf8))
        } catch {
            throw LockUnavailable(error.description)
        }
    }
}

/// The version of rc: printed by `rc version` and published with each node's state.
public let rcVersion = "0.1.0"
