import Evaluator
import Executors
import Foundation
import Logging
import PolicyLang
import RCTestSupport
import Testing

/// The etcd client and the semaphore against a real etcd started on loopback for each test.
@Suite(.serialized) struct EtcdTests {
    func spec(_ endpoints: [String], key: String = "/rc-test", slots: Int = 1, ttl: String = "10s", extra: String = "") throws -> EtcdLockSpec {
        let list = endpoints.map { "\"\($0)\"" }.joined(separator: ", ")
        let text = "policy \"e\" {}\ndetector \"apt\" debian\nlock etcd {\n  endpoints [\(list)]\n  key \"\(key)\"\n  slots \(slots)\n  ttl \(ttl)\n  max_reboot_duration 90s\n\(extra)}\n"
        let result = Checker.check(SourceFile(path: "e.rcl", text: text))
        guard case .etcd(let spec)? = result.policy?.lock else {
            throw EtcdHarness.HarnessError(description: "policy does not check: \(result.diagnostics.map(\.message))")
        }
        return spec
    }

    /// Waits until etcd serves requests.
    func ready(_ client: EtcdClient) async throws {
        for _ in 0..<100 {
            if (try? await client.range("/rc-test/ready")) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw EtcdHarness.HarnessError(description: "etcd does not answer")
    }

    @Test func keysTransactionsAndLeases() async throws {
        let etcd = try EtcdHarness()
        let client = try EtcdClient(spec([etcd.endpoint]))
        defer { Task { await client.shutdown() } }
        try await ready(client)
        let a = try await client.put("/rc-test/a", Data("1".utf8))
        try await client.put("/rc-test/b", Data("2".utf8))
        // A put answers the key's create revision: its own for a new key, the first one's for a key that exists.
        #expect(try await client.put("/rc-test/a", Data("1".utf8)) == a)
        let (kvs, revision) = try await client.range("/rc-test/", prefix: true)
        #expect(kvs.first?.createRevision == a && kvs.first?.modRevision == revision)
        #expect(kvs.map(\.key) == ["/rc-test/a", "/rc-test/b"] && kvs.map { String(decoding: $0.value, as: UTF8.self) } == ["1", "2"])
        #expect(revision >= 3)
        #expect(try await client.range("/rc-test/none").kvs.isEmpty)
        // A transaction that compares the create revision: creating a key that exists fails.
        let created = try await client.txn([EtcdCompare(key: "/rc-test/a", target: .create, result: .equal, number: 0)], success: [.put(key: "/rc-test/a", value: Data("x".utf8), lease: nil)])
        #expect(!created)
        let fresh = try await client.txn([EtcdCompare(key: "/rc-test/c", target: .create, result: .equal, number: 0)], success: [.put(key: "/rc-test/c", value: Data("3".utf8), lease: nil)])
        #expect(fresh)
        let byValue = try await client.txn([EtcdCompare(key: "/rc-test/c", target: .value, result: .equal, value: Data("3".utf8))], success: [.delete(key: "/rc-test/c")])
        #expect(byValue)
        #expect(try await client.range("/rc-test/c").kvs.isEmpty)
        // Leases.
        let lease = try await client.grant(ttl: 30)
        try await client.put("/rc-test/leased", Data("l".utf8), lease: lease)
        #expect(try await client.range("/rc-test/leased").kvs.first?.lease == lease)
        #expect(try await client.keepAlive(lease) == 30)
        #expect((1...30).contains(try await client.timeToLive(lease)))
        try await client.revoke(lease)
        #expect(try await client.range("/rc-test/leased").kvs.isEmpty, "revoking the lease deletes its keys")
        #expect(try await client.timeToLive(lease) == -1)
        #expect(try await client.keepAlive(lease) == 0, "an expired lease answers TTL 0")
    }

    @Test func readsSeveralRangesAtOneRevision() async throws {
        let etcd = try EtcdHarness()
        let client = try EtcdClient(spec([etcd.endpoint]))
        defer { Task { await client.shutdown() } }
        try await ready(client)
        // Created in the order c, a, d, b: key order and create order differ.
        for name in ["c", "a", "d", "b"] { try await client.put("/rc-test/q/\(name)", Data(name.utf8)) }
        let d = try await client.range("/rc-test/q/d").kvs[0]
        let (results, revision) = try await client.read([
            EtcdRange("/rc-test/q/", prefix: true, countOnly: true),
            EtcdRange("/rc-test/q/", prefix: true, keysOnly: true, order: .oldestFirst, limit: 2, maxCreateRevision: d.createRevision - 1),
            EtcdRange("/rc-test/q/", prefix: true, keysOnly: true, order: .newestFirst, limit: 1, maxCreateRevision: d.createRevision - 1),
            EtcdRange("/rc-test/q/", prefix: true, order: .key),
            EtcdRange("/rc-test/q/none"),
        ])
        let after = try await client.range("/rc-test/none").revision
        #expect(revision == after, "one revision, and reads write nothing")
        #expect(results[0].count == 4 && results[0].kvs.isEmpty)
        #expect(results[1].kvs.map(\.key) == ["/rc-test/q/c", "/rc-test/q/a"], "the oldest first, created before d")
        #expect(results[1].kvs.allSatisfy { $0.value.isEmpty }, "keys only")
        #expect(results[2].kvs.map(\.key) == ["/rc-test/q/a"], "the newest created before d")
        #expect(results[3].kvs.map { String(decoding: $0.value, as: UTF8.self) } == ["a", "b", "c", "d"])
        #expect(results[4].kvs.isEmpty && results[4].count == 0)
    }

    @Test func aWatchSeesChangesAfterItsRevisionOrSaysItBeganTooLate() async throws {
        let etcd = try EtcdHarness()
        let client = try EtcdClient(spec([etcd.endpoint]))
        defer { Task { await client.shutdown() } }
        try await ready(client)
        let key = "/rc-test/w/a"
        try await client.put(key, Data("1".utf8))
        let seen = try await client.range(key).revision
        try await client.put(key, Data("2".utf8))
        // The store has moved past `seen`: a watch that begins now returns at once with no events, instead of
        // waiting for a change it may have missed; one that replays from `seen` returns the change.
        #expect(try await client.waitForChange(key: key, after: seen, start: .current, milliseconds: 10_000) == [])
        #expect(try await client.waitForChange(prefix: "/rc-test/w/", after: seen, start: .current, milliseconds: 10_000) == [])
        let replayed = try await client.waitForChange(key: key, after: seen, milliseconds: 10_000)
        #expect(replayed?.count == 1 && replayed.map { String(decoding: $0[0].kv.value, as: UTF8.self) } == "2")
        // From the current revision: nothing changes, so both time out with nil.
        let now = try await client.range(key).revision
        #expect(try await client.waitForChange(key: key, after: now, start: .current, milliseconds: 200) == nil)
        #expect(try await client.waitForChange(key: key, after: now, milliseconds: 200) == nil)
        // A change made while the watch is open is seen (a change made before it opened would make it return no
        // events: then the test waits longer before changing the key).
        var events: [EtcdEvent] = []
        for pause in [100, 300, 1000, 3000] where events.isEmpty {
            let from = try await client.range(key).revision
            let watching = Task { try await client.waitForChange(prefix: "/rc-test/w/", after: from, start: .current, milliseconds: 10_000) }
            try await Task.sleep(for: .milliseconds(pause))
            try await client.delete(key)
            events = try await watching.value ?? []
            #expect(events.allSatisfy { $0.kv.modRevision > from })
            try await client.put(key, Data("3".utf8))
        }
        #expect(events.count == 1 && events.first?.isDelete == true && events.first?.kv.key == key)
    }

    @Test func failsOverAndNamesTheEndpointsWhenAllAreDown() async throws {
        let etcd = try EtcdHarness()
        let dead = "http://127.0.0.1:\(try EtcdHarness.freePort())"
        let client = try EtcdClient(spec([dead, etcd.endpoint]))
        defer { Task { await client.shutdown() } }
        try await ready(client)
        try await client.put("/rc-test/k", Data("v".utf8))
        #expect(try await client.range("/rc-test/k").kvs.count == 1)
        etcd.stop()
        do {
            _ = try await client.range("/rc-test/k")
            Issue.record("a stopped etcd must not answer")
        } catch {
            #expect(error.description.hasPrefix("etcd is unreachable: "))
            #expect(error.description.contains(dead) && error.description.contains(etcd.endpoint))
            #expect(error.description.contains("connection refused"))
        }
    }

    @Test func theSemaphoreNeverHasMoreHoldersThanSlots() async throws {
        let etcd = try EtcdHarness()
        let lockSpec = try spec([etcd.endpoint], slots: 2)
        let probe = try EtcdClient(lockSpec)
        defer { Task { await probe.shutdown() } }
        try await ready(probe)
        let logger = Logger(label: "test")
        var clients: [EtcdClient] = []
        for _ in 0..<10 { clients.append(try EtcdClient(lockSpec)) }
        defer { for c in clients { Task { await c.shutdown() } } }
        let locks = clients.map { EtcdLock(client: $0, spec: lockSpec, logger: logger) }
        for round in 0..<3 {
            // Every node races for a slot at once.
            let won = await withTaskGroup(of: Bool.self) { group in
                for (i, lock) in locks.enumerated() {
                    group.addTask {
                        (try? await lock.acquire(HolderInfo(node: "n\(i)", pid: Int32(i), acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock"))) ?? false
                    }
                }
                var count = 0
                for await ok in group where ok { count += 1 }
                return count
            }
            #expect(won == 2, "round \(round): \(won) nodes got a slot")
            let status = try await locks[0].status(node: "n0")
            #expect(status.holders?.count == 2 && status.available == false && status.slots == 2)
            for (i, lock) in locks.enumerated() { try await lock.release(node: "n\(i)") }
            #expect(try await locks[0].status(node: "n0").holders?.isEmpty == true)
        }
        // Taking a held slot again is a no-op; another node gets the second slot; a third waits.
        let info = HolderInfo(node: "n0", pid: 1, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock")
        #expect(try await locks[0].acquire(info))
        #expect(try await locks[0].acquire(info))
        #expect(try await locks[1].acquire(HolderInfo(node: "n1", pid: 2, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock")))
        #expect(try await !locks[2].acquire(HolderInfo(node: "n2", pid: 3, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock")))
        let seen = try await locks[2].status(node: "n2")
        #expect(seen.holders?.map(\.node).sorted() == ["n0", "n1"] && seen.held == false)
        #expect(try await locks[0].status(node: "n0").held == true)
        for (i, lock) in locks.enumerated() { try await lock.release(node: "n\(i)") }
    }

    @Test func aHolderThatDiesFreesItsSlotWhenTheLeaseExpires() async throws {
        let etcd = try EtcdHarness()
        let lockSpec = try spec([etcd.endpoint], slots: 1, ttl: "2s")
        let a = try EtcdClient(lockSpec), b = try EtcdClient(lockSpec)
        defer {
            Task { await a.shutdown() }
            Task { await b.shutdown() }
        }
        try await ready(a)
        let logger = Logger(label: "test")
        // The first holder takes the slot and "dies": its client is gone and nobody keeps the lease alive.
        do {
            let dying = EtcdLock(client: a, spec: lockSpec, logger: logger)
            #expect(try await dying.acquire(HolderInfo(node: "dead", pid: 1, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock")))
            try await dying.prepareForReboot(node: "dead")  // stops the keep-alive; a 90 s reboot lease
            // Hand the keys a short lease again, as if the keep-alive had simply stopped.
            let short = try await a.grant(ttl: 2)
            for key in ["/rc-test/locks/default/holders/dead", "/rc-test/locks/default/slots/0"] {
                let kv = try #require(try await a.range(key).kvs.first)
                try await a.put(kv.key, kv.value, lease: short)
            }
        }
        let waiting = EtcdLock(client: b, spec: lockSpec, logger: logger)
        let next = HolderInfo(node: "next", pid: 2, acquiredAt: "2026-11-22T10:00:01Z", phase: "post-lock")
        #expect(try await !waiting.acquire(next))
        var acquired = false
        for _ in 0..<60 where !acquired {
            try await Task.sleep(for: .milliseconds(100))
            acquired = try await waiting.acquire(next)
        }
        #expect(acquired, "the slot frees itself when the lease expires")
        try await waiting.release(node: "next")
    }

    @Test func loweringTheSlotsWaitsForTheHoldersAboveTheNewBound() async throws {
        let etcd = try EtcdHarness()
        let two = try spec([etcd.endpoint], slots: 2)
        let one = try spec([etcd.endpoint], slots: 1)
        let client = try EtcdClient(two)
        defer { Task { await client.shutdown() } }
        try await ready(client)
        func info(_ node: String) -> HolderInfo { HolderInfo(node: node, pid: 1, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock") }
        let logger = Logger(label: "test")
        let a = EtcdLock(client: client, spec: two, logger: logger)
        let b = EtcdLock(client: client, spec: two, logger: logger)
        #expect(try await a.acquire(info("a")))
        #expect(try await b.acquire(info("b")))
        // The policy now says `slots 1`: while two hold, and while one still does, nobody else gets a slot.
        let c = EtcdLock(client: client, spec: one, logger: logger)
        #expect(try await !c.acquire(info("c")))
        try await a.release(node: "a")
        #expect(try await !c.acquire(info("c")))
        try await b.release(node: "b")
        #expect(try await c.acquire(info("c")))
    }

    @Test func theSlotIsKeptAcrossTheRebootWithABoundedLease() async throws {
        let etcd = try EtcdHarness()
        let lockSpec = try spec([etcd.endpoint], slots: 1, ttl: "3s")
        let client = try EtcdClient(lockSpec)
        defer { Task { await client.shutdown() } }
        try await ready(client)
        let lock = EtcdLock(client: client, spec: lockSpec, logger: Logger(label: "test"))
        #expect(try await lock.acquire(HolderInfo(node: "r", pid: 7, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock")))
        let before = try #require(try await client.range("/rc-test/locks/default/holders/r").kvs.first)
        try await lock.prepareForReboot(node: "r")
        let after = try #require(try await client.range("/rc-test/locks/default/holders/r").kvs.first)
        let slot = try #require(try await client.range("/rc-test/locks/default/slots/0").kvs.first)
        #expect(String(decoding: slot.value, as: UTF8.self) == "r" && slot.lease == after.lease, "the slot key moves with the holder key")
        #expect(after.lease != before.lease)
        #expect((60...90).contains(try await client.timeToLive(after.lease)))
        #expect(String(decoding: after.value, as: UTF8.self).contains("\"phase\":\"rebooting\""))
        #expect(try await client.timeToLive(before.lease) == -1, "the holder's own lease is revoked")
        #expect(String(decoding: after.value, as: UTF8.self).contains("\"instance\":\"\(lock.instance.id)\""))
        try await lock.verifyForReboot(node: "r")
        // After the boot a new process releases the slot kept for the reboot of the recorded boot; a plain release
        // (a process that knows of no reboot) leaves a slot kept for a reboot alone.
        let afterBoot = EtcdLock(client: client, spec: lockSpec, logger: Logger(label: "test"), instance: LockInstance(bootID: "the next boot"))
        try await afterBoot.release(node: "r")
        #expect(try await client.range("/rc-test/locks/default/holders/r").kvs.count == 1, "a plain release leaves the reboot's slot")
        #expect(try await afterBoot.heldForReboot(node: "r", bootID: lock.instance.bootID) == true)
        try await afterBoot.releaseAfterReboot(node: "r", bootID: lock.instance.bootID)
        #expect(try await client.range("/rc-test/locks/default/", prefix: true).kvs.isEmpty, "holder and slot keys gone")
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await client.timeToLive(after.lease) == -1, "the reboot lease is revoked")
    }
}

/// The queue of waiters: first come, first served, one wake-up per release.
@Suite(.serialized) struct EtcdQueueTests {
    /// A one-slot lock under `key` on `etcd`, and a client once etcd answers.
    func lock(_ etcd: EtcdHarness, key: String, slots: Int = 1) async throws -> (EtcdLockSpec, EtcdClient) {
        let helpers = EtcdTests()
        let spec = try helpers.spec([etcd.endpoint], key: key, slots: slots)
        let client = try EtcdClient(spec, connections: 16)
        try await helpers.ready(client)
        return (spec, client)
    }

    @Test func waitersTakeTheSlotInTheOrderTheyQueued() async throws {
        let etcd = try EtcdHarness()
        let (spec, client) = try await lock(etcd, key: "/rc-q")
        defer { Task { await client.shutdown() } }
        let logger = Logger(label: "test")
        let holder = EtcdLock(client: client, spec: spec, logger: logger)
        #expect(try await holder.acquire(HolderInfo(node: "h", pid: 1, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock")))
        final class Order: @unchecked Sendable {
            let lock = NSLock()
            var nodes: [String] = []
            func add(_ n: String) { lock.withLock { nodes.append(n) } }
        }
        let order = Order()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, name) in ["w1", "w2", "w3"].enumerated() {
                // Queue one after the other: each starts once the one before has its place in line.
                for _ in 0..<200 where try await client.range("/rc-q/locks/default/waiters/", prefix: true).kvs.count < i {
                    try await Task.sleep(for: .milliseconds(25))
                }
                group.addTask {
                    let lock = EtcdLock(client: client, spec: spec, logger: logger)
                    let info = HolderInfo(node: name, pid: Int32(i + 2), acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock")
                    while try await !lock.acquire(info) { await lock.waitTurn(node: name, milliseconds: 5000) }
                    order.add(name)
                    try await Task.sleep(for: .milliseconds(100))
                    try await lock.release(node: name)
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            try await holder.release(node: "h")
            try await group.waitForAll()
        }
        #expect(order.nodes == ["w1", "w2", "w3"])
        #expect(try await client.range("/rc-q/locks/default/waiters/", prefix: true).kvs.isEmpty, "nobody left in the queue")
    }

    @Test func withTwoSlotsWaitersGoThroughInPairsInTheOrderTheyQueued() async throws {
        let etcd = try EtcdHarness()
        let (spec, client) = try await lock(etcd, key: "/rc-p", slots: 2)
        defer { Task { await client.shutdown() } }
        let logger = Logger(label: "test")
        func info(_ node: String) -> HolderInfo { HolderInfo(node: node, pid: 1, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock") }
        let holders = [EtcdLock(client: client, spec: spec, logger: logger), EtcdLock(client: client, spec: spec, logger: logger)]
        for (i, holder) in holders.enumerated() { #expect(try await holder.acquire(info("h\(i)"))) }
        final class Log: @unchecked Sendable {
            let lock = NSLock()
            var order: [String] = []
            var holding = 0
            var most = 0
            func take(_ n: String) { lock.withLock { order.append(n); holding += 1; most = max(most, holding) } }
            func leave() { lock.withLock { holding -= 1 } }
        }
        let log = Log()
        let names = ["w1", "w2", "w3", "w4", "w5", "w6"]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in names {
                // Queue one after the other; w3 and later start behind the front (two places ahead of them).
                try await Task.sleep(for: .milliseconds(100))
                group.addTask {
                    let lock = EtcdLock(client: client, spec: spec, logger: logger)
                    while try await !lock.acquire(info(name)) { await lock.waitTurn(node: name, milliseconds: 10_000) }
                    log.take(name)
                    try await Task.sleep(for: .milliseconds(200))
                    log.leave()
                    try await lock.release(node: name)
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            // Both slots free at once.
            async let first: Void = holders[0].release(node: "h0")
            async let second: Void = holders[1].release(node: "h1")
            _ = try await (first, second)
            try await group.waitForAll()
        }
        #expect(Set(log.order.prefix(2)) == ["w1", "w2"] && Set(log.order[2..<4]) == ["w3", "w4"] && Set(log.order.suffix(2)) == ["w5", "w6"])
        #expect(log.most == 2, "two at a time, never more")
        #expect(try await client.range("/rc-p/locks/default/waiters/", prefix: true).kvs.isEmpty, "nobody left in the queue")
    }

    @Test func aWaiterKeepsItsPlaceForLongerThanTheLease() async throws {
        let etcd = try EtcdHarness()
        let helpers = EtcdTests()
        let spec = try helpers.spec([etcd.endpoint], key: "/rc-l", ttl: "2s")
        let client = try EtcdClient(spec, connections: 16)
        defer { Task { await client.shutdown() } }
        try await helpers.ready(client)
        let logger = Logger(label: "test")
        func info(_ node: String) -> HolderInfo { HolderInfo(node: node, pid: 1, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock") }
        let holder = EtcdLock(client: client, spec: spec, logger: logger)
        #expect(try await holder.acquire(info("h")))
        let waiter = EtcdLock(client: client, spec: spec, logger: logger)
        #expect(try await !waiter.acquire(info("w")))
        let clock = ContinuousClock()
        let start = clock.now
        await waiter.waitTurn(node: "w", milliseconds: 200)
        let place = try await client.range("/rc-l/locks/default/waiters/w").kvs.first
        // One wait of 5 s, more than twice the 2 s lease of the place in line.
        await waiter.waitTurn(node: "w", milliseconds: 5000)
        #expect(clock.now - start > .seconds(5))
        let still = try await client.range("/rc-l/locks/default/waiters/w").kvs.first
        #expect(place != nil && still?.createRevision == place?.createRevision, "still in line, at the same place")
        #expect(try await client.timeToLive(still?.lease ?? 0) > 0)
        try await holder.release(node: "h")
        await waiter.waitTurn(node: "w", milliseconds: 2000)
        #expect(try await waiter.acquire(info("w")))
    }

    @Test func aWaiterThatRestartsKeepsItsPlaceInLine() async throws {
        let etcd = try EtcdHarness()
        let (spec, client) = try await lock(etcd, key: "/rc-r")
        defer { Task { await client.shutdown() } }
        let logger = Logger(label: "test")
        func info(_ node: String) -> HolderInfo { HolderInfo(node: node, pid: 1, acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock") }
        let holder = EtcdLock(client: client, spec: spec, logger: logger)
        #expect(try await holder.acquire(info("h")))
        // w1 queues, then w2; then w1's daemon restarts (a new lock object, a new lease) and looks again.
        let first = EtcdLock(client: client, spec: spec, logger: logger)
        let second = EtcdLock(client: client, spec: spec, logger: logger)
        let clock = ContinuousClock()
        let waited = await clock.measure { await first.waitTurn(node: "w1", milliseconds: 300) }
        #expect(waited < .seconds(3), "a wait ends at its deadline, not at the client's 5 s read timeout")
        await second.waitTurn(node: "w2", milliseconds: 300)
        let before = try await client.range("/rc-r/locks/default/waiters/w1").kvs
        let restarted = EtcdLock(client: client, spec: spec, logger: logger)
        await restarted.waitTurn(node: "w1", milliseconds: 300)
        let after = try await client.range("/rc-r/locks/default/waiters/", prefix: true).kvs.sorted { $0.createRevision < $1.createRevision }
        #expect(after.map(\.key) == ["/rc-r/locks/default/waiters/w1", "/rc-r/locks/default/waiters/w2"])
        #expect(after.first?.createRevision == before.first?.createRevision, "same place in line")
        #expect(after.first?.lease != before.first?.lease, "now under the lease of the running process")
        #expect(try await holder.queue().map(\.node) == ["w1", "w2"])
        // When the holder leaves, it is w1's turn, not w2's.
        try await holder.release(node: "h")
        await restarted.waitTurn(node: "w1", milliseconds: 2000)
        #expect(try await restarted.acquire(info("w1")))
        #expect(try await !second.acquire(info("w2")))
    }
}
