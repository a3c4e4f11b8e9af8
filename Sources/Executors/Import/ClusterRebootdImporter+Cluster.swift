import Foundation
import PolicyLang
import Yams

/// `cluster_policies` and `windows`, as clusterrebootd decides them.
extension ClusterRebootdImporter {
    /// What `cluster_policies` becomes: the rules, the fallback nodes and the health script's variables.
    struct Cluster {
        var rules: [String] = []
        var fallbackNodes: [String] = []
        var environment: [String: String] = [:]
    }

    /// The largest fleet for which the fraction rule is checked against clusterrebootd's arithmetic, size by size.
    static let checkedFleetSize = 10_000

    /// clusterrebootd's cluster gate (`pkg/orchestrator/runner.go`, `evaluateClusterPolicies`) counts this node as
    /// healthy and every other node by its last report, and blocks when any other node reports unhealthy, when
    /// fewer than `min_healthy_absolute` or than `ceil(min_healthy_fraction × size)` are healthy, and (with
    /// `forbid_if_only_fallback_left`) when every healthy node is a fallback node.
    mutating func clusterPolicies(_ node: Node?, etcd: Bool) -> Cluster {
        var result = Cluster()
        result.environment["RC_CLUSTER_FORBID_IF_ONLY_FALLBACK_LEFT"] = "false"
        let unhealthy = """
            # clusterrebootd blocks while any other node reports unhealthy. rc counts this node only after its own health
            # check passed, and a node that stopped reporting as unhealthy (clusterrebootd kept its last report).
            rule "no unhealthy node" { deny when cluster.healthy < cluster.size }
            """
        result.rules.append(unhealthy)
        guard let node,
            let p = fields(node, allowed: ["min_healthy_fraction", "min_healthy_absolute", "forbid_if_only_fallback_left", "fallback_nodes"], context: "`cluster_policies`")
        else { return result }

        let listed = yaml.stringList(p["fallback_nodes"], "cluster_policies.fallback_nodes") ?? []
        if !listed.isEmpty { result.environment["RC_CLUSTER_FALLBACK_NODES"] = listed.joined(separator: ",") }
        for name in listed {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty, !result.fallbackNodes.contains(trimmed) { result.fallbackNodes.append(trimmed) }
        }

        if let n = p["min_healthy_fraction"] {
            if let fraction = n.float, fraction > 0, fraction <= 1 {
                result.environment["RC_CLUSTER_MIN_HEALTHY_FRACTION"] = Self.goFloat(fraction)
                result.rules.append(fractionRule(fraction))
            } else {
                yaml.invalid(n, "`min_healthy_fraction` must be a number in (0, 1]", help: "write e.g. 0.6 for 60%")
            }
        }
        if let n = wholeNumber(p["min_healthy_absolute"], "cluster_policies.min_healthy_absolute", negativeMessage: "must not be negative") {
            result.environment["RC_CLUSTER_MIN_HEALTHY_ABSOLUTE"] = String(n)
            result.rules.append("rule \"min healthy absolute\" { deny when cluster.healthy < \(n) }")
        }
        if let forbid = yaml.bool(p["forbid_if_only_fallback_left"], "cluster_policies.forbid_if_only_fallback_left") {
            result.environment["RC_CLUSTER_FORBID_IF_ONLY_FALLBACK_LEFT"] = forbid ? "true" : "false"
            if forbid, result.fallbackNodes.isEmpty {
                adjusted(p["forbid_if_only_fallback_left"]!, "`forbid_if_only_fallback_left` without `fallback_nodes` has no effect, in clusterrebootd as here")
            } else if forbid {
                result.rules.append(
                    """
                    # clusterrebootd blocks when every healthy node is a fallback node.
                    rule "only fallback nodes left" { deny when cluster.healthy > 0 and cluster.healthy == cluster.fallback_healthy }
                    """)
            }
        }
        return result
    }

    /// `healthy < ceil(fraction × size)` as clusterrebootd computes it in binary floating point. rc's percentages
    /// are exact to a thousandth of a percent; the sizes (up to `checkedFleetSize`) where the two give different
    /// thresholds get their own line with clusterrebootd's threshold.
    private func fractionRule(_ fraction: Double) -> String {
        func upstream(_ n: Int) -> Int { Int((fraction * Double(n)).rounded(.up)) }
        func rc(_ milli: Int, _ n: Int) -> Int { (milli * n + 99_999) / 100_000 }
        let candidates = Set([(fraction * 100_000).rounded(.down), (fraction * 100_000).rounded(), (fraction * 100_000).rounded(.up)].map { Int($0) })
        var best: (milli: Int, exceptions: [Int])?
        for milli in candidates.sorted() where milli > 0 {
            let exceptions = (1...Self.checkedFleetSize).filter { upstream($0) != rc(milli, $0) }
            if best == nil || exceptions.count < best!.exceptions.count { best = (milli, exceptions) }
        }
        let (milli, exceptions) = best!
        let percent = milli % 1000 == 0 ? String(milli / 1000) : String(format: "%.3f", Double(milli) / 1000).replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
        var lines = ["# clusterrebootd: healthy < ceil(\(Self.goFloat(fraction)) × size), counting this node; checked size by size up to \(Self.checkedFleetSize) nodes."]
        if exceptions.isEmpty {
            lines.append("rule \"min healthy fraction\" { deny when cluster.healthy < \(percent)% of cluster.size }")
        } else {
            lines.append("rule \"min healthy fraction\" {")
            lines.append("  deny when cluster.size not in [\(exceptions.map(String.init).joined(separator: ", "))] and cluster.healthy < \(percent)% of cluster.size")
            for n in exceptions { lines.append("  deny when cluster.size == \(n) and cluster.healthy < \(upstream(n))") }
            lines.append("}")
        }
        return lines.joined(separator: "\n")
    }

    /// A float as Go's `strconv.FormatFloat(f, 'f', -1, 64)` writes it: the shortest digits that read back, no exponent.
    public static func goFloat(_ value: Double) -> String {
        var text = "\(value)"
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            let exponent = Int(text[text.index(after: e)...])!
            var mantissa = String(text[..<e])
            let negative = mantissa.hasPrefix("-")
            if negative { mantissa.removeFirst() }
            let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
            let digits = String(parts[0]) + (parts.count > 1 ? String(parts[1]) : "")
            let point = parts[0].count + exponent
            if point <= 0 {
                text = "0." + String(repeating: "0", count: -point) + digits
            } else if point >= digits.count {
                text = digits + String(repeating: "0", count: point - digits.count)
            } else {
                text = String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
            }
            if negative { text = "-" + text }
        }
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    // MARK: - Windows

    /// One window expression of the YAML.
    struct WindowEntry {
        var text: String
        var node: Node
        var parsed: UpstreamWindow
    }

    /// `windows.deny` and `windows.allow`, each parsed as clusterrebootd parses it (`pkg/windows`, `parseExpression`).
    mutating func windowLists(_ node: Node?) -> (deny: [WindowEntry], allow: [WindowEntry]) {
        guard let node, let w = fields(node, allowed: ["deny", "allow"], context: "`windows`") else { return ([], []) }
        var lists: [String: [WindowEntry]] = [:]
        for effect in ["deny", "allow"] {
            guard let listNode = w[effect] else { continue }
            guard case .sequence(let seq) = listNode else {
                yaml.invalid(listNode, "`windows.\(effect)` must be a list")
                continue
            }
            for item in seq {
                guard let text = yaml.string(item, "windows.\(effect)") else { continue }
                switch UpstreamWindow.parse(text) {
                case .success(let parsed): lists[effect, default: []].append(WindowEntry(text: text, node: item, parsed: parsed))
                case .failure(let why):
                    yaml.invalid(
                        item, "invalid window \(quoteString(text)): \(why)",
                        help: "clusterrebootd refuses it too; write e.g. \"Fri 18:00-Mon 08:00\", \"* 23:00-06:00\" or \"Tue-Thu 22:00-04:00\"")
                }
            }
        }
        return (lists["deny"] ?? [], lists["allow"] ?? [])
    }

    /// The `timezone` and `window` declarations. Each window is checked: the minutes rc's window covers must be the
    /// minutes clusterrebootd's covers, else it is written span by span.
    mutating func windowDeclarations(_ windows: (deny: [WindowEntry], allow: [WindowEntry]), at node: Node?) -> String? {
        guard !windows.deny.isEmpty || !windows.allow.isEmpty, let node else { return nil }
        let zone: ImportTimeZone
        switch options.timeZone {
        case .success(let z): zone = z
        case .failure(let why):
            yaml.diagnostics.append(Diagnostic(.importInvalidValue, "the windows need a time zone: \(why)", at: yaml.span(node), label: "clusterrebootd read these in local time"))
            return nil
        }
        if let note = zone.note { adjusted(node, "windows are read in UTC: \(note)") }
        let probe = Checker.check(SourceFile(path: "<zone>", text: "policy \"w\" {}\ntimezone \(quoteString(zone.name))\n"))
        if let problem = probe.diagnostics.first(where: { $0.severity == .error }) {
            yaml.diagnostics.append(
                Diagnostic(
                    .importInvalidValue, "the windows need a time zone rc knows: \(zone.source) gives \(quoteString(zone.name)): \(problem.message)",
                    at: yaml.span(node), label: "clusterrebootd read these in local time", help: "pass --timezone ZONE, the zone of the fleet's hosts"))
            return nil
        }
        let how = zone.source == "--timezone" ? "given with --timezone" : "the local zone of the host that ran rc import (\(zone.source))"
        var lines = [
            "# clusterrebootd reads windows in its host's local time zone; here \(quoteString(zone.name)), \(how).",
            "timezone \(quoteString(zone.name))",
        ]
        for (effect, entries) in [("deny", windows.deny), ("allow", windows.allow)] {
            for (i, entry) in entries.enumerated() {
                var bodies = entry.parsed.rc
                if bodies.count == 1, Self.minutes(of: bodies[0]) != UpstreamWindow.minutes(of: entry.parsed.spans) {
                    bodies = UpstreamWindow.covering(UpstreamWindow.minutes(of: entry.parsed.spans))
                }
                let covered = bodies.reduce(into: Set<Int>()) { $0.formUnion(Self.minutes(of: $1) ?? []) }
                guard covered == UpstreamWindow.minutes(of: entry.parsed.spans) else {
                    yaml.invalid(entry.node, "rc import cannot write window \(quoteString(entry.text)) exactly", help: "this is a bug in rc import; please report it")
                    continue
                }
                lines.append("# \(entry.text)")
                for (k, body) in bodies.enumerated() {
                    let name = k == 0 ? "\(effect)-\(i + 1)" : "\(effect)-\(i + 1).\(k + 1)"
                    lines.append("window \(effect) \(quoteString(name)) \(body)")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The minutes of the week an rc window body covers, as rc's checker reads it (nil when it does not check).
    static func minutes(of body: String) -> Set<Int>? {
        let text = "policy \"w\" {}\nwindow deny \"w\" \(body)\n"
        let checked = Checker.check(SourceFile(path: "<window>", text: text))
        guard !checked.hasErrors, let window = checked.policy?.windows.first else { return nil }
        return UpstreamWindow.minutes(of: window.intervals)
    }
}
