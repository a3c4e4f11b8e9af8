import Foundation
import Evaluator
import PolicyLang


// Parse + check throughput on a generated 100,000-line policy set (1,000 files of 100 lines).
// Run with `make bench` (release build).

func generatePolicy(_ index: Int) -> String {
    var lines: [String] = [
        "# generated policy \(index)",
        "policy \"fleet-\(index)\" {",
        "  applies_to node.name matches /^fleet-\(index)-[0-9]+$/",
        "}",
        "",
        "detector \"apt\" debian",
        "detector \"dnf\" command [\"/usr/bin/needs-restarting\", \"-r\"] {",
        "  reboot_when exit == 1",
        "  timeout     10s",
        "}",
        "timezone \"Europe/Berlin\"",
        "window deny \"weekend-freeze\" Fri 18:00 .. Mon 08:00",
        "window allow \"night\" Tue..Thu 22:00 .. 04:00",
        "health \"cluster\" script \"/usr/local/bin/check.sh\" { timeout 45s }",
        "lock etcd {",
        "  endpoints [\"https://10.0.0.10:2379\", \"https://10.0.0.11:2379\"]",
        "  ttl       120s",
        "}",
    ]
    var rule = 0
    while lines.count < 96 {
        lines.append("rule \"r\(rule)\" {")
        lines.append("  deny when cluster.healthy < max(\(rule % 5 + 1), 60% of cluster.size) and node.labels[\"tier\"] != \"t\(rule)\"")
        lines.append("}")
        rule += 1
    }
    lines.append("test \"freeze\" {")
    lines.append("  given { now 2026-11-21T10:00:00+01:00  detector \"apt\" fired }")
    lines.append("  expect blocked by window \"weekend-freeze\"")
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
}

let files = (0..<1000).map { SourceFile(path: "fleet-\($0).rcl", text: generatePolicy($0)) }
let totalLines = files.reduce(0) { $0 + $1.lineCount - 1 }

// Warm up (time zone database, regex JIT).
for file in files.prefix(20) { _ = Checker.check(file) }

var best = Double.infinity
var samples: [Double] = []
for _ in 0..<7 {
    let start = DispatchTime.now().uptimeNanoseconds
    var errors = 0
    for file in files where Checker.check(file).hasErrors { errors += 1 }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    precondition(errors == 0, "generated policies must check")
    samples.append(seconds)
    best = min(best, seconds)
}
samples.sort()
let median = samples[samples.count / 2]
print("parse+check: \(files.count) files, \(totalLines) lines")
print(String(format: "  median %.3f s = %.0f lines/s   best %.3f s = %.0f lines/s", median, Double(totalLines) / median, best, Double(totalLines) / best))

// Formatting throughput on the same set.
let trees = files.map { Parser.parse($0) }
let fmtStart = DispatchTime.now().uptimeNanoseconds
for tree in trees { _ = Formatter.format(tree) }
let fmtSeconds = Double(DispatchTime.now().uptimeNanoseconds - fmtStart) / 1e9
print(String(format: "format: %.3f s = %.0f lines/s", fmtSeconds, Double(totalLines) / fmtSeconds))

// Phases separately.
let lexStart = DispatchTime.now().uptimeNanoseconds
for file in files { _ = Lexer.lex(file) }
let lexSeconds = Double(DispatchTime.now().uptimeNanoseconds - lexStart) / 1e9
let parseStart = DispatchTime.now().uptimeNanoseconds
for file in files { _ = Parser.parse(file) }
let parseSeconds = Double(DispatchTime.now().uptimeNanoseconds - parseStart) / 1e9
print(String(format: "phases: lex %.3f s, lex+parse %.3f s, check %.3f s", lexSeconds, parseSeconds, median - parseSeconds))

// Evaluation latency: one decision for the web fleet example, timed one by one (the clock read, about 20 ns, is
// included), with tracing off (the daemon) and on (explain, test).
let webPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("policies/examples/web.rcl").path
let web = PreparedPolicy(Checker.check(SourceFile(path: webPath, bytes: Array(FileManager.default.contents(atPath: webPath)!))).policy!)
func instant(_ text: String) -> Instant {
    guard case .success(let i) = Instant.parse(text) else { fatalError(text) }
    return i
}
let rebootFacts = Facts(
    now: instant("2026-11-24T23:00:00+01:00"), phase: .preLock, nodeName: "web-3", nodeLabels: ["tier": "canary"], nodeUptime: 36 * 3_600_000,
    killSwitch: false, detectors: ["apt": DetectorObservation(.fired), "marker": DetectorObservation(.clear), "dnf": DetectorObservation(.clear)],
    health: ["cluster": HealthObservation(ok: true, exitCode: 0)], lock: LockFacts(held: false, available: true, slots: 1),
    cluster: ClusterFacts(size: 5, healthy: 5, fallbackHealthy: 2, lastReboot: instant("2026-11-24T20:00:00+01:00")))
var windowFacts = rebootFacts
windowFacts.now = instant("2026-11-21T10:00:00+01:00")
// RC_BENCH_PROFILE=1 loops over the reboot decision only, for `perf record`.
if ProcessInfo.processInfo.environment["RC_BENCH_PROFILE"] == "1" {
    var n = 0
    for _ in 0..<3_000_000 { n &+= web.decide(rebootFacts).reasonCount }
    print(n)
    exit(0)
}
precondition(web.decide(rebootFacts).outcome == .reboot && web.decide(windowFacts).blockedBy == .window)

func latency(_ facts: Facts, trace: Bool, runs: Int) -> (p50: Double, p99: Double) {
    var nanos: [UInt64] = []
    nanos.reserveCapacity(runs)
    var sink = 0
    for _ in 0..<1000 { sink &+= web.decide(facts, trace: trace).reasonCount }
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        let d = web.decide(facts, trace: trace)
        nanos.append(DispatchTime.now().uptimeNanoseconds - start)
        sink &+= d.reasonCount
    }
    precondition(sink > 0)
    nanos.sort()
    return (Double(nanos[runs / 2]) / 1000, Double(nanos[runs * 99 / 100]) / 1000)
}
print("evaluation latency per decision, web fleet example (\(web.policy.rules.count) rules, \(web.policy.windows.count) windows):")
for (label, facts, trace) in [
    ("reboot, tracing off", rebootFacts, false), ("reboot, tracing on", rebootFacts, true),
    ("blocked by window + next eligible, tracing off", windowFacts, false), ("blocked by window + next eligible, tracing on", windowFacts, true),
] {
    let (p50, p99) = latency(facts, trace: trace, runs: trace ? 20_000 : 200_000)
    print(String(format: "  %@: p50 %.2f µs, p99 %.2f µs", label, p50, p99))
}

// Fleet roll on etcd (skipped with RC_BENCH_NO_ETCD=1).
if ProcessInfo.processInfo.environment["RC_BENCH_NO_ETCD"] != "1" {
    let done = DispatchSemaphore(value: 0)
    // Detached: top-level code runs on the main actor, which `wait()` blocks.
    Task.detached {
        await FleetBenchmark.run()
        done.signal()
    }
    done.wait()
}
