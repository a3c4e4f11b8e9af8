import Evaluator
import PolicyLang
import Yams

/// Reads a facts file (YAML or JSON) for `rc explain` and `rc simulate`. Every key is optional; a wrong type, an
/// unknown key or an unknown detector or health check name is an error at its line and column.
///
/// ```yaml
/// now: "2026-11-21T10:00:00+01:00"
/// phase: pre-lock
/// node: {name: web-1, labels: {tier: canary}, uptime: 36h}
/// kill_switch: false
/// detectors: {debian: {fired: true}, rhel: {error: "needs-restarting: not found"}}
/// health: {cluster: {ok: false, exit: 1, output: "quorum at risk", duration: 2.5s}}
/// lock: {held: false, available: true, slots: 1, holders: [{node: web-2, pid: 4121, since: "2026-11-21T09:58:00+01:00"}], waiting: [web-7]}
/// cluster: {size: 5, healthy: 4, fallback_healthy: 1, last_reboot: "2026-11-21T09:50:00+01:00"}
/// ```
public struct FactsFile: Sendable {
    /// The file the facts were read from (for locating diagnostics).
    public var file: SourceFile
    /// The facts read.
    public var facts: Facts
    /// Problems found; the facts are usable only when none is an error.
    public var diagnostics: [Diagnostic]
    /// Where each detector and health check was named, to check the names against a policy.
    var detectorNames: [(String, Span)] = []
    var healthNames: [(String, Span)] = []
    /// Each measured value given a health check (`errors: {value: 0.034}`), to check it against the check's kind.
    var measuredKeys: [(check: String, key: String, span: Span)] = []
    /// Each `ok` given beside measured values, to check it against what the values give under the policy.
    var givenOK: [(check: String, ok: Bool, span: Span)] = []
    /// Where `kill_switches_active` was given, to check its names against the policy's switches.
    var activeKillSwitchesSpan: Span?

    static let topLevel = ["now", "phase", "node", "kill_switch", "kill_switches_active", "detectors", "health", "lock", "cluster"]

    /// Reads a facts file.
    public static func read(_ file: SourceFile) -> FactsFile {
        var parser = Parser(yaml: YAMLReader(file: file, unknownFieldLabel: "not a fact"))
        parser.run()
        var result = FactsFile(file: file, facts: parser.facts, diagnostics: parser.yaml.diagnostics)
        result.detectorNames = parser.detectorNames
        result.healthNames = parser.healthNames
        result.measuredKeys = parser.measuredKeys
        result.givenOK = parser.givenOK
        result.activeKillSwitchesSpan = parser.activeKillSwitchesSpan
        return result
    }

    /// The facts in the facts-file format (JSON), so a decision the daemon made can be replayed with `rc explain`.
    public static func json(_ f: Facts) -> JSON {
        var fields: [(String, JSON)] = []
        if let now = f.now { fields.append(("now", .string(now.description))) }
        if let phase = f.phase { fields.append(("phase", .string(phase.environmentValue))) }
        var node: [(String, JSON)] = []
        if let name = f.nodeName { node.append(("name", .string(name))) }
        if let labels = f.nodeLabels { node.append(("labels", .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))) }
        if let uptime = f.nodeUptime { node.append(("uptime", .string(formatDuration(milliseconds: uptime)))) }
        if !node.isEmpty { fields.append(("node", .object(node))) }
        if let k = f.killSwitch { fields.append(("kill_switch", .bool(k))) }
        if let active = f.activeKillSwitches, !active.isEmpty { fields.append(("kill_switches_active", .array(active.map(JSON.string)))) }
        if !f.detectors.isEmpty {
            fields.append(
                (
                    "detectors",
                    .object(
                        f.detectors.sorted { $0.key < $1.key }.map { name, o in
                            var d: [(String, JSON)]
                            switch o.state {
                            case .fired: d = [("fired", .bool(true))]
                            case .clear: d = [("fired", .bool(false))]
                            case .error(let m): d = [("error", .string(m))]
                            }
                            if let output = o.output { d.append(("output", .string(output))) }
                            return (name, .object(d))
                        })
                ))
        }
        if !f.health.isEmpty {
            fields.append(
                (
                    "health",
                    .object(
                        f.health.sorted { $0.key < $1.key }.map { name, h in
                            // A measuring check's values decide it when replayed, under the thresholds of the policy
                            // replayed with, so its `ok` (the judgement of the day) is not written beside them.
                            var d: [(String, JSON)] = h.measurement == nil ? [("ok", .bool(h.ok))] : []
                            if let e = h.exitCode { d.append(("exit", .int(Int64(e)))) }
                            if let o = h.output { d.append(("output", .string(o))) }
                            if let t = h.duration { d.append(("duration", .string(formatDuration(milliseconds: t)))) }
                            if let m = h.measurement { d += measurementJSON(m) }
                            return (name, .object(d))
                        })
                ))
        }
        var lock: [(String, JSON)] = []
        if let h = f.lock.held { lock.append(("held", .bool(h))) }
        if let a = f.lock.available { lock.append(("available", .bool(a))) }
        if let s = f.lock.slots { lock.append(("slots", .int(s))) }
        if let holders = f.lock.holders {
            lock.append(
                (
                    "holders",
                    .array(
                        holders.map { h in
                            var d: [(String, JSON)] = [("node", .string(h.node))]
                            if let pid = h.pid { d.append(("pid", .int(Int64(pid)))) }
                            if let since = h.since { d.append(("since", .string(since.description))) }
                            return .object(d)
                        })
                ))
        } else if let count = f.lock.holderCount {
            lock.append(("holders", .int(count)))
        }
        if let waiting = f.lock.waiting { lock.append(("waiting", .array(waiting.map { .string($0) }))) }
        if let count = f.lock.waitingCount { lock.append(("waiting_count", .int(count))) }
        if !lock.isEmpty { fields.append(("lock", .object(lock))) }
        var cluster: [(String, JSON)] = []
        if let v = f.cluster.size { cluster.append(("size", .int(v))) }
        if let v = f.cluster.healthy { cluster.append(("healthy", .int(v))) }
        if let v = f.cluster.fallbackHealthy { cluster.append(("fallback_healthy", .int(v))) }
        if let v = f.cluster.lastReboot { cluster.append(("last_reboot", .string(v.description))) }
        if !cluster.isEmpty { fields.append(("cluster", .object(cluster))) }
        return .object(fields)
    }

    /// Errors for detector and health check names the policy does not have (a typo would otherwise be taken as
    /// "not given" and assumed clear or ok).
    public func diagnostics(against policy: CheckedPolicy) -> [Diagnostic] {
        var out: [Diagnostic] = []
        let detectors = policy.detectors.map(\.name)
        for (name, span) in detectorNames where !detectors.contains(name) {
            out.append(unknown("detector", name, span, known: detectors, policy: policy.name))
        }
        let checks = policy.health.map(\.name)
        for (name, span) in healthNames where !checks.contains(name) {
            out.append(unknown("health check", name, span, known: checks, policy: policy.name))
        }
        let switches = policy.killSwitches.map(policy.text(of:))
        if let span = activeKillSwitchesSpan, let unknown = facts.activeKillSwitches?.first(where: { !switches.contains($0) }) {
            out.append(
                Diagnostic(
                    .importUnknownField, "unknown kill switch \(quoteString(unknown))", at: span, label: "not in policy \(quoteString(policy.name))",
                    help: switches.isEmpty ? "policy \(quoteString(policy.name)) has no kill switch" : "policy \(quoteString(policy.name)) has " + switches.map(quoteString).joined(separator: ", ")))
        }
        // A value the check does not measure would be ignored, and the check taken as passing.
        for (check, key, span) in measuredKeys {
            guard let spec = policy.health.first(where: { $0.name == check }) else { continue }
            let measured = spec.probe.map { Self.measuredFields[$0.kind] ?? [] } ?? []
            guard !measured.contains(key) else { continue }
            let what = spec.probe.map { ($0.kind == .prometheus ? "a " : "an ") + $0.kind.rawValue + " check" } ?? "a script"
            out.append(
                Diagnostic(
                    .importUnknownField, "health \(quoteString(check)) is \(what): it measures no `\(key)`", at: span,
                    label: "not measured by this check",
                    help: measured.isEmpty ? "write `{ok: true}` or `{ok: false, output: \"…\"}`" : "its measured values are " + measured.map { "`\($0)`" }.joined(separator: ", ")))
        }
        return out
    }

    /// The measured values a facts file gives each kind of check, as the daemon writes them.
    static let measuredFields: [HealthProbe.Kind: [String]] = [
        .http: ["status", "json", "body_error"], .prometheus: ["status", "value", "result", "empty", "query_error"], .alerts: ["status", "alerts"],
    ]

    /// ``diagnostics(against:)-(CheckedPolicy)``, and what contradicts the policy's thresholds: an `ok` beside
    /// measured values that give the other answer (the values decide, so the `ok` would be ignored), a prometheus
    /// check given no query result, an alerts check given no list of alerts.
    public func diagnostics(against prepared: PreparedPolicy) -> [Diagnostic] {
        var out = diagnostics(against: prepared.policy)
        for (check, ok, span) in givenOK {
            guard let observation = facts.health[check], let judged = prepared.judgeHealth(check, observation), judged.ok != ok else { continue }
            out.append(
                Diagnostic(
                    .importInvalidValue, "health \(quoteString(check)): `ok: \(ok)` contradicts its measured values, which \(judged.ok ? "pass" : "fail") under this policy (\(judged.text))",
                    at: span, label: "contradicted by the values",
                    help: "the values decide a measuring check: remove `ok`, or give the values it saw"))
        }
        for (check, span) in healthNames {
            guard let kind = prepared.policy.health.first(where: { $0.name == check })?.probe?.kind, let m = facts.health[check]?.measurement else { continue }
            if kind == .prometheus, m.value == nil, m.samples == nil, m.queryError == nil {
                out.append(
                    Diagnostic(
                        .importMissingField, "health \(quoteString(check)) gives no query result", at: span, label: "a prometheus check without its result",
                        help: "give `value: 0.034`, `result: [...]`, `empty: true` or `query_error: \"…\"`"))
            } else if kind == .alerts, m.blockingAlerts == nil {
                out.append(
                    Diagnostic(
                        .importMissingField, "health \(quoteString(check)) gives no list of active alerts", at: span, label: "an alerts check without its alerts",
                        help: "give `alerts: []` when none is active, or their names: `alerts: [HighErrorRate]`"))
            }
        }
        return out
    }

    private func unknown(_ what: String, _ name: String, _ span: Span, known: [String], policy: String) -> Diagnostic {
        let help = closestMatch(name, in: known).map { "did you mean \(quoteString($0))?" }
            ?? (known.isEmpty ? "policy \(quoteString(policy)) has no \(what)s" : "policy \(quoteString(policy)) has \(known.map(quoteString).joined(separator: ", "))")
        return Diagnostic(.importUnknownField, "unknown \(what) \(quoteString(name))", at: span, label: "not in policy \(quoteString(policy))", help: help)
    }

    /// `2.5s`, `1.5h`: a decimal number and one unit, to the millisecond.
    static func decimalDuration(_ text: String) -> Int64? {
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        guard let (unit, scale) = units.first(where: { text.hasSuffix($0.0) }) else { return nil }
        let number = text.dropLast(unit.count)
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(number) else { return nil }
        let ms = (value * scale).rounded()
        return ms < 9e15 ? Int64(ms) : nil
    }

    private struct Parser {
        var yaml: YAMLReader
        var facts = Facts()
        var detectorNames: [(String, Span)] = []
        var healthNames: [(String, Span)] = []
        var measuredKeys: [(check: String, key: String, span: Span)] = []
        var givenOK: [(check: String, ok: Bool, span: Span)] = []
        var activeKillSwitchesSpan: Span?

        mutating func run() {
            guard let root = yaml.compose(emptyMessage: "the facts file is empty", emptyHelp: "give at least `now`, e.g. `now: \"2026-11-21T10:00:00+01:00\"`") else {
                return
            }
            guard let fields = yaml.mapping(root, allowed: FactsFile.topLevel, context: "the facts") else { return }
            if let n = fields["now"] { facts.now = instant(n, "now") }
            if let n = fields["phase"], let text = yaml.string(n, "phase") {
                facts.phase = HealthPhase.allCases.first { $0.environmentValue == text || $0.rawValue == text }
                if facts.phase == nil { yaml.invalid(n, "unknown phase \(quoteString(text))", help: "the phases are pre-lock, post-lock and post-boot") }
            }
            if let n = fields["kill_switch"] { facts.killSwitch = yaml.bool(n, "kill_switch") }
            if let n = fields["kill_switches_active"], let active = yaml.stringList(n, "kill_switches_active") {
                if let on = facts.killSwitch, on == active.isEmpty {
                    yaml.invalid(n, "`kill_switches_active` contradicts `kill_switch: \(on)`", help: "a kill switch is active exactly when one of them is: remove one of the two")
                } else {
                    facts.activeKillSwitches = active
                    activeKillSwitchesSpan = yaml.span(n)
                    if facts.killSwitch == nil { facts.killSwitch = !active.isEmpty }
                }
            }
            if let n = fields["node"], let node = yaml.mapping(n, allowed: ["name", "labels", "uptime"], context: "`node`") {
                facts.nodeName = yaml.string(node["name"], "node.name")
                if let l = node["labels"], let entries = yaml.entries(l, allowed: nil, context: "`node.labels`") {
                    var labels: [String: String] = [:]
                    for entry in entries {
                        if let value = yaml.string(entry.value, "node.labels.\(entry.name)") { labels[entry.name] = value }
                    }
                    facts.nodeLabels = labels
                }
                if let u = node["uptime"] { facts.nodeUptime = duration(u, "node.uptime") }
            }
            if let n = fields["detectors"], let entries = yaml.entries(n, allowed: nil, context: "`detectors`") {
                for entry in entries {
                    detectorNames.append((entry.name, yaml.span(entry.key)))
                    if let observation = detector(entry.value, entry.name) { facts.detectors[entry.name] = observation }
                }
            }
            if let n = fields["health"], let entries = yaml.entries(n, allowed: nil, context: "`health`") {
                for entry in entries {
                    healthNames.append((entry.name, yaml.span(entry.key)))
                    if let observation = health(entry.value, entry.name) { facts.health[entry.name] = observation }
                }
            }
            if let n = fields["lock"], let lock = yaml.mapping(n, allowed: ["held", "available", "slots", "holders", "waiting", "waiting_count"], context: "`lock`") {
                facts.lock.held = yaml.bool(lock["held"], "lock.held")
                facts.lock.available = yaml.bool(lock["available"], "lock.available")
                facts.lock.slots = yaml.int(lock["slots"], "lock.slots", min: 1).map(Int64.init)
                if let h = lock["holders"] { holders(h) }
                if let w = lock["waiting"] { facts.lock.waiting = yaml.stringList(w, "lock.waiting") }
                facts.lock.waitingCount = yaml.int(lock["waiting_count"], "lock.waiting_count").map(Int64.init)
            }
            if let n = fields["cluster"], let c = yaml.mapping(n, allowed: ["size", "healthy", "fallback_healthy", "last_reboot"], context: "`cluster`") {
                facts.cluster.size = yaml.int(c["size"], "cluster.size").map(Int64.init)
                facts.cluster.healthy = yaml.int(c["healthy"], "cluster.healthy").map(Int64.init)
                facts.cluster.fallbackHealthy = yaml.int(c["fallback_healthy"], "cluster.fallback_healthy").map(Int64.init)
                if let l = c["last_reboot"] { facts.cluster.lastReboot = instant(l, "cluster.last_reboot") }
                if let size = facts.cluster.size, let healthy = facts.cluster.healthy, healthy > size, let node = c["healthy"] {
                    yaml.invalid(node, "`cluster.healthy` (\(healthy)) is larger than `cluster.size` (\(size))")
                }
            }
        }

        mutating func instant(_ node: Node, _ field: String) -> Instant? {
            guard let text = yaml.string(node, field) else { return nil }
            switch Instant.parse(text) {
            case .success(let i): return i
            case .failure(let error):
                yaml.invalid(node, "`\(field)`: \(error.reason)", help: "write an RFC 3339 instant such as \"2026-11-21T10:00:00+01:00\"")
                return nil
            }
        }

        mutating func duration(_ node: Node, _ field: String) -> Int64? {
            guard let text = yaml.string(node, field) else { return nil }
            if let ms = Lexer.parseDuration(text) ?? FactsFile.decimalDuration(text) { return ms }
            yaml.invalid(node, "`\(field)`: \(quoteString(text)) is not a duration", help: "write a duration such as `36h`, `90s` or `1h30m`")
            return nil
        }

        /// `fired`, `clear`, `error` or `{fired: true}`, `{error: "message", output: "…"}`.
        mutating func detector(_ node: Node, _ name: String) -> DetectorObservation? {
            if case .scalar(let s) = node {
                switch s.string {
                case "fired": return DetectorObservation(.fired)
                case "clear": return DetectorObservation(.clear)
                case "error": return DetectorObservation(.error("error"))
                default:
                    yaml.invalid(node, "detector \(quoteString(name)): \(quoteString(s.string)) is not a detector state", help: "write `fired`, `clear`, `{fired: true}` or `{error: \"message\"}`")
                    return nil
                }
            }
            guard let d = yaml.mapping(node, allowed: ["fired", "error", "output"], context: "detector \(quoteString(name))") else { return nil }
            let output = yaml.string(d["output"], "output")
            if let e = d["error"] {
                guard let message = yaml.string(e, "error") else { return nil }
                return DetectorObservation(.error(message), output: output)
            }
            guard let f = d["fired"] else {
                yaml.invalid(node, "detector \(quoteString(name)) needs `fired` or `error`", help: "write `{fired: true}`, `{fired: false}` or `{error: \"message\"}`")
                return nil
            }
            return yaml.bool(f, "fired").map { DetectorObservation($0 ? .fired : .clear, output: output) }
        }

        /// `ok`, `fails` or `{ok: false, exit: 1, output: "…", duration: 2.5s}`.
        mutating func health(_ node: Node, _ name: String) -> HealthObservation? {
            if case .scalar(let s) = node {
                switch s.string {
                case "ok": return HealthObservation(ok: true, exitCode: 0)
                case "fails", "failed": return HealthObservation(ok: false, exitCode: 1)
                default:
                    yaml.invalid(node, "health \(quoteString(name)): \(quoteString(s.string)) is not a health result", help: "write `ok`, `fails` or `{ok: false, exit: 1, output: \"…\"}`")
                    return nil
                }
            }
            let measured = ["status", "json", "body_error", "value", "result", "empty", "query_error", "alerts"]
            guard let entries = yaml.entries(node, allowed: ["ok", "exit", "output", "duration"] + measured, context: "health \(quoteString(name))") else { return nil }
            let h = Dictionary(entries.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            for entry in entries where measured.contains(entry.name) { measuredKeys.append((name, entry.name, yaml.span(entry.key))) }
            let exit = yaml.int(h["exit"], "exit", min: Int(Int32.min))
            let measurement = measured.contains { h[$0] != nil } ? self.measurement(h) : nil
            guard let ok = yaml.bool(h["ok"], "ok") ?? exit.map({ $0 == 0 }) ?? measurement.map({ _ in true }) else {
                yaml.invalid(node, "health \(quoteString(name)) needs `ok` or `exit`", help: "write `{ok: true}` or `{exit: 1}`")
                return nil
            }
            if measurement != nil, let entry = entries.first(where: { $0.name == "ok" }) {
                givenOK.append((name, ok, yaml.span(entry.key)))
            }
            if let exit, (exit == 0) != ok, let e = h["exit"] {
                yaml.invalid(e, "health \(quoteString(name)): `ok: \(ok)` contradicts `exit: \(exit)`", help: "a health check passes exactly when it exits 0")
            }
            let duration = h["duration"].flatMap { self.duration($0, "duration") }
            return HealthObservation(ok: ok, exitCode: exit, output: yaml.string(h["output"], "output"), duration: duration, measurement: measurement)
        }

        /// `{status: 200, json: {…}}`, `{value: 0.034}`, `{result: [{value: 1, labels: {job: "web"}}]}`, `{alerts: ["X"]}`.
        mutating func measurement(_ h: [String: Node]) -> HealthMeasurement {
            var m = HealthMeasurement()
            m.status = yaml.int(h["status"], "status").map(Int64.init)
            m.json = h["json"].map(jsonValue)
            m.bodyError = yaml.string(h["body_error"], "body_error")
            if let v = h["value"] {
                if let d = v.float { m.value = d } else { yaml.invalid(v, "`value` must be a number") }
            }
            if let r = h["result"] {
                if case .sequence(let items) = r {
                    m.samples = items.compactMap { item in
                        if let d = item.float { return HealthSample(value: d) }
                        guard let s = yaml.mapping(item, allowed: ["value", "labels"], context: "a sample"), let d = s["value"]?.float else {
                            yaml.invalid(item, "a sample needs a numeric `value`", help: "write `{value: 0.5, labels: {job: \"web\"}}`")
                            return nil
                        }
                        var labels: [String: String] = [:]
                        if let l = s["labels"], let entries = yaml.entries(l, allowed: nil, context: "`labels`") {
                            for entry in entries { labels[entry.name] = yaml.string(entry.value, entry.name) }
                        }
                        return HealthSample(value: d, labels: labels)
                    }
                } else {
                    yaml.invalid(r, "`result` must be a list of samples")
                }
            }
            if let e = h["empty"], let empty = yaml.bool(e, "empty") {
                let samples = m.samples?.count ?? (m.value == nil ? 0 : 1)
                if empty, samples > 0 {
                    yaml.invalid(e, "`empty: true` contradicts the \(m.value != nil ? "`value`" : "samples of `result`") given beside it", help: "a query that returned no sample has neither: remove one")
                } else if !empty, samples == 0 {
                    yaml.invalid(e, "`empty: false` needs the sample the query returned", help: "give `value: 0.034` or `result: [...]`")
                } else if empty {
                    m.samples = []
                }
            }
            m.queryError = yaml.string(h["query_error"], "query_error")
            m.blockingAlerts = yaml.stringList(h["alerts"], "alerts")
            return m
        }

        /// Any YAML value as a language value: mappings are maps, sequences lists, plain scalars numbers or bools
        /// when they read as such.
        func jsonValue(_ node: Node) -> Value {
            switch node {
            case .mapping(let map):
                var out: [String: Value] = [:]
                for (k, v) in map { if let key = k.string { out[key] = jsonValue(v) } }
                return .map(out)
            case .sequence(let seq): return .list(seq.map(jsonValue))
            case .scalar(let s):
                if s.style == .plain {
                    if let b = node.bool { return .bool(b) }
                    if let i = Int64(s.string) { return .int(i) }
                    if let d = node.float { return .number(d) }
                }
                return .string(s.string)
            default: return .string("")
            }
        }

        /// A count, or a list of `{node, pid, since}`.
        mutating func holders(_ node: Node) {
            if case .scalar = node {
                facts.lock.holderCount = yaml.int(node, "lock.holders").map(Int64.init)
                return
            }
            guard case .sequence(let items) = node else {
                yaml.invalid(node, "`lock.holders` must be a number or a list of holders")
                return
            }
            var holders: [LockHolder] = []
            for item in items {
                guard let h = yaml.mapping(item, allowed: ["node", "pid", "since"], context: "a lock holder") else { continue }
                guard let name = yaml.string(h["node"], "node") else {
                    yaml.invalid(item, "a lock holder needs `node`")
                    continue
                }
                holders.append(LockHolder(node: name, pid: yaml.int(h["pid"], "pid", min: 1), since: h["since"].flatMap { instant($0, "since") }))
            }
            facts.lock.holders = holders
        }
    }
}

/// The measured values of a health observation, as a facts file writes them.
func measurementJSON(_ m: HealthMeasurement) -> [(String, JSON)] {
    var d: [(String, JSON)] = []
    if let s = m.status { d.append(("status", .int(s))) }
    if let j = m.json { d.append(("json", valueJSON(j))) }
    if let e = m.bodyError { d.append(("body_error", .string(e))) }
    if let v = m.value { d.append(("value", .double(v))) }
    if let samples = m.samples {
        d.append(("result", .array(samples.map { .object([("value", .double($0.value)), ("labels", .object($0.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))]) })))
    }
    if let e = m.queryError { d.append(("query_error", .string(e))) }
    if let a = m.blockingAlerts { d.append(("alerts", .array(a.map(JSON.string)))) }
    return d
}

/// A language value as JSON (maps with sorted keys).
func valueJSON(_ value: Value) -> JSON {
    switch value {
    case .bool(let b): .bool(b)
    case .int(let i): .int(i)
    case .number(let n): .double(n)
    case .string(let s): .string(s)
    case .list(let items): .array(items.map(valueJSON))
    case .map(let m): .object(m.sorted { $0.key < $1.key }.map { ($0.key, valueJSON($0.value)) })
    default: .string(value.description)
    }
}
