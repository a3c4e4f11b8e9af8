import Evaluator
import Foundation
import Logging
import PolicyLang

/// `lock etcd`: a semaphore of `slots` holders under `<prefix>/locks/<group>/holders/<node>`, each key bound to a
/// lease of the policy's `ttl` that the holder keeps alive. Taking a slot is one transaction that succeeds only if
/// no holder key changed since the holders were counted, so even with every node racing there are never more
/// than `slots` holders.
public actor EtcdLock: LockBackend {
    public let client: EtcdClient
    let spec: EtcdLockSpec
    let logger: Logger
    private var lease: Int64?
    private var keepAlive: Task<Void, Never>?

    /// A semaphore with the policy's settings.
    public init(client: EtcdClient, spec: EtcdLockSpec, logger: Logger) {
        self.client = client
        self.spec = spec
        self.logger = logger
    }

    var holdersPrefix: String { "\(spec.prefix)/locks/\(spec.group)/holders/" }
    /// The number of slots.
    public nonisolated var slots: Int? { spec.slots }
    func key(_ node: String) -> String { holdersPrefix + node }

    static func unavailable(_ error: EtcdError) -> LockUnavailable { LockUnavailable(error.description) }

    /// The holders with their metadata and the store revision they were read at.
    public func holders() async throws(LockUnavailable) -> (holders: [(HolderInfo, EtcdKeyValue)], revision: Int64) {
        do {
            let (kvs, revision) = try await client.range(holdersPrefix, prefix: true)
            let holders = kvs.map { kv in
                let info = (try? JSONDecoder().decode(HolderInfo.self, from: kv.value))
                    ?? HolderInfo(node: String(kv.key.dropFirst(holdersPrefix.count)), pid: 0, acquiredAt: "", phase: "")
                return (info, kv)
            }
            return (holders, revision)
        } catch {
            throw Self.unavailable(error)
        }
    }

    public func status(node: String) async throws(LockUnavailable) -> LockFacts {
        let (holders, _) = try await holders()
        let list = holders.map { info, _ in
            LockHolder(node: info.node, pid: info.pid == 0 ? nil : Int(info.pid), since: { if case .success(let i) = Instant.parse(info.acquiredAt) { i } else { nil } }())
        }
        return LockFacts(
            held: holders.contains { $0.0.node == node }, available: holders.count < spec.slots, slots: Int64(spec.slots), holders: list)
    }

    public func acquire(_ holder: HolderInfo) async throws(LockUnavailable) -> Bool {
        try await tryAcquire(holder).won
    }

    /// Takes a slot if one is free; on failure also returns the revision the holders were read at, to watch from.
    public func tryAcquire(_ holder: HolderInfo) async throws(LockUnavailable) -> (won: Bool, revision: Int64) {
        let own = key(holder.node)
        let value = (try? JSONEncoder().encode(holder)) ?? Data()
        var lastRevision: Int64 = 0
        for _ in 0..<8 {
            let (current, revision) = try await holders()
            lastRevision = revision
            if current.contains(where: { $0.0.node == holder.node }) {
                // Idempotent: this node already holds a slot (a restart under the lock).
                return (true, revision)
            }
            guard current.count < spec.slots else { return (false, revision) }
            do {
                let lease = try await ensureLease()
                let compare = [
                    EtcdCompare(key: holdersPrefix, rangeEnd: EtcdClient.prefixEnd(holdersPrefix), target: .mod, result: .less, number: revision + 1),
                    EtcdCompare(key: own, target: .create, result: .equal, number: 0),
                ]
                let won: Bool
                do {
                    won = try await client.txn(compare, success: [.put(key: own, value: value, lease: lease)])
                } catch .server(_, _, let message) where message.contains("lease not found") {
                    // The lease ran out while this node waited: take a new one and count again.
                    self.lease = nil
                    continue
                }
                if won {
                    startKeepAlive()
                    return (true, revision)
                }
            } catch {
                throw Self.unavailable(error)
            }
            // Another node changed the holders between the count and the transaction: count again.
        }
        return (false, lastRevision)
    }

    /// Waits until the holders change (a slot may have freed) or `seconds` pass.
    public func waitForHolders(after revision: Int64, seconds: Int64) async {
        _ = try? await client.waitForChange(prefix: holdersPrefix, after: revision, seconds: seconds)
    }

    public func release(node: String) async throws(LockUnavailable) {
        keepAlive?.cancel()
        keepAlive = nil
        let previous: EtcdKeyValue?
        do {
            // Deleting the key frees the slot; the leases go afterwards, off the waiting nodes' path.
            previous = try await client.delete(key(node))
        } catch {
            throw Self.unavailable(error)
        }
        let leases = Set([previous?.lease ?? 0, lease ?? 0].filter { $0 != 0 })
        lease = nil
        let client = self.client
        Task { for id in leases { try? await client.revoke(id) } }
    }

    /// Before the reboot: the slot moves to a lease of `max_reboot_duration`, which nobody keeps alive, so a node
    /// that never comes back frees its slot when it expires.
    public func prepareForReboot(node: String) async throws(LockUnavailable) {
        keepAlive?.cancel()
        keepAlive = nil
        let kvs: [EtcdKeyValue]
        do {
            kvs = try await client.range(key(node)).kvs
        } catch {
            throw Self.unavailable(error)
        }
        guard let kv = kvs.first else { throw LockUnavailable("this node holds no slot to keep across the reboot") }
        var info = (try? JSONDecoder().decode(HolderInfo.self, from: kv.value)) ?? HolderInfo(node: node, pid: 0, acquiredAt: "", phase: "")
        info.phase = "rebooting"
        do {
            let rebootLease = try await client.grant(ttl: max(1, spec.maxRebootDuration / 1000))
            _ = try await client.txn(
                [EtcdCompare(key: key(node), target: .create, result: .equal, number: kv.createRevision)],
                success: [.put(key: key(node), value: (try? JSONEncoder().encode(info)) ?? Data(), lease: rebootLease)])
            if let lease { try await client.revoke(lease) }
            lease = nil
        } catch {
            throw Self.unavailable(error)
        }
    }

    private func ensureLease() async throws(EtcdError) -> Int64 {
        // A lease that expired meanwhile makes the put fail with "lease not found", and a new one is taken then.
        if let lease { return lease }
        let fresh = try await client.grant(ttl: max(1, spec.ttl / 1000))
        lease = fresh
        return fresh
    }

    /// Keeps the holder's lease alive (every third of the TTL) while the slot is held.
    private func startKeepAlive() {
        keepAlive?.cancel()
        guard let lease else { return }
        let client = self.client
        let period = max(1, spec.ttl / 3)
        let logger = self.logger
        keepAlive = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(period))
                if Task.isCancelled { break }
                do {
                    if try await client.keepAlive(lease) <= 0 {
                        logger.error("the lease of the lock slot expired")
                        break
                    }
                } catch {
                    logger.warning("cannot refresh the lock lease: \(error)")
                }
            }
        }
    }
}
