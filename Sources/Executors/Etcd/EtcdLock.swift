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
    /// This process as a holder: a slot key whose holder names another instance is never taken to be this one's.
    public nonisolated let instance: LockInstance
    /// The lease of the slot this process holds, kept alive while it holds it; nil when it holds none.
    private var session: EtcdSession?
    /// A lease granted to take a slot that another node took first: nothing is bound to it yet. Its expiry, on
    /// the monotonic clock, at the latest.
    private var spare: (lease: Int64, expires: Int64)?
    /// After `prepareForReboot`: the lease of `max_reboot_duration` that now holds this node's keys.
    private var rebootLease: Int64?
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

    /// A semaphore with the policy's settings, held as `instance`.
    public init(client: EtcdClient, spec: EtcdLockSpec, logger: Logger, instance: LockInstance = .current()) {
        self.client = client
        self.spec = spec
        self.logger = logger
        self.instance = instance
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
    static func free(slots: Int, taken: Set<Int>, holders: Int, reserved: Int = 0) -> [Int] {
        let free = (0..<slots).filter { !taken.contains($0) }
        return Array(free.prefix(max(0, slots - max(holders, taken.count) - reserved)))
    }
    func waiterKey(_ node: String) -> String { waitersPrefix + node }
    /// The number of slots.
    public nonisolated var slots: Int? { spec.slots }
    func key(_ node: String) -> String { holdersPrefix + node }

    // MARK: clusterrebootd's mutex (`legacy_mutex`)

    /// The prefix of the keys of clusterrebootd's mutex: `concurrency.Mutex` (and `etcdctl lock`) puts
    /// `<key>/<lease id in hex>`, and the key created first holds it.
    var mutexPrefix: String? { spec.legacyMutex.map { $0 + "/" } }
    /// This node's key under the mutex, on the lease that keeps its slot across the reboot.
    func mutexKey(_ lease: Int64) -> String? { mutexPrefix.map { $0 + String(UInt64(bitPattern: lease), radix: 16) } }

    /// What rc writes in its key under the mutex (clusterrebootd's own annotation, and the rc instance).
    struct MutexValue: Codable {
        var node: String?
        var pid: Int?
        var acquired_at: String?
        var rc_instance: String?
    }

    /// A key under the mutex that is not an rc node's: clusterrebootd's, or `etcdctl lock`'s.
    func isLegacy(_ kv: EtcdKeyValue) -> Bool { (try? JSONDecoder().decode(MutexValue.self, from: kv.value))?.rc_instance == nil }

    /// The holder of a key of clusterrebootd's, as the lock shows it.
    func legacyHolder(_ kv: EtcdKeyValue) -> LockHolder {
        let value = try? JSONDecoder().decode(MutexValue.self, from: kv.value)
        let since = value?.acquired_at.flatMap { if case .success(let i) = Instant.parse($0) { i } else { nil } }
        return LockHolder(node: "\(value?.node ?? "a clusterrebootd node") (clusterrebootd)", pid: value?.pid, since: since)
    }

    /// Read with the holders: the first key under the mutex (the one that holds it).
    var mutexRange: [EtcdRange] { mutexPrefix.map { [EtcdRange($0, prefix: true, order: .oldestFirst, limit: 1)] } ?? [] }
    /// The holder of the mutex when it is clusterrebootd (it takes one slot), among the keys of `mutexRange`.
    func legacyHolding(_ kvs: [EtcdKeyValue]?) -> EtcdKeyValue? { kvs?.first.flatMap { isLegacy($0) ? $0 : nil } }

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

    /// Whose a holder key of this node's name is.
    enum Claim: Equatable {
        /// This process's.
        case mine
        /// An rc process of this host's current boot: `alive` when it still runs (and is not this one).
        case thisHost(alive: Bool)
        /// Kept across a reboot of this node (phase `rebooting`), by an earlier process.
        case rebooting
        /// Another host that uses the same node name, or an earlier boot of this one.
        case otherHost
    }

    nonisolated func claim(_ info: HolderInfo) -> Claim {
        if info.instance == instance.id { return .mine }
        if info.phase == "rebooting" { return .rebooting }
        guard info.bootID == instance.bootID else { return .otherHost }
        return .thisHost(alive: info.pid != instance.pid && LockInstance.alive(info.pid))
    }

    /// What an operator is told when this node's name is held by someone else.
    nonisolated func refusal(_ info: HolderInfo) -> LockUnavailable {
        let who = "pid \(info.pid), boot id \(info.bootID.map { String($0.prefix(8)) } ?? "unknown"), instance \(info.instance.map { String($0.prefix(8)) } ?? "unknown")"
        switch claim(info) {
        case .thisHost:
            return LockUnavailable("another rc process on this host (\(who)) holds the lock slot of node \(quoteString(info.node)) since \(info.acquiredAt); this one takes no slot while it does")
        case .rebooting where info.bootID == instance.bootID:
            return LockUnavailable("the lock slot of node \(quoteString(info.node)) is kept for its reboot started at \(info.acquiredAt) (\(who)); it frees when the node is back or after max_reboot_duration")
        case .rebooting:
            return LockUnavailable("the lock slot of node \(quoteString(info.node)) is kept for a reboot started at \(info.acquiredAt) on another boot (\(who)): if that was this host, it frees when this node has run its post-boot gate or after max_reboot_duration; if another rc instance uses the node name \(quoteString(info.node)), give each host its own --node-name or RC_NODE_NAME")
        default:
            return LockUnavailable("another rc instance uses the node name \(quoteString(info.node)) (\(who)) and holds a lock slot since \(info.acquiredAt): two hosts may share this name (give each its own --node-name or RC_NODE_NAME), or this host held it before it crashed (the slot frees when its lease ends, within ttl); this one takes no slot while the other holds it")
        }
    }

    public func status(node: String) async throws(LockUnavailable) -> LockFacts {
        // One read: the holders, and the first ten in line (keys only, however long the line) with how many wait.
        let read: [(kvs: [EtcdKeyValue], count: Int64)]
        do {
            read = try await client.read(
                [
                    EtcdRange(holdersPrefix, prefix: true), EtcdRange(waitersPrefix, prefix: true, keysOnly: true, order: .oldestFirst, limit: 10),
                ] + mutexRange
            ).results
        } catch {
            throw Self.unavailable(error)
        }
        let holders = holderInfos(read[0].kvs).map(\.0)
        if let clone = holders.first(where: { $0.node == node && claim($0) == .otherHost }) {
            // Another host runs as this node: it must be told, not shown a lock held by "itself".
            throw refusal(clone)
        }
        // Held by this node: by this process, or by the rc of this host's boot (`rc status` beside the daemon); a
        // slot held under this name by another host is not this node's.
        let held = holders.contains { $0.node == node && [.mine, .thisHost(alive: true), .thisHost(alive: false)].contains(claim($0)) }
        // clusterrebootd holding its mutex takes one slot.
        let legacy = legacyHolding(read.count > 2 ? read[2].kvs : nil).map(legacyHolder)
        return LockFacts(
            held: held, available: holders.count + (legacy == nil ? 0 : 1) < spec.slots, slots: Int64(spec.slots),
            holders: holders.map(\.lockHolder) + (legacy.map { [$0] } ?? []), waiting: waiters(read[1].kvs).map(\.node), waitingCount: read[1].count)
    }

    /// Transactions one call of `acquire` tries when other nodes take slots at the same moment. Few on purpose:
    /// when many nodes race, the losers go to the queue of waiters (`waitTurn`), which lets them through in order,
    /// instead of racing again; every round of a race costs each racer a read and a transaction.
    static let attempts = 2

    /// Takes a slot if one is free. A holder key of this node's name that another live instance holds (another
    /// host of the same name, another rc process of this host, a reboot under way) is refused with an error that
    /// names it; one left by a dead rc process of this boot is deleted first.
    public func acquire(_ holder: HolderInfo) async throws(LockUnavailable) -> Bool {
        let own = key(holder.node)
        var holder = holder
        (holder.instance, holder.bootID, holder.pid) = (instance.id, instance.bootID, instance.pid)
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
                switch try await look(own, node: holder.node) {
                case .held: return true
                case .again: continue
                case .free(let slots): free = slots
                }
            }
            guard !free.isEmpty else { return false }
            // A node let through by the queue takes the free slot of its place among those let through, so that
            // they do not race for the same one; a node that did not queue picks one at random.
            let index = position.map { free[min($0, free.count - 1)] } ?? free.randomElement() ?? free[0]
            do {
                let (lease, expires) = try await leaseForSlot()
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
                } catch let error where error.isLeaseNotFound {
                    // The lease ran out while this node waited: take a new one and look again.
                    if spare?.lease == lease { spare = nil } else { (waiterLease, waiterPlace) = (nil, nil) }
                    continue
                }
                if won {
                    // The lease (a spare one, or the one of the node's place in line) is now the slot's, and the
                    // session keeps it alive.
                    if spare?.lease == lease { spare = nil } else { (waiterLease, waiterPlace) = (nil, nil) }
                    let session = EtcdSession(client: client, lease: lease, ttl: leaseSeconds, expires: expires, logger: logger)
                    await session.start()
                    self.session = session
                    slot = index
                    return true
                }
            } catch {
                throw Self.unavailable(error)
            }
            // Another node took that slot first (or this node holds one already): look again.
        }
        return false
    }

    /// What `acquire` found when it looked.
    enum Look {
        /// This process holds a slot already.
        case held
        /// Keys a dead process left were deleted: look again.
        case again
        /// The free slots.
        case free([Int])
    }

    /// One look before taking a slot: the slot keys, this node's holder key and the number of holders.
    private func look(_ own: String, node: String) async throws(LockUnavailable) -> Look {
        let read: [(kvs: [EtcdKeyValue], count: Int64)]
        do {
            read = try await client.read(
                [EtcdRange(slotsPrefix, prefix: true), EtcdRange(own), EtcdRange(holdersPrefix, prefix: true, countOnly: true)] + mutexRange
            ).results
        } catch {
            throw Self.unavailable(error)
        }
        let slots = taken(read[0].kvs)
        guard let kv = read[1].kvs.first else {
            let legacy = legacyHolding(read.count > 3 ? read[3].kvs : nil) == nil ? 0 : 1
            return .free(Self.free(slots: spec.slots, taken: Set(slots.keys), holders: Int(read[2].count), reserved: legacy))
        }
        let info = holderInfos([kv])[0].0
        switch claim(info) {
        case .mine:
            if let session, await session.isAlive { return .held }
            // This process's keys, on a lease it no longer certainly keeps: give them up and look again.
            session = nil
        case .thisHost(alive: false):
            // Left by an rc process of this boot that died: nobody acts on it any more.
            logger.notice("removing the lock slot left by pid \(info.pid) of this host (it no longer runs)")
        default:
            throw refusal(info)
        }
        do {
            try await deleteHolder(kv, slots: slots, node: node)
        } catch {
            throw Self.unavailable(error)
        }
        return .again
    }

    /// Deletes a holder key and its slot key, only as they were read (compared on their mod revisions).
    private func deleteHolder(_ kv: EtcdKeyValue, slots: [Int: EtcdKeyValue], node: String) async throws(EtcdError) {
        var compare = [EtcdCompare(key: kv.key, target: .mod, result: .equal, number: kv.modRevision)]
        var deletes: [EtcdOperation] = [.delete(key: kv.key)]
        if let (index, slotKV) = slots.first(where: { String(decoding: $0.value.value, as: UTF8.self) == node && $0.value.lease == kv.lease }) {
            compare.append(EtcdCompare(key: slotKey(index), target: .mod, result: .equal, number: slotKV.modRevision))
            deletes.append(.delete(key: slotKey(index)))
        }
        if try await client.txn(compare, success: deletes), kv.lease != 0 {
            // Whatever else is on that lease was this holder's too.
            try await client.revoke(kv.lease)
        }
    }

    /// Runs `body`, turning etcd's errors into the lock's.
    private func lockErrors<T>(_ body: () async throws -> T) async throws(LockUnavailable) -> T {
        do {
            return try await body()
        } catch let error as LockUnavailable {
            throw error
        } catch let error as EtcdError {
            throw Self.unavailable(error)
        } catch {
            throw LockUnavailable("\(error)")
        }
    }

    /// Seconds of the lease of a slot or a place in line.
    var leaseSeconds: Int64 { max(2, spec.ttl / 1000) }

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
                        if let unused = spare {
                            // The lease granted for a slot this node then lost to another: nothing is bound to it yet.
                            waiterLease = unused.lease
                            waiterLeaseRefreshed = unused.expires - ttl * 1000
                            spare = nil
                        } else {
                            waiterLease = try await client.grant(ttl: ttl)
                            waiterLeaseRefreshed = now
                        }
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
        try await release(node: node) { [self] info in
            [.mine, .thisHost(alive: false)].contains(claim(info))
        }
    }

    public func releaseAfterReboot(node: String, bootID: String) async throws(LockUnavailable) {
        try await release(node: node) { [self] info in
            info.bootID == bootID || [.mine, .thisHost(alive: false)].contains(claim(info))
        }
    }

    /// `rc lock release --node`: frees the slot of `node` whoever holds it.
    public func forceRelease(node: String) async throws(LockUnavailable) {
        try await release(node: node) { _ in true }
    }

    /// Gives back the slot of `node` when `owned` says its holder key is this caller's to free.
    private func release(node: String, owned: @Sendable (HolderInfo) -> Bool) async throws(LockUnavailable) {
        try await lockErrors {
            if let session {
                // This process took the slot: its lease holds the holder key and the slot key and nothing else, so
                // revoking it deletes both in one write (a transaction and a revoke would be two on the hand-off).
                self.session = nil
                slot = nil
                try await session.revoke()
                return
            }
            // After the reboot, from `rc lock release`, or for keys an earlier process left: the keys are read and
            // deleted in one transaction that compares them to what was read, so a key that changed hands
            // meanwhile (another node's, now) is never deleted; then their lease is revoked.
            for _ in 0..<3 {
                let read = try await client.read([EtcdRange(key(node)), EtcdRange(slotsPrefix, prefix: true)])
                guard let kv = read.results[0].kvs.first else {
                    rebootLease = nil
                    return
                }
                guard owned(holderInfos([kv])[0].0) else {
                    logger.notice("the lock slot of node \(quoteString(node)) is held by another rc instance; it is left alone")
                    return
                }
                let slots = taken(read.results[1].kvs)
                let mod = kv.modRevision
                try await deleteHolder(kv, slots: slots, node: node)
                let after = try await client.range(key(node)).kvs.first
                if after == nil || after?.modRevision != mod {
                    rebootLease = nil
                    return
                }
            }
            throw LockUnavailable("the lock slot of node \(quoteString(node)) kept changing while it was released")
        }
    }

    /// The keys of this node's slot as they are now: its holder key and its slot key (index and key), if any.
    private func readHeld(_ node: String) async throws(EtcdError) -> (holder: EtcdKeyValue?, slot: (index: Int, kv: EtcdKeyValue)?) {
        let read = try await client.read([EtcdRange(key(node)), EtcdRange(slotsPrefix, prefix: true)])
        let holder = read.results[0].kvs.first
        let slot = taken(read.results[1].kvs).first { String(decoding: $0.value.value, as: UTF8.self) == node && $0.value.lease == holder?.lease }
        return (holder, slot.map { ($0.key, $0.value) })
    }

    /// Before the reboot: the slot moves to a lease of `max_reboot_duration`, which nobody keeps alive, so a node
    /// that never comes back frees its slot when it expires. The slot's own lease stays alive until the move has
    /// succeeded; the move compares the keys to what this process holds, and anything else (the lease lost, the
    /// keys changed hands, the move failed) throws: then the node does not reboot.
    public func prepareForReboot(node: String) async throws(LockUnavailable) {
        guard let session else { throw LockUnavailable("this process holds no lock slot to keep across the reboot") }
        if let lost = await session.lost { throw LockUnavailable("\(lost); not rebooting") }
        try await lockErrors {
            let (holder, slot) = try await readHeld(node)
            guard let holder, holderInfos([holder])[0].0.instance == instance.id, holder.lease == session.lease, let slot else {
                throw LockUnavailable("the lock slot of node \(quoteString(node)) is no longer this process's; not rebooting")
            }
            var info = holderInfos([holder])[0].0
            info.phase = "rebooting"
            let reboot = try await client.grant(ttl: max(1, spec.maxRebootDuration / 1000))
            guard await session.isAlive else {
                try? await client.revoke(reboot)
                throw LockUnavailable("\(await session.lost ?? "the lock lease was lost") while the reboot lease was granted; not rebooting")
            }
            // With `legacy_mutex`, this node also queues on clusterrebootd's mutex, on the reboot lease: a
            // clusterrebootd node (or `etcdctl lock`) that comes later waits until this node is back.
            let mutex = mutexKey(reboot)
            let claim = MutexValue(node: node, pid: Int(instance.pid), acquired_at: info.acquiredAt, rc_instance: instance.id)
            let moved = try await client.txn(
                [
                    EtcdCompare(key: holder.key, target: .mod, result: .equal, number: holder.modRevision),
                    EtcdCompare(key: holder.key, target: .lease, result: .equal, number: session.lease),
                    EtcdCompare(key: slotKey(slot.index), target: .mod, result: .equal, number: slot.kv.modRevision),
                ],
                success: [
                    .put(key: holder.key, value: (try? JSONEncoder().encode(info)) ?? Data(), lease: reboot),
                    .put(key: slotKey(slot.index), value: Data(node.utf8), lease: reboot),
                ] + (mutex.map { [.put(key: $0, value: (try? JSONEncoder().encode(claim)) ?? Data(), lease: reboot)] } ?? []))
            guard moved else {
                try? await client.revoke(reboot)
                throw LockUnavailable("the lock slot of node \(quoteString(node)) changed before it could be kept across the reboot; not rebooting")
            }
            if let mutex, let mutexPrefix {
                // A key of clusterrebootd's made before this node's holds the mutex or will hold it next (a
                // waiter): it takes one slot, and this node goes on only when its own slot fits beside it.
                let read = try await client.read([EtcdRange(mutexPrefix, prefix: true, order: .oldestFirst), EtcdRange(holdersPrefix, prefix: true, countOnly: true)])
                let keys = read.results[0].kvs
                let mine = keys.first { $0.key == mutex }
                let ahead = keys.filter { isLegacy($0) && $0.createRevision < (mine?.createRevision ?? .max) }
                if mine == nil || (!ahead.isEmpty && read.results[1].count + 1 > Int64(spec.slots)) {
                    try? await client.revoke(reboot)
                    self.session = nil
                    self.slot = nil
                    try? await session.revoke()
                    let who = ahead.first.map(legacyHolder).map { "\($0.node)\($0.pid.map { ", pid \($0)" } ?? "")\($0.since.map { ", since \($0)" } ?? "")" }
                    throw LockUnavailable(
                        "clusterrebootd's lock \(quoteString(spec.legacyMutex ?? "")) is held or waited for by \(who ?? "another node") and takes the last free slot; not rebooting")
                }
            }
            rebootLease = reboot
            logger.info("the lock slot is kept across the reboot on lease \(String(reboot, radix: 16)) (max_reboot_duration)", metadata: ["event": "slot_kept", "lease_id": "\(String(reboot, radix: 16))"])
            self.session = nil
            self.slot = nil
            try? await session.revoke()
        }
    }

    /// Right before the reboot command: the holder key and the slot key are read once more and must be this
    /// process's, on the reboot lease it moved them to.
    public func verifyForReboot(node: String) async throws(LockUnavailable) {
        guard let rebootLease else { throw LockUnavailable("no lock slot was kept for the reboot; not rebooting") }
        try await lockErrors {
            let (holder, slot) = try await readHeld(node)
            guard let holder, holder.lease == rebootLease, holderInfos([holder])[0].0.instance == instance.id, slot != nil else {
                throw LockUnavailable("the lock slot of node \(quoteString(node)) is no longer this process's right before the reboot; not rebooting")
            }
        }
    }

    public func heldForReboot(node: String, bootID: String) async throws(LockUnavailable) -> Bool? {
        do {
            guard let kv = try await client.range(key(node)).kvs.first else { return false }
            let info = holderInfos([kv])[0].0
            return info.phase == "rebooting" && info.bootID == bootID
        } catch {
            throw Self.unavailable(error)
        }
    }

    /// The lease for the slot, with its expiry at the latest: a spare one, else the lease of the node's place in
    /// line (already granted and kept alive, which keeps a grant off the hand-off), else a new one.
    private func leaseForSlot() async throws(EtcdError) -> (Int64, Int64) {
        // A lease that expired meanwhile makes the put fail with "lease not found", and a new one is taken then.
        if let spare { return spare }
        if let waiterLease { return (waiterLease, waiterLeaseRefreshed + leaseSeconds * 1000) }
        let sent = monotonicMilliseconds()
        let fresh = try await client.grant(ttl: leaseSeconds)
        spare = (fresh, sent + leaseSeconds * 1000)
        return (fresh, sent + leaseSeconds * 1000)
    }
}
