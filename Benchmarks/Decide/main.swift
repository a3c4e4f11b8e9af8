import Evaluator
import Foundation
import PolicyLang

// The decision latency over a varied mix (Mix.swift), untraced and traced, in UTC and Europe/Berlin: every
// decision of the mix in turn, next_eligible included where a window blocks. `make bench` runs it;
// `rc-bench-decide --peers DIR` writes the mix and rc's outcomes and timings for `make bench-peers`.

func nanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

struct Timing {
    var mean: Double
    var p50: Double
    var p99: Double
}

/// Mean from whole passes over the mix (no clock read per decision); p50 and p99 from decisions timed one by one
/// (each with one clock read pair, about 40 ns, subtracted).
func time(_ policy: PreparedPolicy, _ facts: [Facts], trace: Bool, passes: Int) -> Timing {
    var sink = 0
    for f in facts { sink &+= policy.decide(f, trace: trace).reasonCount }
    let start = nanos()
    for _ in 0..<passes {
        for f in facts { sink &+= policy.decide(f, trace: trace).reasonCount }
    }
    let mean = Double(nanos() - start) / Double(passes * facts.count) / 1000
    var overhead = UInt64.max
    for _ in 0..<1000 {
        let a = nanos()
        overhead = min(overhead, nanos() - a)
    }
    var samples: [UInt64] = []
    samples.reserveCapacity(passes * facts.count)
    for _ in 0..<passes {
        for f in facts {
            let a = nanos()
            sink &+= policy.decide(f, trace: trace).reasonCount
            let b = nanos()
            samples.append(b - a - min(overhead, b - a))
        }
    }
    precondition(sink > 0)
    samples.sort()
    return Timing(mean: mean, p50: Double(samples[samples.count / 2]) / 1000, p99: Double(samples[samples.count * 99 / 100]) / 1000)
}

func prepared(_ zone: String) -> PreparedPolicy {
    let result = Checker.check(SourceFile(path: "peer.rcl", text: Mix.policy(zone: zone)))
    guard let policy = result.policy else { fatalError("the benchmark policy does not check: \(result.diagnostics.map(\.message))") }
    return PreparedPolicy(policy)
}

let arguments = CommandLine.arguments
if arguments.count == 3, arguments[1] == "--peers" {
    // Rows and rc's answers for the peer benchmark (Benchmarks/Peers/peers.py), one file per zone.
    let dir = arguments[2]
    for zone in ["UTC", "Europe/Berlin"] {
        let policy = prepared(zone)
        let rows = Mix.rows(seed: 42, zone: zone)
        let facts = rows.map(\.facts)
        let outcomes = facts.map { Mix.outcome(policy.decide($0)) }
        let t = time(policy, facts, trace: false, passes: 50)
        var lines: [String] = []
        for (row, outcome) in zip(rows, outcomes) {
            lines.append(
                "{\"now_ms\":\(row.now),\"needed\":\(row.needed),\"kill_switch\":\(row.killSwitch),\"healthy\":\(row.healthy),\"size\":\(row.size),"
                    + "\"tier\":\"\(row.tier)\",\"uptime_s\":\(row.uptime / 1000),\"since_last_reboot_s\":\(row.sinceLastReboot / 1000),"
                    + "\"health_ok\":\(row.healthOK),\"lock_available\":\(row.lockAvailable),\"rc\":\"\(outcome)\"}")
        }
        let compile = { () -> Double in
            let start = nanos()
            for _ in 0..<100 { _ = prepared(zone) }
            return Double(nanos() - start) / 100 / 1000
        }()
        let name = zone == "UTC" ? "utc" : "berlin"
        try! ("[\n" + lines.joined(separator: ",\n") + "\n]\n").write(toFile: "\(dir)/facts-\(name).json", atomically: true, encoding: .utf8)
        let summary = "{\"zone\":\"\(zone)\",\"rows\":\(rows.count),\"mean_us\":\(t.mean),\"p50_us\":\(t.p50),\"p99_us\":\(t.p99),\"compile_us\":\(compile)}\n"
        try! summary.write(toFile: "\(dir)/rc-\(name).json", atomically: true, encoding: .utf8)
        print("rc \(zone): \(rows.count) rows, mean \(String(format: "%.3f", t.mean)) µs")
    }
    exit(0)
}

if let zone = ProcessInfo.processInfo.environment["RC_BENCH_PROFILE"] {
    // Loops over the mix untraced (or traced with RC_BENCH_TRACE=1), for `perf record`.
    let policy = prepared(zone)
    let facts = Mix.rows(seed: 42, zone: zone).map(\.facts)
    let trace = ProcessInfo.processInfo.environment["RC_BENCH_TRACE"] == "1"
    var n = 0
    for _ in 0..<2000 { for f in facts { n &+= policy.decide(f, trace: trace).reasonCount } }
    print(n)
    exit(0)
}

print("decision latency over the peer mix (Benchmarks/Decide/Mix.swift, seed 42), next_eligible included:")
for zone in ["UTC", "Europe/Berlin"] {
    let policy = prepared(zone)
    let facts = Mix.rows(seed: 42, zone: zone).map(\.facts)
    let windowBlocked = facts.filter { policy.decide($0).blockedBy == .window }.count
    let off = time(policy, facts, trace: false, passes: 200)
    let on = time(policy, facts, trace: true, passes: 20)
    print(String(format: "  %@: %d fact sets, %d%% blocked by a window", zone, facts.count, windowBlocked * 100 / facts.count))
    print(String(format: "    tracing off: mean %.3f µs, p50 %.3f µs, p99 %.3f µs", off.mean, off.p50, off.p99))
    print(String(format: "    tracing on:  mean %.3f µs, p50 %.3f µs, p99 %.3f µs (%.1f× untraced)", on.mean, on.p50, on.p99, on.mean / off.mean))
    // What a log line costs on top: the reasons written out (the daemon does it when a decision changes).
    let start = nanos()
    var written = 0
    for _ in 0..<50 { for f in facts { written &+= policy.decide(f).reasons.reduce(0) { $0 + $1.utf8.count } } }
    let rendered = Double(nanos() - start) / Double(50 * facts.count) / 1000
    print(String(format: "    tracing off, reasons written out: mean %.3f µs", rendered + (written == 0 ? 1 : 0)))
}
