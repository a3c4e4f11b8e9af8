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
    /// The lease of this node's place in the queue of waiters, while it waits.
    private var waiterLease: Int64?
    private var waiterLeaseRefreshed: Int64 = 0
    /// The create revision of this node's key in the queue of waiters: its place in line.
    private var waiterPlace: Int64?
    /// What the last look at the queue saw when this node's turn came (the number of holders and the revision), so
    /// that the next attempt takes the slot without reading the holders again. The transaction still compares the
    /// revision, so a stale look costs a second attempt, never a second holder.
    private var turn: (holders: Int, revision: Int64, at: Int64)?

    /// A semaphore with the policy's settings.
    public init(client: EtcdClient, spec: EtcdLockSpec, logger: Logger) {
        self.client = client
        self.spec = spec
        self.logger = logger
    }

    var holdersPrefix: String { "\(spec.prefix)/locks/\(spec.group)/holders/" }
    var waitersPrefix: String { "\(spec.prefix)/locks/\(spec.group)/waiters/" }
    func waiterKey(_ node: String) -> String { waitersPrefix + node }
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
        let list = holders.map(\.0.lockHolder)
        return LockFacts(
            held: holders.contains { $0.0.node == node }, available: holders.count < spec.slots, slots: Int64(spec.slots), holders: list)
    }

    public func acquire(_ holder: HolderInfo) async throws(LockUnavailable) -> Bool {
        try await tryAcquire(holder).won
    }

    /// Transactions one call of `tryAcquire` tries when other nodes take slots at the same moment. Few on purpose:
    /// when many nodes race, the losers go to the queue of waiters (`waitTurn`), which lets them through in order,
    /// instead of racing again; every round of a race costs each racer a read and a transaction.
    static let attempts = 2

    /// Takes a slot if one is free; on failure also returns the revision the holders were read at, to watch from.
    public func tryAcquire(_ holder: HolderInfo) async throws(LockUnavailable) -> (won: Bool, revision: Int64) {
        let own = key(holder.node)
        let value = (try? JSONEncoder().encode(holder)) ?? Data()
        var lastRevision: Int64 = 0
        var seen = turn.flatMap { monotonicMilliseconds() - $0.at < 1000 ? ($0.holders, $0.revision) : nil }
        turn = nil
        for _ in 0..<Self.attempts {
            let count: Int
            let revision: Int64
            if let (holders, at) = seen {
                (count, revision) = (holders, at)
                seen = nil
            } else {
                let (current, at) = try await holders()
                if current.contains(where: { $0.0.node == holder.node }) {
                    // Idempotent: this node already holds a slot (a restart under the lock).
                    return (true, at)
                }
                (count, revision) = (current.count, at)
            }
            lastRevision = revision
            guard count < spec.slots else { return (false, revision) }
            do {
                let lease = try await leaseForSlot()
                let compare = [
                    EtcdCompare(key: holdersPrefix, rangeEnd: EtcdClient.prefixEnd(holdersPrefix), target: .mod, result: .less, number: revision + 1),
                    EtcdCompare(key: own, target: .create, result: .equal, number: 0),
                ]
                let won: Bool
                do {
                    won = try await client.txn(compare, success: [.put(key: own, value: value, lease: lease), .delete(key: waiterKey(holder.node))])
                } catch .server(_, _, let message) where message.contains("lease not found") {
                    // The lease ran out while this node waited: take a new one and count again.
                    if self.lease == lease { self.lease = nil } else { (waiterLease, waiterPlace) = (nil, nil) }
                    continue
                }
                if won {
                    if self.lease == nil {
                        // The lease of the node's place in line is now the slot's.
                        self.lease = lease
                        waiterLease = nil
                        waiterPlace = nil
                    }
                    startKeepAlive()
                    return (true, revision)
                }
            } catch {
                throw Self.unavailable(error)
            }
            // Another node changed the holders between the count and the transaction (or this node holds a slot
            // already): count again.
        }
        return (false, lastRevision)
    }

    /// Waits in line for a slot, at most `milliseconds`: this node's place is a key under `waiters/` (created once,
    /// so its create revision orders the queue). It returns when the node is among the first `free slots` waiters;
    /// meanwhile it watches only the waiter ahead of it (or, near the front, the holders), so a release wakes one
    /// node instead of every waiting one. Each look at the queue is one read of counts and single keys, whatever
    /// the length of the queue.
    public func waitTurn(node: String, milliseconds: Int64) async {
        let deadline = monotonicMilliseconds() + milliseconds
        let ttl = max(2, spec.ttl / 1000)
        let mine = waiterKey(node)
        while true {
            let now = monotonicMilliseconds()
            guard now < deadline else { return }
            do {
                if let id = waiterLease, now - waiterLeaseRefreshed > ttl * 1000 / 3 {
                    if try await client.keepAlive(id) <= 0 { waiterLease = nil }
                    waiterLeaseRefreshed = now
                }
                guard let place = waiterPlace, let lease = waiterLease else {
                    // Not in line yet, or in line under a lease this process does not keep (a restart): take a
                    // place. A put keeps the key's create revision, so a node already in line keeps its place.
                    if waiterLease == nil {
                        waiterLease = try await client.grant(ttl: ttl)
                        waiterLeaseRefreshed = now
                    }
                    try await client.put(mine, Data(node.utf8), lease: waiterLease)
                    waiterPlace = try await client.range(mine).kvs.first?.createRevision
                    continue
                }
                let look = try await client.read([
                    EtcdRange(holdersPrefix, prefix: true, countOnly: true),
                    EtcdRange(key(node), keysOnly: true),
                    EtcdRange(mine, keysOnly: true),
                    // The first `slots` waiters ahead (enough to tell the front from the rest), and the one just ahead.
                    EtcdRange(waitersPrefix, prefix: true, keysOnly: true, order: .oldestFirst, limit: Int64(spec.slots), maxCreateRevision: place - 1),
                    EtcdRange(waitersPrefix, prefix: true, keysOnly: true, order: .newestFirst, limit: 1, maxCreateRevision: place - 1),
                ])
                let revision = look.revision
                let holders = Int(look.results[0].count)
                let holding = !look.results[1].kvs.isEmpty
                guard let own = look.results[2].kvs.first, own.createRevision == place, own.lease == lease else {
                    // The place was lost (its lease ran out): queue again.
                    waiterPlace = nil
                    continue
                }
                let position = look.results[3].kvs.count  // exact below `slots`, else at least `slots`
                if position < spec.slots - holders {
                    if !holding { turn = (holders, revision, monotonicMilliseconds()) }
                    return
                }
                if position < spec.slots {
                    // Among the first `slots` in line: wait for a holder to leave. The events say how many hold a
                    // slot now, so the node whose turn it is goes straight to the transaction.
                    guard let events = try await client.waitForChange(prefix: holdersPrefix, after: revision, milliseconds: deadline - now),
                        let last = events.last
                    else { continue }
                    var count = holders
                    for event in events where event.isDelete || event.kv.createRevision == event.kv.modRevision {
                        count += event.isDelete ? -1 : 1
                    }
                    if position < spec.slots - count, !events.contains(where: { $0.kv.key == key(node) }) {
                        turn = (count, last.kv.modRevision, monotonicMilliseconds())
                        return
                    }
                } else if let ahead = look.results[4].kvs.first {
                    _ = try await client.waitForChange(key: ahead.key, after: revision, milliseconds: deadline - now)
                }
            } catch {
                try? await Task.sleep(for: .milliseconds(min(1000, max(0, deadline - now))))
                return
            }
        }
    }

    /// Leaves the queue of waiters (the node no longer waits for a slot).
    public func leaveQueue(node: String) async {
        guard let id = waiterLease else { return }
        waiterLease = nil
        waiterPlace = nil
        _ = try? await client.delete(waiterKey(node))
        try? await client.revoke(id)
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

    /// The lease for the slot: the node's own, else the lease of its place in line (already granted and kept
    /// alive, which keeps a grant off the hand-off), else a new one.
    private func leaseForSlot() async throws(EtcdError) -> Int64 {
        // A lease that expired meanwhile makes the put fail with "lease not found", and a new one is taken then.
        if let lease { return lease }
        if let waiterLease { return waiterLease }
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
