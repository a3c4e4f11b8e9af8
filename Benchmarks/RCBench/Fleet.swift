import Evaluator
import Executors
import Foundation
import Logging
import PolicyLang
import RCTestSupport

/// A rolling reboot of N simulated nodes against one local etcd: each node waits (watching the holders) for a
/// slot, holds it for the fake reboot time and releases it.
enum FleetBenchmark {
    final class Timeline: @unchecked Sendable {
        let lock = NSLock()
        var acquired: [Double] = []
        var released: [Double] = []
        var overshoot: [Double] = []
        var releasing: [Double] = []
        func step(_ o: Double, _ r: Double) { lock.withLock { overshoot.append(o); releasing.append(r) } }
        func acquire(_ t: Double) { lock.withLock { acquired.append(t) } }
        func release(_ t: Double) { lock.withLock { released.append(t) } }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

    /// Returns (total ms, ideal ms, hand-off latencies ms, ms until the first slot was taken).
    static func roll(nodes: Int, slots: Int, rebootMs: Int) async throws -> (Double, Double, [Double], Double) {
        let etcd = try EtcdHarness()
        let text = "policy \"b\" {}\ndetector \"apt\" debian\nlock etcd {\n  endpoints [\"\(etcd.endpoint)\"]\n  key \"/bench\"\n  slots \(slots)\n  ttl 60s\n}\n"
        guard let policy = Checker.check(SourceFile(path: "b.rcl", text: text)).policy, case .etcd(let spec) = policy.lock else {
            fatalError("bench policy")
        }
        // A node that finds the lock full waits in line as the daemon does: until its turn, or at most its next
        // pass (the policy's check_interval, default 5m, with the daemon's jitter).
        let schedule = Schedule(policy.cluster)
        let client = try EtcdClient(spec, connections: nodes + 16)
        var ready = false
        for _ in 0..<100 where !ready {
            ready = (try? await client.range("/bench/ready")) != nil
            if !ready { try await Task.sleep(for: .milliseconds(50)) }
        }
        let logger = Logger(label: "bench")
        let timeline = Timeline()
        let start = now()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<nodes {
                group.addTask {
                    let lock = EtcdLock(client: client, spec: spec, logger: logger)
                    let info = HolderInfo(node: "node-\(i)", pid: Int32(i), acquiredAt: "2026-11-22T10:00:00Z", phase: "post-lock")
                    while true {
                        guard let won = try? await lock.acquire(info) else { continue }
                        if won {
                            let t0 = now()
                            timeline.acquire(t0)
                            try? await Task.sleep(for: .milliseconds(rebootMs))
                            let t1 = now()
                            try? await lock.release(node: info.node)
                            let t2 = now()
                            timeline.release(t2)
                            timeline.step(t1 - t0 - Double(rebootMs), t2 - t1)
                            return
                        }
                        var rng = SystemRandomNumberGenerator()
                        await lock.waitTurn(node: info.node, milliseconds: schedule.delay(afterFailures: 0, using: &rng))
                    }
                }
            }
        }
        let total = now() - start
        await client.shutdown()
        etcd.stop()
        let acquired = timeline.acquired.sorted()
        let released = timeline.released.sorted()
        if ProcessInfo.processInfo.environment["RC_BENCH_VERBOSE"] == "1" {
            print("acq", acquired.prefix(40).map { Int($0 - start) })
            print("rel", released.prefix(40).map { Int($0 - start) })
            print("acq last", acquired.suffix(20).map { Int($0 - start) })
            let o = timeline.overshoot.sorted(), r = timeline.releasing.sorted()
            print(String(format: "sleep overshoot p50 %.2f ms p90 %.2f ms; release p50 %.2f ms p90 %.2f ms", o[o.count / 2], o[o.count * 9 / 10], r[r.count / 2], r[r.count * 9 / 10]))
        }
        var handoffs: [Double] = []
        for j in 0..<max(0, nodes - slots) { handoffs.append(acquired[slots + j] - released[j]) }
        if ProcessInfo.processInfo.environment["RC_BENCH_VERBOSE"] == "1" {
            print("slow hand-offs (at ms: took ms)", handoffs.indices.filter { handoffs[$0] > 10 }.map { "\(Int(released[$0] - start)): \(Int(handoffs[$0]))" })
        }
        let ideal = Double((nodes + slots - 1) / slots * rebootMs)
        return (total, ideal, handoffs.sorted(), (acquired.first ?? start) - start)
    }

    static func run() async {
        print("fleet roll against one local etcd (waiters queue, in-process nodes):")
        // RC_BENCH_FLEET="N:k:ms,..." runs other configurations.
        var configurations = [(50, 1, 200), (50, 5, 500), (200, 10, 500), (200, 1, 100), (200, 1, 200)]
        if let list = ProcessInfo.processInfo.environment["RC_BENCH_FLEET"] {
            configurations = list.split(separator: ",").compactMap { item in
                let n = item.split(separator: ":").compactMap { Int($0) }
                return n.count == 3 ? (n[0], n[1], n[2]) : nil
            }
        }
        for (n, k, r) in configurations {
            do {
                let (total, ideal, handoffs, first) = try await roll(nodes: n, slots: k, rebootMs: r)
                let p50 = handoffs.isEmpty ? 0 : handoffs[handoffs.count / 2]
                let p99 = handoffs.isEmpty ? 0 : handoffs[min(handoffs.count - 1, handoffs.count * 99 / 100)]
                print(String(format: "  N=%d slots=%d reboot=%dms: roll %.2f s, ideal %.2f s (+%.1f %%), hand-off p50 %.1f ms p99 %.1f ms, first slot after %.0f ms", n, k, r, total / 1000, ideal / 1000, (total / ideal - 1) * 100, p50, p99, first))
            } catch {
                print("  N=\(n) slots=\(k): \(error)")
            }
        }
    }
}
