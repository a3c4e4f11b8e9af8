import Evaluator
import Foundation
import Logging
import PolicyLang

/// The fleet on etcd (docs/etcd.md, "Membership").
///
/// Membership is durable: a node that has reported once is a member, `<prefix>/members/<node>` (no lease, its last
/// report), until `rc fleet forget` or the policy's `cluster { forget_after }`. Freshness is etcd's, not a clock's:
/// each node keeps `<prefix>/alive/<node>` on a lease of three publish intervals, so a node that crashed, hangs, is
/// powered off or is rebooting goes stale when that lease ends, and a stale member counts in `cluster.size` and
/// never in `cluster.healthy`. etcd renews every lease when it restarts or elects a leader, so a lease alone is
/// trusted only for a report written under the raft term the reader sees; any other report must have been seen
/// changing by this reader, and a record this reader has watched stay unchanged for three publish intervals is stale
/// whatever the lease says. The cooldown's last reboot is `<prefix>/last_reboot` on a lease whose age etcd
/// measures, so a node's clock does not move it. `<prefix>/epoch` tells a store that went back (wiped, restored
/// from an older snapshot, replaced) from the one this node knew.
public actor EtcdFleet: Fleet {
    let client: EtcdClient
    let prefix: String
    let publishInterval: Int64
    let forgetAfter: Int64?
    let killSwitchKey: String?
    /// Where this node remembers the store it saw (nil: `rc status` and the like, which remember nothing).
    let state: StateStore?
    let logger: Logger
    private var aliveLease: Int64?
    /// The last report, republished by the reporter.
    private var current: MemberReport?
    /// For each member, the mod revision of its record, when (this process's monotonic clock) this node first saw
    /// that revision, and whether it saw the record change to it. Every report rewrites the record, so a record
    /// unchanged for three publish intervals is stale even while etcd keeps its liveness key: etcd renews every lease
    /// when it restarts or elects a leader, which would make a member that went silent just before look alive for
    /// another lease.
    private var seenChange: [String: (revision: Int64, at: Int64, changed: Bool)] = [:]

    /// How long the last reboot stays readable: the lease of `<prefix>/last_reboot`, in seconds.
    static let lastRebootSeconds: Int64 = 30 * 86_400

    /// The fleet of a policy's `lock etcd` and `kill_switch etcd`; `state` is where the daemon remembers the store.
    public init(client: EtcdClient, policy: CheckedPolicy, spec: EtcdLockSpec, state: StateStore?, logger: Logger) {
        self.client = client
        prefix = spec.prefix
        publishInterval = policy.cluster.publishInterval
        forgetAfter = policy.cluster.forgetAfter
        killSwitchKey = policy.killSwitches.compactMap { if case .etcd(let key) = $0 { key ?? policy.defaultKillSwitchKey } else { nil } }.first
        self.state = state
        self.logger = logger
    }

    public nonisolated var publishesHealth: Bool { true }

    /// One publish interval: what a member's report may lag behind anyway.
    public nonisolated var factsMaxAge: Int64 { publishInterval }

    var membersPrefix: String { prefix + "/members/" }
    var alivePrefix: String { prefix + "/alive/" }
    var epochKey: String { prefix + "/epoch" }
    var lastRebootKey: String { prefix + "/last_reboot" }

    /// A member of the fleet as read from etcd.
    public struct Member: Sendable {
        public var node: String
        /// Nil when the record does not decode (it still counts, as not healthy).
        public var report: MemberReport?
        /// Whether the member reported within three publish intervals, and if not, how this node knows.
        public var freshness: Freshness
        var modRevision: Int64

        /// Whether the member reported within three publish intervals.
        public var fresh: Bool { freshness == .fresh }

        /// Counted in `cluster.healthy`: fresh, reporting healthy, not rebooting.
        public var healthy: Bool { fresh && report?.healthy == true && report?.phase != "rebooting" }
    }

    /// How a reader knows whether a member reported within three publish intervals.
    public enum Freshness: String, Sendable {
        /// Its liveness key exists, and its report was written under the raft term the reader sees or the reader saw
        /// it change within three publish intervals.
        case fresh
        /// Its liveness key's lease ran out: it crashed, hangs, is powered off or is rebooting.
        case expired
        /// This reader watched its record stay unchanged for three publish intervals (etcd renewed its lease).
        case silent
        /// Its report is from before etcd's last leader election, which renewed every lease, and this reader has not
        /// yet seen it report again.
        case unconfirmed
    }

    /// The members, by name.
    public func members() async throws(LockUnavailable) -> [Member] {
        try await read().members
    }

    private func read() async throws(LockUnavailable) -> (members: [Member], lastReboot: EtcdKeyValue?, epoch: EtcdKeyValue?, revision: Int64) {
        do {
            let read = try await client.read([
                EtcdRange(membersPrefix, prefix: true), EtcdRange(alivePrefix, prefix: true, keysOnly: true), EtcdRange(lastRebootKey),
                EtcdRange(epochKey),
            ])
            let alive = Set(read.results[1].kvs.map { String($0.key.dropFirst(alivePrefix.count)) })
            let now = monotonicMilliseconds()
            let bound = 3 * publishInterval
            // The term of the read or a later one: a report written under it was written after the last time etcd
            // renewed every lease.
            let term = client.seen.term
            let members = read.results[0].kvs.map { kv in
                let node = String(kv.key.dropFirst(membersPrefix.count))
                let report = try? JSONDecoder().decode(MemberReport.self, from: kv.value)
                let before = seenChange[node]
                if before?.revision != kv.modRevision { seenChange[node] = (kv.modRevision, now, before != nil) }
                let watched = seenChange[node] ?? (kv.modRevision, now, false)
                let freshness: Freshness =
                    if !alive.contains(node) { .expired }
                    else if now - watched.at > bound { .silent }
                    // A report that names its term proves its lease only when written since the last election:
                    // a change this reader sees late (it was cut off, etcd restarted) may be from before it.
                    else if let written = report?.etcdTerm { written >= term ? .fresh : .unconfirmed }
                    // A report of an earlier version (no term): a change this reader saw.
                    else if watched.changed { .fresh }
                    else { .unconfirmed }
                return Member(node: node, report: report, freshness: freshness, modRevision: kv.modRevision)
            }
            return (members, read.results[2].kvs.first, read.results[3].kvs.first, read.revision)
        } catch {
            throw LockUnavailable(error.description)
        }
    }

    public func cluster(node: String, fallbackNodes: [String], now: Instant, healthy me: Bool?) async throws(LockUnavailable) -> ClusterFacts {
        let (all, last, epoch, revision) = try await read()
        try await checkStore(epoch: epoch, revision: revision, now: now)
        var members: [Member] = []
        for member in all {
            if let forgetAfter, state != nil, !member.fresh, let report = member.report, case .success(let at) = Instant.parse(report.reportedAt),
                now.epochMilliseconds - at.epochMilliseconds > forgetAfter
            {
                // Stopped reporting longer ago than the policy keeps members: no longer one of the fleet.
                let key = membersPrefix + member.node
                if (try? await client.txn([EtcdCompare(key: key, target: .mod, result: .equal, number: member.modRevision)], success: [.delete(key: key)])) == true {
                    logger.notice("forgot member \(quoteString(member.node)): no report since \(report.reportedAt) (forget_after \(formatDuration(milliseconds: forgetAfter)))")
                }
                continue
            }
            members.append(member)
        }
        let healthy = members.filter { member in me.flatMap { member.node == node ? $0 : nil } ?? member.healthy }
        return ClusterFacts(
            size: Int64(members.count), healthy: Int64(healthy.count), fallbackHealthy: Int64(healthy.filter { fallbackNodes.contains($0.node) }.count),
            lastReboot: try await lastReboot(last, now: now))
    }

    /// The last reboot anywhere, laid on this node's clock by the age etcd measured on its lease.
    private func lastReboot(_ kv: EtcdKeyValue?, now: Instant) async throws(LockUnavailable) -> Instant? {
        guard let kv else { return nil }
        if kv.lease != 0 {
            do {
                let (left, granted) = try await client.lease(kv.lease)
                if left >= 0, granted > 0 {
                    let age = max(0, granted - left) * 1000
                    return Instant(epochMilliseconds: now.epochMilliseconds - age, utcOffsetSeconds: 0)
                }
            } catch {
                throw LockUnavailable(error.description)
            }
        }
        // A record of an earlier rc (no lease): the writer's clock is all there is.
        if case .success(let i) = Instant.parse(String(decoding: kv.value, as: UTF8.self)) { return i }
        return nil
    }

    /// The epoch key's value.
    struct Epoch: Codable {
        var id: String
        /// Written by `rc lock reset`: every node takes it as the store it knows from now on.
        var reset: Bool
        var at: String
    }

    /// Blocks (throws) when the store is not the one this node saw: its epoch is gone or changed without
    /// `rc lock reset`, or its revision is below the highest this node saw.
    private func checkStore(epoch kv: EtcdKeyValue?, revision: Int64, now: Instant) async throws(LockUnavailable) {
        guard let state else { return }
        let mark: StoreMark?
        do {
            mark = try state.storeMark()
        } catch {
            throw LockUnavailable("\(error)")
        }
        let epoch = kv.flatMap { try? JSONDecoder().decode(Epoch.self, from: $0.value) }
        let confirm = "an operator confirms with `rc lock reset POLICY` once no node is rebooting"
        switch (mark, epoch) {
        case (nil, nil):
            // A new fleet (or the first rc of this version): the first node to look writes the epoch, and every
            // node remembers the one that is there.
            let new = Epoch(id: UUID().uuidString.lowercased(), reset: false, at: now.description)
            do {
                _ = try await client.txn(
                    [EtcdCompare(key: epochKey, target: .create, result: .equal, number: 0)],
                    success: [.put(key: epochKey, value: (try? JSONEncoder().encode(new)) ?? Data(), lease: nil)])
                let read = try await client.range(epochKey)
                if let epoch = read.kvs.first.flatMap({ try? JSONDecoder().decode(Epoch.self, from: $0.value) }) {
                    try remember(StoreMark(epoch: epoch.id, revision: read.revision))
                }
            } catch let error as LockUnavailable {
                throw error
            } catch {
                throw LockUnavailable("\(error)")
            }
        case (nil, let epoch?):
            try remember(StoreMark(epoch: epoch.id, revision: revision))
        case (let mark?, nil):
            throw LockUnavailable("the etcd store went back: its epoch key \(epochKey) is gone (this node last saw epoch \(mark.epoch.prefix(8)) at revision \(mark.revision)); it was wiped, restored or replaced, so nothing reboots until \(confirm)")
        case (let mark?, let epoch?) where epoch.id != mark.epoch:
            guard epoch.reset else {
                throw LockUnavailable("the etcd store went back: its epoch is \(epoch.id.prefix(8)), this node knew \(mark.epoch.prefix(8)) (at revision \(mark.revision)); nothing reboots until \(confirm)")
            }
            logger.notice("the etcd store was reset at \(epoch.at) (epoch \(epoch.id.prefix(8))); taking it as the store from now on")
            try remember(StoreMark(epoch: epoch.id, revision: revision))
        case (let mark?, _):
            guard revision >= mark.revision else {
                throw LockUnavailable("the etcd store went back: its revision is \(revision), this node saw \(mark.revision) (restored from an older snapshot?); nothing reboots until \(confirm)")
            }
            if revision > mark.revision { try remember(StoreMark(epoch: mark.epoch, revision: revision)) }
        }
    }

    private func remember(_ mark: StoreMark) throws(LockUnavailable) {
        do {
            try state?.saveStoreMark(mark)
        } catch {
            throw LockUnavailable("cannot remember the etcd store in \(state?.storeMarkPath ?? ""): \(error)")
        }
    }

    /// `rc lock reset`: a new epoch that every node takes as the store it knows.
    public func reset(at: Instant) async throws(LockUnavailable) {
        let epoch = Epoch(id: UUID().uuidString.lowercased(), reset: true, at: at.description)
        do {
            try await client.put(epochKey, (try? JSONEncoder().encode(epoch)) ?? Data())
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

    public func publish(_ report: MemberReport) async throws(LockUnavailable) {
        var report = report
        // A report made before the pass has decided (its health, published before the fleet is read) keeps the
        // last decision this process published: the fleet's status shows it until the next one replaces it.
        if report.decision == nil { report.decision = current?.decision }
        current = report
        do {
            let lease = try await liveLease()
            // The term of the answer that refreshed the lease or a later one: this write comes after the renewal
            // of every lease that began that term.
            report.etcdTerm = client.seen.term
            let value = (try? JSONEncoder().encode(report)) ?? Data()
            _ = try await client.txn(
                [], success: [.put(key: membersPrefix + report.node, value: value, lease: nil), .put(key: alivePrefix + report.node, value: Data(report.instance.utf8), lease: lease)])
        } catch let error where error.isLeaseNotFound {
            aliveLease = nil
            throw LockUnavailable(error.description)
        } catch {
            throw LockUnavailable(error.description)
        }
    }

    /// The reporter's tick: the last report again, stamped `at`, which keeps this node fresh between passes.
    public func refresh(at: Instant) async throws(LockUnavailable) {
        guard var report = current else { return }
        report.reportedAt = at.description
        try await publish(report)
    }

    /// The lease of this node's liveness key (three publish intervals), refreshed; a new one when it ran out.
    private func liveLease() async throws(EtcdError) -> Int64 {
        if let aliveLease, try await client.keepAlive(aliveLease) > 0 { return aliveLease }
        let lease = try await client.grant(ttl: max(3, publishInterval * 3 / 1000))
        aliveLease = lease
        return lease
    }

    var historyPrefix: String { prefix + "/history/" }
    /// How many reboots the history keeps (the oldest go).
    public static let historyLimit = 500

    /// The key of a reboot in the history: its start, so that keys sort by time, then the node.
    func historyKey(_ entry: RebootHistoryEntry) -> String {
        let started = (try? Instant.parse(entry.started).get()).map { $0.epochMilliseconds } ?? 0
        return historyPrefix + String(repeating: "0", count: max(0, 13 - String(started).count)) + String(started) + "-" + entry.node
    }

    public func history(_ entry: RebootHistoryEntry) async {
        do {
            try await client.put(historyKey(entry), (try? JSONEncoder().encode(entry)) ?? Data())
            let keys = try await client.read([EtcdRange(historyPrefix, prefix: true, keysOnly: true)]).results[0].kvs
            if keys.count > Self.historyLimit {
                for kv in keys.prefix(keys.count - Self.historyLimit) { try await client.delete(kv.key) }
            }
        } catch {
            logger.warning("cannot write the fleet's reboot history: \(error.description)")
        }
    }

    /// The reboots in the history, oldest first.
    public func historyEntries() async throws(LockUnavailable) -> [RebootHistoryEntry] {
        do {
            return try await client.range(historyPrefix, prefix: true).kvs.compactMap { try? JSONDecoder().decode(RebootHistoryEntry.self, from: $0.value) }
        } catch {
            throw LockUnavailable(error.description)
        }
    }

    /// `rc fleet forget`: `node` is no longer a member. False when it was none.
    public func forget(node: String) async throws(LockUnavailable) -> Bool {
        do {
            let gone = try await client.delete(membersPrefix + node)
            try await client.delete(alivePrefix + node)
            return gone != nil
        } catch {
            throw LockUnavailable(error.description)
        }
    }

    public func recordReboot(at: Instant) async throws(LockUnavailable) {
        do {
            let lease = try await client.grant(ttl: Self.lastRebootSeconds)
            try await client.put(lastRebootKey, Data(at.description.utf8), lease: lease)
        } catch {
            throw LockUnavailable(error.description)
        }
    }
}

/// The version of rc: printed by `rc version` and published with each node's report.
public let rcVersion = "0.1.0"
