import Evaluator
import Foundation
import Logging
import PolicyLang

/// `lock etcd`: a semaphore of `slots` holders under `<prefix>/locks/<group>/holders/<node>`. A holder also owns
/// one of the slot keys `<prefix>/locks/<group>/slots/0` … `slots-1` (value: its node name); both keys are made
/// in one transaction that requires the slot key not to exist, are bound to the same lease (the policy's `ttl`,
/// kept alive by the holder) and go together. So even with every node racing there are never more than `slots`
/// holders, and nodes that take different slots at the same moment do not get in each other's way.
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
    /// The index of the slot this node holds, when this process took it.
    private var slot: Int?
    /// What the last look at the queue saw when this node's turn came (the free slots and this node's place among
    /// the waiters allowed through), so that the next attempt takes a slot without reading again. The transaction
    /// still requires the slot key not to exist, so a stale look costs a second attempt, never a second holder.
    private var turn: (free: [Int], position: Int, at: Int64)?

    /// A semaphore with the policy's settings.
    public init(client: EtcdClient, spec: EtcdLockSpec, logger: Logger) {
        self.client = client
        self.spec = spec
        self.logger = logger
    }

    var holdersPrefix: String { "\(spec.prefix)/locks/\(spec.group)/holders/" }
    var waitersPrefix: String { "\(spec.prefix)/locks/\(spec.group)/waiters/" }
    var slotsPrefix: String { "\(spec.prefix)/locks/\(spec.group)/slots/" }
    func slotKey(_ index: Int) -> String { slotsPrefix + String(index) }
    /// The slot indexes taken among `kvs` of the slots range, with the node holding each.
    func taken(_ kvs: [EtcdKeyValue]) -> [Int: EtcdKeyValue] {
        Dictionary(kvs.compactMap { kv in Int(kv.key.dropFirst(slotsPrefix.count)).map { ($0, kv) } }, uniquingKeysWith: { a, _ in a })
    }
    /// The free slots out of `slots`, given the taken ones and the number of holders (holders beyond `slots`,
    /// after the policy lowered it, leave no slot free until they are gone).
    static func free(slots: Int, taken: Set<Int>, holders: Int) -> [Int] {
        let free = (0..<slots).filter { !taken.contains($0) }
        return Array(free.prefix(max(0, slots - max(holders, taken.count))))
    }
    func waiterKey(_ node: String) -> String { waitersPrefix + node }
    /// The number of slots.
    public nonisolated var slots: Int? { spec.slots }
    func key(_ node: String) -> String { holdersPrefix + node }

    static func unavailable(_ error: EtcdError) -> LockUnavailable { LockUnavailable(error.description) }

    /// The holders with their metadata and the store revision they were read at.
    public func holders() async throws(LockUnavailable) -> (holders: [(HolderInfo, EtcdKeyValue)], revision: Int64) {
        do {
            let (kvs, revision) = try await client.range(holdersPrefix, prefix: true)
            return (holderInfos(kvs), revision)
        } catch {
            throw Self.unavailable(error)
        }
    }

    /// The holders of the holder keys `kvs` (a value that does not decode still names its node).
    func holderInfos(_ kvs: [EtcdKeyValue]) -> [(HolderInfo, EtcdKeyValue)] {
        kvs.map { kv in
            let info = (try? JSONDecoder().decode(HolderInfo.self, from: kv.value))
                ?? HolderInfo(node: String(kv.key.dropFirst(holdersPrefix.count)), pid: 0, acquiredAt: "", phase: "")
            return (info, kv)
        }
    }

    /// The nodes waiting in line for a slot, first in line first, with the lease of each place.
    public func queue() async throws(LockUnavailable) -> [(node: String, lease: Int64)] {
        do {
            return waiters(try await client.read([EtcdRange(waitersPrefix, prefix: true, order: .oldestFirst)]).results[0].kvs)
        } catch {
            throw Self.unavailable(error)
        }
    }

    /// The nodes of the waiter keys `kvs`, with the lease of each place.
    func waiters(_ kvs: [EtcdKeyValue]) -> [(node: String, lease: Int64)] { kvs.map { (String($0.key.dropFirst(waitersPrefix.count)), $0.lease) } }

    public func status(node: String) async throws(LockUnavailable) -> LockFacts {
        // One read: the holders, and the first ten in line (keys only, however long the line) with how many wait.
        let read: [(kvs: [EtcdKeyValue], count: Int64)]
        do {
            read = try await client.read([
                EtcdRange(holdersPrefix, prefix: true), EtcdRange(waitersPrefix, prefix: true, keysOnly: true, order: .oldestFirst, limit: 10),
            ]).results
        } catch {
            throw Self.unavailable(error)
        }
        let holders = holderInfos(read[0].kvs).map(\.0)
        return LockFacts(
            held: holders.contains { $0.node == node }, available: holders.count < spec.slots, slots: Int64(spec.slots),
            holders: holders.map(\.lockHolder), waiting: waiters(read[1].kvs).map(\.node), waitingCount: read[1].count)
    }

    /// Transactions one call of `acquire` tries when other nodes take slots at the same moment. Few on purpose:
    /// when many nodes race, the losers go to the queue of waiters (`waitTurn`), which lets them through in order,
    /// instead of racing again; every round of a race costs each racer a read and a transaction.
    static let attempts = 2

    /// Takes a slot if one is free.
    public func acquire(_ holder: HolderInfo) async throws(LockUnavailable) -> Bool {
        let own = key(holder.node)
        let value = (try? JSONEncoder().encode(holder)) ?? Data()
        var seen = turn.flatMap { monotonicMilliseconds() - $0.at < 1000 ? $0 : nil }
        turn = nil
        for _ in 0..<Self.attempts {
            let free: [Int]
            var position: Int?
            if let look = seen {
                (free, position) = (look.free, look.position)
                seen = nil
            } else {
                do {
                    let read = try await client.read([
                        EtcdRange(slotsPrefix, prefix: true), EtcdRange(own, keysOnly: true), EtcdRange(holdersPrefix, prefix: true, countOnly: true),
                    ])
                    let slots = taken(read.results[0].kvs)
                    if !read.results[1].kvs.isEmpty {
                        // Idempotent: this node already holds a slot (a restart under the lock).
                        slot = slots.first { String(decoding: $0.value.value, as: UTF8.self) == holder.node }?.key
                        return true
                    }
                    free = Self.free(slots: spec.slots, taken: Set(slots.keys), holders: Int(read.results[2].count))
                } catch {
                    throw Self.unavailable(error)
                }
            }
            guard !free.isEmpty else { return false }
            // A node let through by the queue takes the free slot of its place among those let through, so that
            // they do not race for the same one; a node that did not queue picks one at random.
            let index = position.map { free[min($0, free.count - 1)] } ?? free.randomElement()!
            do {
                let lease = try await leaseForSlot()
                let compare = [
                    EtcdCompare(key: slotKey(index), target: .create, result: .equal, number: 0),
                    EtcdCompare(key: own, target: .create, result: .equal, number: 0),
                ]
                let won: Bool
                do {
                    won = try await client.txn(
                        compare,
                        success: [
                            .put(key: slotKey(index), value: Data(holder.node.utf8), lease: lease), .put(key: own, value: value, lease: lease),
                            .delete(key: waiterKey(holder.node)),
                        ])
                } catch .server(_, _, let message) where message.contains("lease not found") {
                    // The lease ran out while this node waited: take a new one and look again.
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
                    slot = index
                    startKeepAlive()
                    return true
                }
            } catch {
                throw Self.unavailable(error)
            }
            // Another node took that slot first (or this node holds one already): look again.
        }
        return false
    }

    /// Waits in line for a slot, at most `milliseconds`: this node's place is a key under `waiters/` (created once,
    /// so its create revision orders the queue). It returns when the node is among the first `free slots` waiters;
    /// meanwhile it watches only the waiter `slots` places ahead of it (or, at the front, the slot keys), so a
    /// release wakes a few nodes instead of every waiting one. Each look at the queue is one read of counts and
    /// single keys, whatever the length of the queue.
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
                        if let unused = lease, slot == nil {
                            // The lease granted for a slot this node then lost to another: nothing is bound to it yet.
                            waiterLease = unused
                            lease = nil
                        } else {
                            waiterLease = try await client.grant(ttl: ttl)
                        }
                        waiterLeaseRefreshed = now
                    }
                    waiterPlace = try await client.put(mine, Data(node.utf8), lease: waiterLease)
                    continue
                }
                // Each wait below ends in time to keep the place's lease alive (the wait is usually the daemon's
                // whole check interval, longer than the lease).
                let wake = min(deadline, waiterLeaseRefreshed + ttl * 1000 / 3)
                let look = try await client.read([
                    EtcdRange(holdersPrefix, prefix: true, countOnly: true),
                    EtcdRange(key(node), keysOnly: true),
                    EtcdRange(mine, keysOnly: true),
                    // The first `slots` waiters ahead (enough to tell the front from the rest), and the last `slots`
                    // ahead (the oldest of them is the one this node follows when it is not at the front).
                    EtcdRange(waitersPrefix, prefix: true, keysOnly: true, order: .oldestFirst, limit: Int64(spec.slots), maxCreateRevision: place - 1),
                    EtcdRange(waitersPrefix, prefix: true, keysOnly: true, order: .newestFirst, limit: Int64(spec.slots), maxCreateRevision: place - 1),
                    EtcdRange(slotsPrefix, prefix: true, keysOnly: true),
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
                let before = Set(taken(look.results[5].kvs).keys)
                let free = Self.free(slots: spec.slots, taken: before, holders: holders)
                if position < free.count {
                    if !holding { turn = (free, position, monotonicMilliseconds()) }
                    return
                }
                if position < spec.slots {
                    // Among the first `slots` in line: follow the slot keys until enough are free for this node's
                    // place, without looking again at each change. The watch begins now, not at the look: etcd
                    // would hand a watch that begins in the past its first events up to 100 ms late, on the path
                    // of the hand-off; if anything changed since the look, this node looks again instead. A new
                    // slot key is taken to be a waiter ahead moving out of the line (its place and a free slot
                    // both go); if it was a node that skipped the line, the transaction finds out.
                    let (slots, prefix) = (spec.slots, slotsPrefix)
                    let sees: @Sendable ([EtcdEvent]) -> (free: [Int], position: Int) = { events in
                        var taken = before
                        var moved = 0
                        for event in events {
                            guard let index = Int(event.kv.key.dropFirst(prefix.count)) else { continue }
                            if event.isDelete {
                                taken.remove(index)
                            } else if event.kv.createRevision == event.kv.modRevision {
                                taken.insert(index)
                                moved += 1
                            }
                        }
                        let free = Self.free(slots: slots, taken: taken, holders: holders + taken.count - before.count)
                        return (free, max(0, position - moved))
                    }
                    guard
                        let events = try await client.waitForChange(
                            prefix: slotsPrefix, after: revision, start: .current, milliseconds: wake - now,
                            until: { let (free, position) = sees($0); return position < free.count }),
                        !events.isEmpty, !holding
                    else { continue }
                    let (free, place) = sees(events)
                    turn = (free, place, monotonicMilliseconds())
                    return
                } else if let ahead = look.results[4].kvs.last {
                    // Behind the front: follow the waiter `slots` places ahead. When it leaves the line, the ones
                    // before it have (the line is kept in order), so this node is at the front then; when several
                    // slots free at once, the next `slots` waiters move up together instead of one after another.
                    _ = try await client.waitForChange(key: ahead.key, after: revision, milliseconds: wake - now)
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
        do {
            if let lease, slot != nil {
                // This process took the slot: its lease holds the holder key and the slot key and nothing else, so
                // revoking it deletes both in one write (a transaction and a revoke would be two on the hand-off).
                try await client.revoke(lease)
            } else {
                // After the reboot or from `rc lock release`: the keys go in one transaction, found by reading,
                // and then their leases, off the waiting nodes' path.
                var leases: Set<Int64> = []
                let held = try await slotHeld(by: node)
                if let index = held.index {
                    leases.insert(held.lease)
                    _ = try await client.txn([], success: [.delete(key: key(node)), .delete(key: slotKey(index))])
                } else if let kv = try await client.delete(key(node)) {
                    leases.insert(kv.lease)
                }
                let client = self.client
                Task { for id in leases where id != 0 { try? await client.revoke(id) } }
            }
        } catch {
            throw Self.unavailable(error)
        }
        lease = nil
        slot = nil
    }

    /// The slot `node` holds and that key's lease (0 when this process took it and knows its lease).
    private func slotHeld(by node: String) async throws(EtcdError) -> (index: Int?, lease: Int64) {
        if let slot { return (slot, 0) }
        let held = taken(try await client.range(slotsPrefix, prefix: true).kvs).first { String(decoding: $0.value.value, as: UTF8.self) == node }
        return (held?.key, held?.value.lease ?? 0)
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
            var moves: [EtcdOperation] = [.put(key: key(node), value: (try? JSONEncoder().encode(info)) ?? Data(), lease: rebootLease)]
            if let index = try await slotHeld(by: node).index { moves.append(.put(key: slotKey(index), value: Data(node.utf8), lease: rebootLease)) }
            _ = try await client.txn([EtcdCompare(key: key(node), target: .create, result: .equal, number: kv.createRevision)], success: moves)
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
                    let left = try await client.keepAlive(lease)
                    // A release (which revokes the lease) or a shutdown may have come meanwhile.
                    if Task.isCancelled || client.isShutDown { break }
                    if left <= 0 {
                        logger.error("the lease of the lock slot expired")
                        break
                    }
                } catch {
                    if Task.isCancelled || client.isShutDown { break }
                    logger.warning("cannot refresh the lock lease: \(error)")
                }
            }
        }
    }
}
