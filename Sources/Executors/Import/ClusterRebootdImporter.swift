import Foundation
import PolicyLang
import Yams

/// Converts a clusterrebootd YAML configuration into an equivalent rc policy.
///
/// Every field of that format is understood; an unknown field or a bad value gives a diagnostic located
/// at its line in the YAML. The generated policy is formatted and passes `rc check`.
public struct ClusterRebootdImporter {
    /// The result of an import.
    public struct Output: Sendable {
        /// The policy text, when the import succeeded.
        public var policy: String?
        /// Diagnostics about the YAML file.
        public var diagnostics: [Diagnostic]
    }

    static let topLevelFields = [
        "node_name", "dry_run", "reboot_required_detectors", "health_script", "health_timeout_sec", "health_publish_interval_sec",
        "check_interval_sec", "backoff_min_sec", "backoff_max_sec", "min_reboot_interval_sec", "kill_switch_file", "etcd_endpoints",
        "etcd_namespace", "lock_key", "lock_ttl_sec", "etcd_tls", "reboot_command", "cluster_policies", "windows", "metrics",
    ]

    private let file: SourceFile
    private var yaml: YAMLReader

    /// Imports the YAML in `file`.
    public static func convert(_ file: SourceFile) -> Output {
        var importer = ClusterRebootdImporter(file: file)
        let text = importer.run()
        return Output(policy: importer.yaml.diagnostics.contains { $0.severity == .error } ? nil : text, diagnostics: importer.yaml.diagnostics)
    }

    private init(file: SourceFile) {
        self.file = file
        yaml = YAMLReader(file: file, unknownFieldLabel: "not a clusterrebootd field")
    }

    // MARK: - Conversion

    private mutating func run() -> String? {
        guard let root = yaml.compose(emptyMessage: "the configuration is empty", emptyHelp: "a clusterrebootd configuration needs at least `reboot_required_detectors`") else {
            return nil
        }
        guard let f = yaml.mapping(root, allowed: Self.topLevelFields, context: "the configuration") else { return nil }
        var out: [String] = ["# Imported from a clusterrebootd configuration (\((file.path as String).split(separator: "/").last.map(String.init) ?? file.path))."]

        let nodeName = yaml.string(f["node_name"], "node_name")
        if let nodeName {
            out.append(
                "# node_name: rc runs as node \(quoteString(nodeName)), as clusterrebootd did, unless --node-name or RC_NODE_NAME\n# says otherwise.\n"
                    + "policy \(quoteString(nodeName)) {\n  applies_to node.name == \(quoteString(nodeName))\n  node_name  \(quoteString(nodeName))\n}")
        } else {
            out.append("policy \"imported\" {\n  description \"applies to every node\"\n}")
        }
        if let dry = yaml.bool(f["dry_run"], "dry_run") { out.append("dry_run \(dry)") }

        // Detectors.
        if let node = f["reboot_required_detectors"] {
            if case .sequence(let seq) = node {
                if seq.isEmpty { yaml.invalid(node, "`reboot_required_detectors` is empty", help: "add at least one detector") }
                var lines: [String] = []
                for (index, item) in seq.enumerated() {
                    if let line = detector(item, index: index) { lines.append(line) }
                }
                out.append(lines.joined(separator: "\n"))
            } else {
                yaml.invalid(node, "`reboot_required_detectors` must be a list")
            }
        } else {
            yaml.diagnostics.append(
                Diagnostic(
                    .importMissingField, "the configuration has no `reboot_required_detectors`", at: yaml.span(root), label: "no detectors",
                    help: "add e.g. `reboot_required_detectors: [{type: file, path: /var/run/reboot-required}]`"))
        }

        // Windows are UTC in clusterrebootd.
        if let node = f["windows"], let w = yaml.mapping(node, allowed: ["deny", "allow"], context: "`windows`") {
            var lines = ["timezone \"UTC\""]
            for effect in ["deny", "allow"] {
                guard let listNode = w[effect] else { continue }
                guard case .sequence(let seq) = listNode else {
                    yaml.invalid(listNode, "`windows.\(effect)` must be a list")
                    continue
                }
                for (i, item) in seq.enumerated() {
                    guard let text = yaml.string(item, "windows.\(effect)") else { continue }
                    if let converted = window(text, item) {
                        lines.append("window \(effect) \"\(effect)-\(i + 1)\" \(converted)")
                    }
                }
            }
            out.append(lines.joined(separator: "\n"))
        }

        // Health gate.
        var healthTimeout = 30
        if let t = yaml.int(f["health_timeout_sec"], "health_timeout_sec", min: 1) { healthTimeout = t }
        if let script = yaml.string(f["health_script"], "health_script") {
            if !script.hasPrefix("/"), let n = f["health_script"] {
                yaml.invalid(n, "`health_script` must be an absolute path")
            }
            out.append("health \"health_script\" script \(quoteString(script)) {\n  timeout \(healthTimeout)s\n  run pre_lock, post_lock\n}")
        }

        // Lock.
        let endpoints = yaml.stringList(f["etcd_endpoints"], "etcd_endpoints") ?? []
        var tlsEnabled = false
        var tlsLines: [String] = []
        if let node = f["etcd_tls"], let t = yaml.mapping(node, allowed: ["enabled", "ca_file", "cert_file", "key_file", "insecure_skip_verify"], context: "`etcd_tls`") {
            tlsEnabled = yaml.bool(t["enabled"], "etcd_tls.enabled") ?? false
            for (yamlKey, rcKey) in [("ca_file", "ca"), ("cert_file", "cert"), ("key_file", "key")] {
                if let path = yaml.string(t[yamlKey], "etcd_tls.\(yamlKey)") {
                    if !path.hasPrefix("/"), let n = t[yamlKey] { yaml.invalid(n, "`etcd_tls.\(yamlKey)` must be an absolute path") }
                    tlsLines.append("\(rcKey) \(quoteString(path))")
                }
            }
            if yaml.bool(t["insecure_skip_verify"], "etcd_tls.insecure_skip_verify") == true { tlsLines.append("insecure_skip_verify true") }
        }
        let namespace = yaml.string(f["etcd_namespace"], "etcd_namespace")
        let lockKey = yaml.string(f["lock_key"], "lock_key")
        var ttl = 90
        if let t = yaml.int(f["lock_ttl_sec"], "lock_ttl_sec", min: 1) { ttl = t }
        if ttl <= healthTimeout, let n = f["lock_ttl_sec"] ?? f["health_timeout_sec"] {
            yaml.invalid(n, "`lock_ttl_sec` (\(ttl)) must be longer than `health_timeout_sec` (\(healthTimeout))", help: "the lock could expire while the health script runs")
        }
        if endpoints.isEmpty {
            out.append("lock local")
        } else {
            let scheme = tlsEnabled ? "https" : "http"
            let urls = endpoints.map { $0.contains("://") ? $0 : "\(scheme)://\($0)" }
            var lines = ["lock etcd {", "  endpoints [\(urls.map(quoteString).joined(separator: ", "))]"]
            if tlsEnabled, !tlsLines.isEmpty { lines.append("  tls { \(tlsLines.joined(separator: "  ")) }") }
            let (prefix, group) = lockLocation(namespace: namespace, lockKey: lockKey)
            lines.append("  key \(quoteString(prefix))")
            lines.append("  group \(quoteString(group))")
            lines.append("  ttl \(ttl)s")
            lines.append("}")
            out.append(lines.joined(separator: "\n"))
        }

        if let path = yaml.string(f["kill_switch_file"], "kill_switch_file") {
            if path.hasPrefix("/") { out.append("kill_switch file \(quoteString(path))") } else if let n = f["kill_switch_file"] {
                yaml.invalid(n, "`kill_switch_file` must be an absolute path")
            }
        }

        if let node = f["reboot_command"], let argv = yaml.stringList(node, "reboot_command") {
            if argv.isEmpty { yaml.invalid(node, "`reboot_command` is empty") }
            var converted: [String] = []
            for arg in argv {
                guard let c = interpolate(arg, node) else { break }
                converted.append(c)
            }
            if converted.count == argv.count, !argv.isEmpty {
                if !argv[0].hasPrefix("/") { yaml.invalid(node, "the reboot program must be an absolute path") }
                out.append("reboot command [\(converted.joined(separator: ", "))]")
            }
        }

        // Cluster settings.
        var cluster: [String] = []
        if let v = yaml.int(f["check_interval_sec"], "check_interval_sec", min: 1) { cluster.append("check_interval \(v)s") }
        let bmin = yaml.int(f["backoff_min_sec"], "backoff_min_sec", min: 1)
        let bmax = yaml.int(f["backoff_max_sec"], "backoff_max_sec", min: 1)
        if bmin != nil || bmax != nil {
            let low = bmin ?? 5
            let high = bmax ?? 60
            if high < low, let n = f["backoff_max_sec"] {
                yaml.invalid(n, "`backoff_max_sec` (\(high)) is shorter than `backoff_min_sec` (\(low))")
            }
            cluster.append("backoff \(low)s .. \(high)s")
        }
        if let v = yaml.int(f["min_reboot_interval_sec"], "min_reboot_interval_sec") { cluster.append("cooldown \(v)s") }
        if let v = yaml.int(f["health_publish_interval_sec"], "health_publish_interval_sec", min: 1) { cluster.append("publish_interval \(v)s") }

        var rules: [String] = []
        if let node = f["cluster_policies"],
            let p = yaml.mapping(node, allowed: ["min_healthy_fraction", "min_healthy_absolute", "forbid_if_only_fallback_left", "fallback_nodes"], context: "`cluster_policies`")
        {
            let fallback = yaml.stringList(p["fallback_nodes"], "cluster_policies.fallback_nodes") ?? []
            if !fallback.isEmpty { cluster.append("fallback_nodes [\(fallback.map(quoteString).joined(separator: ", "))]") }
            if let n = p["min_healthy_fraction"] {
                if let fraction = n.float, fraction > 0, fraction <= 1 {
                    let percent = (fraction * 10_000).rounded() / 100
                    let text = percent == percent.rounded() ? String(Int(percent)) : String(percent)
                    rules.append("rule \"min healthy fraction\" { deny when cluster.healthy < \(text)% of cluster.size }")
                } else {
                    yaml.invalid(n, "`min_healthy_fraction` must be a number in (0, 1]", help: "write e.g. 0.6 for 60%")
                }
            }
            if let n = yaml.int(p["min_healthy_absolute"], "cluster_policies.min_healthy_absolute") {
                rules.append("rule \"min healthy absolute\" { deny when cluster.healthy < \(n) }")
            }
            if yaml.bool(p["forbid_if_only_fallback_left"], "cluster_policies.forbid_if_only_fallback_left") == true {
                if fallback.isEmpty, let n = p["forbid_if_only_fallback_left"] {
                    yaml.invalid(n, "`forbid_if_only_fallback_left` needs `fallback_nodes`")
                } else {
                    rules.append(
                        "rule \"keep a fallback\" { deny when node.name in [\(fallback.map(quoteString).joined(separator: ", "))] and cluster.fallback_healthy < 2 }")
                }
            }
        }
        if !cluster.isEmpty { out.append("cluster {\n" + cluster.map { "  " + $0 }.joined(separator: "\n") + "\n}") }

        if let node = f["metrics"], let m = yaml.mapping(node, allowed: ["enabled", "listen"], context: "`metrics`") {
            var lines: [String] = []
            let enabled = yaml.bool(m["enabled"], "metrics.enabled") ?? true
            lines.append("enabled \(enabled)")
            if let l = yaml.string(m["listen"], "metrics.listen") {
                if let colon = l.lastIndex(of: ":"), Int(l[l.index(after: colon)...]) != nil {
                    lines.append("listen \(quoteString(l))")
                } else if let n = m["listen"] {
                    yaml.invalid(n, "`metrics.listen` must be host:port")
                }
            }
            let block = "metrics {\n" + lines.map { "  " + $0 }.joined(separator: "\n") + "\n}"
            // rc does not serve metrics yet: an enabled block would be refused, so it is kept as a comment.
            out.append(
                enabled
                    ? "# clusterrebootd served metrics here; rc does not serve metrics yet:\n" + block.split(separator: "\n").map { "# " + $0 }.joined(separator: "\n")
                    : block)
        }
        out.append(contentsOf: rules)
        return out.joined(separator: "\n\n") + "\n"
    }

    /// clusterrebootd keeps one mutex key; rc keeps a prefix and a group below it.
    private func lockLocation(namespace: String?, lockKey: String?) -> (String, String) {
        let trimmedNamespace = namespace.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        if let key = lockKey, let slash = key.lastIndex(of: "/"), slash != key.startIndex {
            let parent = String(key[..<slash])
            let leaf = String(key[key.index(after: slash)...])
            return (trimmedNamespace ?? parent, leaf.isEmpty ? "default" : leaf)
        }
        return (trimmedNamespace ?? "/cluster/reboot-coordinator", "lock")
    }

    private mutating func detector(_ node: Node, index: Int) -> String? {
        guard let d = yaml.mapping(node, allowed: ["name", "type", "path", "cmd", "success_exit_codes", "timeout_sec"], context: "a detector") else {
            return nil
        }
        guard let type = yaml.string(d["type"], "type") else {
            yaml.diagnostics.append(Diagnostic(.importMissingField, "a detector needs `type`", at: yaml.span(node), label: "no type", help: "write `type: file` or `type: command`"))
            return nil
        }
        let explicitName = yaml.string(d["name"], "name")
        switch type {
        case "file":
            guard let path = yaml.string(d["path"], "path") else {
                yaml.diagnostics.append(Diagnostic(.importMissingField, "a file detector needs `path`", at: yaml.span(node), label: "no path"))
                return nil
            }
            guard path.hasPrefix("/") else {
                yaml.invalid(d["path"]!, "a detector path must be absolute")
                return nil
            }
            for extra in ["cmd", "success_exit_codes", "timeout_sec"] where d[extra] != nil {
                yaml.invalid(d[extra]!, "`\(extra)` applies to command detectors only")
            }
            return "detector \(quoteString(explicitName ?? "file:\(path)")) file \(quoteString(path))"
        case "command":
            guard let cmd = yaml.stringList(d["cmd"], "cmd"), let program = cmd.first else {
                if d["cmd"] == nil || (yaml.stringList(d["cmd"], "cmd")?.isEmpty ?? false) {
                    yaml.diagnostics.append(Diagnostic(.importMissingField, "a command detector needs `cmd`", at: yaml.span(d["cmd"] ?? node), label: "no command"))
                }
                return nil
            }
            if !program.hasPrefix("/"), let n = d["cmd"] { yaml.invalid(n, "the detector program must be an absolute path") }
            if d["path"] != nil { yaml.invalid(d["path"]!, "`path` applies to file detectors only") }
            var codes = [0]
            if let node = d["success_exit_codes"] {
                guard case .sequence(let seq) = node, !seq.isEmpty else {
                    yaml.invalid(node, "`success_exit_codes` must be a non-empty list of exit codes")
                    return nil
                }
                codes = []
                for item in seq {
                    guard let c = yaml.int(item, "success_exit_codes"), c <= 255 else {
                        yaml.invalid(item, "an exit code is a number from 0 to 255")
                        return nil
                    }
                    codes.append(c)
                }
            }
            let timeout = yaml.int(d["timeout_sec"], "timeout_sec", min: 1) ?? 10
            let condition = codes.count == 1 ? "exit == \(codes[0])" : "exit in [\(codes.map(String.init).joined(separator: ", "))]"
            let okCondition = codes.count == 1 ? "exit != \(codes[0])" : "exit not in [\(codes.map(String.init).joined(separator: ", "))]"
            return """
                detector \(quoteString(explicitName ?? "command:\(program)")) command [\(cmd.map(quoteString).joined(separator: ", "))] {
                  reboot_when \(condition)
                  ok_when \(okCondition)
                  timeout \(timeout)s
                }
                """
        default:
            yaml.invalid(d["type"]!, "unknown detector type \(quoteString(type))", help: "the types are `file` and `command`")
            return nil
        }
    }

    /// Converts `${RC_NODE_NAME}` to `${node.name}` and quotes the argument.
    private mutating func interpolate(_ arg: String, _ node: Node) -> String? {
        var out = ""
        var rest = Substring(arg)
        while let open = rest.range(of: "${") {
            out += escapeDollarFree(rest[..<open.lowerBound])
            let after = rest[open.upperBound...]
            guard let close = after.firstIndex(of: "}") else {
                yaml.invalid(node, "unclosed `${` in \(quoteString(arg))")
                return nil
            }
            let name = after[..<close]
            switch name {
            case "RC_NODE_NAME": out += "${node.name}"
            case "RC_PHASE": out += "${phase}"
            default:
                yaml.invalid(node, "unknown variable `${\(name)}` in the reboot command", help: "clusterrebootd knows ${RC_NODE_NAME}")
                return nil
            }
            rest = after[after.index(after: close)...]
        }
        out += escapeDollarFree(rest)
        return "\"" + out + "\""
    }

    private func escapeDollarFree(_ s: Substring) -> String {
        String(quoteString(String(s)).dropFirst().dropLast())
    }

    /// Converts `"Fri 18:00-Mon 08:00"`, `"* 23:00-06:00"`, `"Tue-Thu 22:00-04:00"`, `"Mon,Wed 12:00-13:00"`.
    private mutating func window(_ text: String, _ node: Node) -> String? {
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)

        guard parts.count == 2 else { return bad(text, node, "expected DAYS HH:MM-HH:MM") }
        var days: String
        if parts[0] == "*" {
            days = "daily"
        } else {
            var items: [String] = []
            for item in parts[0].split(separator: ",") {
                let range = item.split(separator: "-").map(String.init)
                guard (1...2).contains(range.count), range.allSatisfy({ Weekday(name: $0) != nil }) else { return bad(text, node, "unknown day in \(quoteString(String(item)))") }
                items.append(range.map { Weekday(name: $0)!.shortName }.joined(separator: ".."))
            }
            guard !items.isEmpty else { return bad(text, node, "no days") }
            days = items.joined(separator: ", ")
        }
        let times = parts[1].split(separator: "-", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard times.count == 2 else { return bad(text, node, "expected START-END") }
        guard validTime(times[0]) else { return bad(text, node, "invalid start time \(quoteString(times[0]))") }
        let endParts = times[1].split(separator: " ").map(String.init)
        var end = ""
        if endParts.count == 2 {
            guard let day = Weekday(name: endParts[0]) else { return bad(text, node, "unknown end day \(quoteString(endParts[0]))") }
            guard days != "daily", !days.contains(","), !days.contains("..") else { return bad(text, node, "an end day needs exactly one start day") }
            end = day.shortName + " " + endParts[1]
            guard validTime(endParts[1]) else { return bad(text, node, "invalid end time \(quoteString(endParts[1]))") }
        } else if endParts.count == 1 {
            guard validTime(endParts[0]) else { return bad(text, node, "invalid end time \(quoteString(endParts[0]))") }
            end = endParts[0]
            if end == times[0] { return bad(text, node, "the window is empty") }
        } else {
            return bad(text, node, "expected END or DAY END after `-`")
        }
        return "\(days) \(times[0]) .. \(end)"
    }

    private mutating func bad(_ text: String, _ node: Node, _ why: String) -> String? {
        yaml.invalid(node, "invalid window \(quoteString(text)): \(why)", help: "write e.g. \"Fri 18:00-Mon 08:00\", \"* 23:00-06:00\" or \"Tue-Thu 22:00-04:00\"")
        return nil
    }

    private func validTime(_ s: String) -> Bool {
        let p = s.split(separator: ":")
        guard p.count == 2, p[0].count <= 2, p[1].count == 2, let h = Int(p[0]), let m = Int(p[1]) else { return false }
        return (h < 24 && m < 60) || (h == 24 && m == 0)
    }
}
