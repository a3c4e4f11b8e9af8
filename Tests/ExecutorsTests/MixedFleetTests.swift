import Evaluator
import Executors
import Foundation
import Logging
import PolicyLang
import RCTestSupport
import Testing

/// A fleet that moves from clusterrebootd to rc node by node: `lock etcd { legacy_mutex }` makes rc and
/// clusterrebootd exclude each other. clusterrebootd holds its lock as an etcd `concurrency.Mutex` (its
/// pkg/lock/etcd_manager.go, `Acquire`: `concurrency.NewMutex(session, applyNamespace(namespace, lock_key))` and
/// `TryLock`), which is what `etcdctl lock` takes, so `etcdctl lock` stands in for a clusterrebootd node here.
@Suite(.serialized) struct MixedFleetTests {
    static let mutex = "/clusterrebootd/lock"

    func spec(_ etcd: EtcdHarness, slots: Int) throws -> EtcdLockSpec {
        let text = """
            policy "m" {}
            detector "flag" file "/run/flag"
            lock etcd {
              endpoints ["\(etcd.endpoint)"]
              key "/rc"
              slots \(slots)
              ttl 15s
              max_reboot_duration 60s
              legacy_mutex "\(Self.mutex)"
            }
            """
        let result = Checker.check(SourceFile(path: "m.rcl", text: text))
        guard let checked = result.policy, case .etcd(let spec) = checked.lock, !result.hasErrors else {
            throw EtcdHarness.HarnessError(description: "policy does not check: \(result.diagnostics.map(\.message))")
        }
        return spec
    }

    func info(_ node: String) -> HolderInfo { HolderInfo(node: node, pid: 1, acquiredAt: "2026-12-02T10:00:00Z", phase: "post-lock") }

    /// `etcdctl lock KEY -- touch MARKER`: a clusterrebootd node that takes the mutex (waiting for it if need be),
    /// "reboots" (the marker) and lets go. With `hold`, it keeps the mutex that many seconds.
    func upstream(_ etcd: EtcdHarness, marker: String, hold: Int = 0) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/etcdctl")
        process.arguments = ["--endpoints=\(etcd.endpoint)", "lock", Self.mutex, "--", "/bin/sh", "-c", "touch \(marker); sleep \(hold)"]
        process.environment = ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func until(_ seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-mixed-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func aClusterrebootdNodeHoldingItsLockTakesASlotAndNoRcNodeRebootsBesideIt() async throws {
        let etcd = try EtcdHarness()
        let spec = try spec(etcd, slots: 1)
        let client = try EtcdClient(spec)
        defer { Task { await client.shutdown() } }
        try await EtcdTests().ready(client)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = EtcdLock(client: client, spec: spec, logger: Logger(label: "test"), instance: LockInstance(bootID: "boot-a"))
        // rc's a holds the one slot (it has not announced a reboot yet); then a clusterrebootd node takes the mutex.
        #expect(try await a.acquire(info("a")))
        let holder = try upstream(etcd, marker: dir + "/upstream", hold: 30)
        defer { holder.terminate() }
        #expect(try await until(30) { FileManager.default.fileExists(atPath: dir + "/upstream") }, "etcdctl took the free mutex")
        // Right before its reboot, a finds the mutex held: no reboot, and the slot is given back.
        await #expect {
            try await a.prepareForReboot(node: "a")
        } throws: { error in
            "\(error)".contains("clusterrebootd's lock \"/clusterrebootd/lock\" is held or waited for")
        }
        #expect(try await client.range("/rc/locks/default/holders/", prefix: true).kvs.isEmpty, "the slot was given back")
        // While the mutex is held, the one slot is taken: rc shows it and takes none.
        let b = EtcdLock(client: client, spec: spec, logger: Logger(label: "test"), instance: LockInstance(bootID: "boot-b"))
        let status = try await b.status(node: "b")
        #expect(status.available == false && status.holders?.map(\.node) == ["a clusterrebootd node (clusterrebootd)"], "\(status)")
        #expect(try await !b.acquire(info("b")))
        // With 2 slots the clusterrebootd node takes one and an rc node may reboot beside it.
        let two = try self.spec(etcd, slots: 2)
        let c = EtcdLock(client: client, spec: two, logger: Logger(label: "test"), instance: LockInstance(bootID: "boot-c"))
        #expect(try await c.acquire(info("c")))
        try await c.prepareForReboot(node: "c")
        try await c.verifyForReboot(node: "c")
        try await c.releaseAfterReboot(node: "c", bootID: "boot-c")
    }

    @Test func aClusterrebootdNodeWaitsWhileAnRcNodeReboots() async throws {
        let etcd = try EtcdHarness()
        let spec = try spec(etcd, slots: 1)
        let client = try EtcdClient(spec)
        defer { Task { await client.shutdown() } }
        try await EtcdTests().ready(client)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = EtcdLock(client: client, spec: spec, logger: Logger(label: "test"), instance: LockInstance(bootID: "boot-a"))
        #expect(try await a.acquire(info("a")))
        try await a.prepareForReboot(node: "a")
        let mine = try await client.range(Self.mutex + "/", prefix: true).kvs
        #expect(mine.count == 1 && String(decoding: mine[0].value, as: UTF8.self).contains(#""node":"a""#), "a queued on the mutex for its reboot")
        try await a.verifyForReboot(node: "a")
        // a is rebooting: a clusterrebootd node that wants the mutex waits.
        let waiter = try upstream(etcd, marker: dir + "/upstream")
        defer { if waiter.isRunning { waiter.terminate() } }
        try await Task.sleep(for: .seconds(3))
        #expect(!FileManager.default.fileExists(atPath: dir + "/upstream"), "the clusterrebootd node rebooted while an rc node was rebooting")
        #expect(waiter.isRunning)
        // a is back and lets go: the clusterrebootd node goes next.
        try await a.releaseAfterReboot(node: "a", bootID: "boot-a")
        #expect(try await until(30) { FileManager.default.fileExists(atPath: dir + "/upstream") }, "the waiting clusterrebootd node went once rc let go")
    }
}
