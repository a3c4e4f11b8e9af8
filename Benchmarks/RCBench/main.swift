import Foundation
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
