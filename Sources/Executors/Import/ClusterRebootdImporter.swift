import Foundation
import PolicyLang
import Yams

/// Converts a clusterrebootd YAML configuration into an rc policy that decides as clusterrebootd did.
///
/// The configuration is read as clusterrebootd reads it (its `pkg/config`: `decode`, `applyDefaults`, `Validate`):
/// what it accepts imports, what it refuses is refused with a diagnostic at the line of the YAML, and where rc needs
/// something else (an absolute program path, a detector time limit, no etcd) the import writes what clusterrebootd
/// did and says so in a warning (RC4006). Every default of clusterrebootd that differs from rc's is written into
/// the policy. The generated policy is formatted and passes `rc check`.
public struct ClusterRebootdImporter {
    /// The result of an import.
    public struct Output: Sendable {
        /// The policy text, when the import succeeded.
        public var policy: String?
        /// Diagnostics about the YAML file: errors, and warnings where the policy differs from the YAML's words.
        public var diagnostics: [Diagnostic]
    }

    /// What the import takes from the host it runs on.
    public struct Options: Sendable {
        /// The zone windows are read in (clusterrebootd: the host's local zone), or why it cannot be told.
        public var timeZone: Result<ImportTimeZone, ImportProblem>
        /// The environment `$VAR` in the reboot command and `PATH` lookups read, as clusterrebootd's process did.
        public var environment: [String: String]
        /// The directory relative paths are read from: clusterrebootd's working directory, `/` under systemd.
        public var workingDirectory: String

        /// Creates options; the defaults read windows in UTC with an empty environment.
        public init(
            timeZone: Result<ImportTimeZone, ImportProblem> = .success(ImportTimeZone(name: "UTC", source: "--timezone")),
            environment: [String: String] = [:], workingDirectory: String = "/"
        ) {
            self.timeZone = timeZone
            self.environment = environment
            self.workingDirectory = workingDirectory
        }
    }

    static let topLevelFields = [
        "node_name", "dry_run", "reboot_required_detectors", "health_script", "health_timeout_sec", "health_publish_interval_sec",
        "check_interval_sec", "backoff_min_sec", "backoff_max_sec", "min_reboot_interval_sec", "kill_switch_file", "etcd_endpoints",
        "etcd_namespace", "lock_key", "lock_ttl_sec", "etcd_tls", "reboot_command", "cluster_policies", "windows", "metrics",
    ]

    /// clusterrebootd's defaults (`pkg/config/config.go`, `applyDefaults`).
    enum Upstream {
        static let healthTimeout = 30
        static let publishInterval = 15
        static let checkInterval = 60
        static let backoffMin = 5
        static let backoffMax = 60
        static let lockKey = "/cluster/clusterrebootd/lock"
        static let lockTTL = 90
        static let rebootCommand = ["/sbin/shutdown", "-r", "now", "coordinated kernel reboot"]
        static let killSwitch = "/etc/clusterrebootd/disable"
        static let metricsListen = "127.0.0.1:9090"
    }

    /// The time limit rc gives a command detector that clusterrebootd ran without one.
    static let unlimitedDetectorTimeout = 600

    let file: SourceFile
    let options: Options
    var yaml: YAMLReader
    /// The detector names so far, trimmed: clusterrebootd refuses a name twice (`pkg/detector/engine.go`, `NewEngine`).
    var detectorNames: Set<String> = []

    /// Imports the YAML in `file`.
    public static func convert(_ file: SourceFile, options: Options = Options()) -> Output {
        var importer = ClusterRebootdImporter(file: file, options: options)
        let text = importer.run()
        let diagnostics = importer.yaml.diagnostics
        // A configuration that does not import gets its errors only: what would have been written differently is moot.
        if diagnostics.contains(where: { $0.severity == .error }) { return Output(policy: nil, diagnostics: diagnostics.filter { $0.severity == .error }) }
        return Output(policy: text, diagnostics: diagnostics)
    }

    private init(file: SourceFile, options: Options) {
        self.file = file
        self.options = options
        yaml = YAMLReader(file: file, unknownFieldLabel: "not a clusterrebootd field")
    }

    // MARK: - Conversion

    private mutating func run() -> String? {
        guard let root = yaml.compose(emptyMessage: "the configuration is empty", emptyHelp: "a clusterrebootd configuration needs at least `node_name` and `reboot_required_detectors`") else {
            return nil
        }
        guard let f = fields(root, allowed: Self.topLevelFields, context: "the configuration") else { return nil }
        var out: [String] = ["# Imported from a clusterrebootd configuration (\((file.path as String).split(separator: "/").last.map(String.init) ?? file.path))."]

        // node_name is required (`Validate`).
        let nodeName = yaml.string(f["node_name"], "node_name") ?? ""
        if nodeName.trimmingCharacters(in: .whitespaces).isEmpty {
            yaml.diagnostics.append(
                Diagnostic(
                    .importMissingField, "the configuration has no `node_name`", at: yaml.span(f["node_name"] ?? root), label: "clusterrebootd requires it",
                    help: "write the node's name, e.g. `node_name: web-1`, as clusterrebootd needs it too"))
        } else {
            out.append(
                "# node_name: rc runs as node \(quoteString(nodeName)), as clusterrebootd did, unless --node-name or RC_NODE_NAME\n# says otherwise.\n"
                    + "policy \(quoteString(nodeName)) {\n  applies_to node.name == \(quoteString(nodeName))\n  node_name  \(quoteString(nodeName))\n}")
        }
        let dryRun = yaml.bool(f["dry_run"], "dry_run") ?? false
        if f["dry_run"] != nil { out.append("dry_run \(dryRun)") }

        // Detectors.
        if let node = f["reboot_required_detectors"], case .sequence(let seq) = node, !seq.isEmpty {
            var lines: [String] = []
            for (index, item) in seq.enumerated() {
                if let line = detector(item, index: index) { lines.append(line) }
            }
            out.append(lines.joined(separator: "\n"))
        } else if let node = f["reboot_required_detectors"], case .sequence = node {
            yaml.invalid(node, "`reboot_required_detectors` is empty", help: "add at least one detector, as clusterrebootd requires")
        } else if let node = f["reboot_required_detectors"] {
            yaml.invalid(node, "`reboot_required_detectors` must be a list")
        } else {
            yaml.diagnostics.append(
                Diagnostic(
                    .importMissingField, "the configuration has no `reboot_required_detectors`", at: yaml.span(root), label: "no detectors",
                    help: "add e.g. `reboot_required_detectors: [{type: file, path: /var/run/reboot-required}]`"))
        }

        // The timings, 0 meaning clusterrebootd's default.
        let healthTimeout = seconds(f["health_timeout_sec"], "health_timeout_sec", default: Upstream.healthTimeout)
        let publishInterval = seconds(f["health_publish_interval_sec"], "health_publish_interval_sec", default: Upstream.publishInterval)
        let checkInterval = seconds(f["check_interval_sec"], "check_interval_sec", default: Upstream.checkInterval)
        let backoffMin = seconds(f["backoff_min_sec"], "backoff_min_sec", default: Upstream.backoffMin)
        let backoffMax = seconds(f["backoff_max_sec"], "backoff_max_sec", default: Upstream.backoffMax)
        let ttl = seconds(f["lock_ttl_sec"], "lock_ttl_sec", default: Upstream.lockTTL)
        let cooldown = wholeNumber(f["min_reboot_interval_sec"], "min_reboot_interval_sec", negativeMessage: "must not be negative") ?? 0
        if backoffMax < backoffMin, let n = f["backoff_max_sec"] ?? f["backoff_min_sec"] {
            yaml.invalid(n, "`backoff_max_sec` (\(backoffMax)) is shorter than `backoff_min_sec` (\(backoffMin))", help: "clusterrebootd refuses this too")
        }
        if ttl <= healthTimeout, let n = f["lock_ttl_sec"] ?? f["health_timeout_sec"] {
            yaml.invalid(
                n, "`lock_ttl_sec` (\(ttl)) must be longer than `health_timeout_sec` (\(healthTimeout))", help: "the lock could expire while the health script runs")
        }

        // Lock and etcd.
        let endpoints = yaml.stringList(f["etcd_endpoints"], "etcd_endpoints") ?? []
        let namespace = yaml.string(f["etcd_namespace"], "etcd_namespace") ?? ""
        var lockKey = yaml.string(f["lock_key"], "lock_key") ?? ""
        if lockKey.trimmingCharacters(in: .whitespaces).isEmpty { lockKey = Upstream.lockKey }
        let tls = etcdTLS(f["etcd_tls"])

        var killSwitch = yaml.string(f["kill_switch_file"], "kill_switch_file") ?? ""
        if killSwitch.isEmpty { killSwitch = Upstream.killSwitch }

        let cluster = clusterPolicies(f["cluster_policies"], etcd: !endpoints.isEmpty)
        let windows = windowLists(f["windows"])
        let metrics = metricsBlock(f["metrics"])

        // The variables clusterrebootd gives its health script and its reboot command (`BaseEnvironment`).
        var base: [String: String] = ["RC_NODE_NAME": nodeName, "RC_DRY_RUN": dryRun ? "true" : "false", "RC_LOCK_KEY": lockKey]
        if !endpoints.isEmpty { base["RC_ETCD_ENDPOINTS"] = endpoints.joined(separator: ",") }
        if !killSwitch.trimmingCharacters(in: .whitespaces).isEmpty { base["RC_KILL_SWITCH_FILE"] = killSwitch }
        base.merge(cluster.environment) { a, _ in a }
        if !windows.allow.isEmpty { base["RC_WINDOWS_ALLOW"] = windows.allow.map(\.text).joined(separator: ",") }
        if !windows.deny.isEmpty { base["RC_WINDOWS_DENY"] = windows.deny.map(\.text).joined(separator: ",") }
        if let listen = metrics.listen { base["RC_METRICS_ENDPOINT"] = listen }

        if let windowText = windowDeclarations(windows, at: f["windows"]) { out.append(windowText) }

        // Health gate.
        let script = (yaml.string(f["health_script"], "health_script") ?? "").trimmingCharacters(in: .whitespaces)
        if script.isEmpty {
            adjusted(
                f["health_script"] ?? root, "no `health_script`: the policy has no health gate",
                help: "clusterrebootd requires a health script; rc reboots without one when every other gate passes")
        } else if !script.hasPrefix("/"), let n = f["health_script"] {
            yaml.invalid(n, "`health_script` must be an absolute path", help: "clusterrebootd refuses a relative health script too")
        } else {
            var env: [String] = []
            // rc sets the node, the phase and the lock for each run itself; these are clusterrebootd's others.
            for key in base.keys.sorted() where !HealthSpec.reservedEnvironment.contains(key) {
                env.append("    \(key) \(literal(base[key]!))")
            }
            let envLine = env.isEmpty ? "" : "\n  # What clusterrebootd told its health script besides the node, the phase and the lock.\n  env {\n\(env.joined(separator: "\n"))\n  }"
            out.append("health \"health_script\" script \(quoteString(script)) {\n  timeout \(healthTimeout)s\n  run pre_lock, post_lock\(envLine)\n}")
        }

        if endpoints.isEmpty {
            adjusted(
                f["etcd_endpoints"] ?? root, "no `etcd_endpoints`: the policy locks on this host only (`lock local`) and has no cluster rules",
                help: "clusterrebootd requires etcd; with `lock local` nodes do not see each other, so cluster rules have no fleet to count")
            out.append("lock local")
        } else {
            let scheme = tls == nil ? "http" : "https"
            let urls = endpoints.map { $0.contains("://") ? $0 : "\(scheme)://\($0)" }
            var lines = ["lock etcd {", "  endpoints [\(urls.map(quoteString).joined(separator: ", "))]"]
            if let tls { lines.append("  tls { \(tls.joined(separator: "  ")) }") }
            let (prefix, group) = lockLocation(namespace: namespace, lockKey: lockKey)
            lines.append("  key \(quoteString(prefix))")
            lines.append("  group \(quoteString(group))")
            lines.append("  ttl \(ttl)s")
            lines.append("  # clusterrebootd's own lock: while some nodes still run it, rc and clusterrebootd exclude each other.")
            lines.append("  legacy_mutex \(quoteString(Self.applyNamespace(namespace, lockKey)))")
            lines.append("}")
            out.append(lines.joined(separator: "\n"))
        }

        let killPath = resolvePath(killSwitch, f["kill_switch_file"], field: "kill_switch_file")
        out.append((f["kill_switch_file"] == nil ? "# clusterrebootd's default kill switch.\n" : "") + "kill_switch file \(quoteString(killPath))")

        if let command = rebootCommand(f["reboot_command"], base: base) { out.append(command) }

        var settings: [String] = ["check_interval \(checkInterval)s", "backoff \(backoffMin)s .. \(backoffMax)s"]
        if cooldown > 0 { settings.append("cooldown \(cooldown)s") }
        // rc publishes only to etcd; a local lock has no fleet to publish to.
        if !endpoints.isEmpty { settings.append("publish_interval \(publishInterval)s") }
        if !cluster.fallbackNodes.isEmpty { settings.append("fallback_nodes [\(cluster.fallbackNodes.map(quoteString).joined(separator: ", "))]") }
        out.append("# clusterrebootd's timings (its defaults where the configuration leaves them out or says 0).\ncluster {\n" + settings.map { "  " + $0 }.joined(separator: "\n") + "\n}")

        if let block = metrics.text { out.append(block) }
        if !endpoints.isEmpty { out.append(contentsOf: cluster.rules) }
        return out.joined(separator: "\n\n") + "\n"
    }

    /// The key of clusterrebootd's mutex: its `applyNamespace` (pkg/lock/etcd_manager.go).
    static func applyNamespace(_ namespace: String, _ key: String) -> String {
        let normalized = "/" + key.drop { $0 == "/" }
        let trimmed = namespace.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        return trimmed.isEmpty ? normalized : "/" + trimmed + normalized
    }

    /// clusterrebootd keeps one mutex key; rc keeps a prefix and a group below it.
    private func lockLocation(namespace: String, lockKey: String) -> (String, String) {
        let trimmedNamespace = namespace.isEmpty ? nil : (namespace.hasSuffix("/") ? String(namespace.dropLast()) : namespace)
        if let slash = lockKey.lastIndex(of: "/"), slash != lockKey.startIndex {
            let parent = String(lockKey[..<slash])
            let leaf = String(lockKey[lockKey.index(after: slash)...])
            return (trimmedNamespace ?? parent, leaf.isEmpty ? "default" : leaf)
        }
        return (trimmedNamespace ?? "/cluster/clusterrebootd", "lock")
    }

    // MARK: - Detectors

    private mutating func detector(_ node: Node, index: Int) -> String? {
        guard let d = fields(node, allowed: ["name", "type", "path", "cmd", "success_exit_codes", "timeout_sec"], context: "a detector") else {
            return nil
        }
        let type = (yaml.string(d["type"], "type") ?? "").trimmingCharacters(in: .whitespaces)
        guard !type.isEmpty else {
            yaml.diagnostics.append(Diagnostic(.importMissingField, "a detector needs `type`", at: yaml.span(node), label: "no type", help: "write `type: file` or `type: command`"))
            return nil
        }
        let givenName = (yaml.string(d["name"], "name") ?? "")
        let explicitName = givenName.trimmingCharacters(in: .whitespaces).isEmpty ? nil : givenName
        // Read without diagnostics: the fields are checked below.
        var program = ""
        if case .sequence(let items)? = d["cmd"], let first = items.first?.string { program = first }
        let defaultName = type == "file" ? "file:\(d["path"]?.string ?? "")" : "command:\(program)"
        let name = (explicitName ?? defaultName).trimmingCharacters(in: .whitespaces)
        if !detectorNames.insert(name).inserted {
            yaml.invalid(d["name"] ?? node, "two detectors are named \(quoteString(name))", help: "clusterrebootd refuses this too; give each detector its own `name`")
            return nil
        }
        switch type {
        case "file":
            let path = yaml.string(d["path"], "path") ?? ""
            guard !path.trimmingCharacters(in: .whitespaces).isEmpty else {
                yaml.diagnostics.append(Diagnostic(.importMissingField, "a file detector needs `path`", at: yaml.span(d["path"] ?? node), label: "no path"))
                return nil
            }
            for extra in ["cmd", "success_exit_codes", "timeout_sec"] where d[extra] != nil {
                adjusted(d[extra]!, "`\(extra)` applies to command detectors only; clusterrebootd ignores it here, and so does the import")
            }
            let resolved = resolvePath(path, d["path"], field: "path")
            return "detector \(quoteString(explicitName ?? "file:\(path)")) file \(quoteString(resolved))"
        case "command":
            guard let cmd = yaml.stringList(d["cmd"], "cmd") else {
                if d["cmd"] == nil {
                    yaml.diagnostics.append(Diagnostic(.importMissingField, "a command detector needs `cmd`", at: yaml.span(node), label: "no command"))
                }
                return nil
            }
            guard let first = cmd.first else {
                yaml.diagnostics.append(Diagnostic(.importMissingField, "a command detector needs `cmd`", at: yaml.span(d["cmd"]!), label: "empty command"))
                return nil
            }
            if d["path"] != nil { adjusted(d["path"]!, "`path` applies to file detectors only; clusterrebootd ignores it here, and so does the import") }
            guard let program = resolveProgram(first, firstItem(d["cmd"]!), what: "the detector program") else { return nil }
            // No codes (or an empty list): "reboot needed when the exit status is not 0" (`pkg/detector`,
            // `EvaluateCommand`). Listed codes: needed on those, not needed on any other.
            var codes: [Int] = []
            if let node = d["success_exit_codes"] {
                guard case .sequence(let seq) = node else {
                    yaml.invalid(node, "`success_exit_codes` must be a list of exit codes")
                    return nil
                }
                for item in seq {
                    guard let c = wholeNumber(item, "success_exit_codes", negativeMessage: nil) else { return nil }
                    if !codes.contains(c) { codes.append(c) }
                }
            }
            var timeout = wholeNumber(d["timeout_sec"], "timeout_sec", negativeMessage: "must not be negative") ?? 0
            if timeout == 0 {
                timeout = Self.unlimitedDetectorTimeout
                adjusted(
                    d["timeout_sec"] ?? node, "clusterrebootd runs this detector without a time limit; rc always has one: \(timeout / 60)m",
                    help: "write `timeout_sec` to choose another limit; a detector that runs out of time is an error, never \"reboot needed\"")
            }
            let argv = ([program] + cmd.dropFirst()).map(quoteString).joined(separator: ", ")
            let (fired, ok) =
                switch codes.count {
                case 0: ("exit != 0", "exit == 0")
                case 1: ("exit == \(codes[0])", "exit != \(codes[0])")
                default: ("exit in [\(codes.map(String.init).joined(separator: ", "))]", "exit not in [\(codes.map(String.init).joined(separator: ", "))]")
                }
            let comment = codes.isEmpty ? "# No success_exit_codes: clusterrebootd reboots when the command exits with anything but 0.\n" : ""
            return """
                \(comment)detector \(quoteString(explicitName ?? "command:\(first)")) command [\(argv)] {
                  reboot_when \(fired)
                  ok_when \(ok)
                  timeout \(timeout % 60 == 0 ? "\(timeout / 60)m" : "\(timeout)s")
                }
                """
        default:
            yaml.invalid(d["type"]!, "unknown detector type \(quoteString(type))", help: "the types are `file` and `command`")
            return nil
        }
    }
}
