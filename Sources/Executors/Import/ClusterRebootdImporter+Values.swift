import Foundation
import PolicyLang
import Yams

/// Reading values as clusterrebootd's YAML decoder (gopkg.in/yaml.v3 into Go types) reads them.
extension ClusterRebootdImporter {
    func isNull(_ node: Node) -> Bool {
        node.tag.description == "tag:yaml.org,2002:null"
    }

    /// The fields of a mapping; a field whose value is `null` is left out, as Go leaves its zero value (`null`
    /// cluster policies, windows or TLS are no cluster policies, windows or TLS). A `null` mapping has no fields.
    mutating func fields(_ node: Node, allowed: [String], context: String) -> [String: Node]? {
        if isNull(node) { return [:] }
        return yaml.mapping(node, allowed: allowed, context: context)?.filter { !isNull($0.value) }
    }

    /// A warning: the policy does something other than the YAML's words say, or without what clusterrebootd required.
    mutating func adjusted(_ node: Node, _ message: String, help: String? = nil) {
        yaml.diagnostics.append(Diagnostic(.importAdjusted, message, at: yaml.span(node), label: "imported differently", help: help))
    }

    /// A whole number as Go's decoder takes it into an `int`: a float is cut to its whole part (with a warning
    /// when that loses something); `negativeMessage` refuses values below zero.
    mutating func wholeNumber(_ node: Node?, _ field: String, negativeMessage: String?) -> Int? {
        guard let node, !isNull(node) else { return nil }
        var value: Int
        if let i = node.int {
            value = i
        } else if case .scalar(let s) = node, s.style == .plain, let d = node.float, d.isFinite, abs(d) < 9.2e18 {
            value = Int(d)
            if Double(value) != d { adjusted(node, "`\(field)` is \(s.string); clusterrebootd reads \(value), and so does the import") }
        } else {
            yaml.invalid(node, "`\(field)` must be a whole number")
            return nil
        }
        if value < 0, let negativeMessage {
            yaml.invalid(node, "`\(field)` \(negativeMessage)", help: "clusterrebootd refuses this too")
            return nil
        }
        return value
    }

    /// A duration in seconds where 0 (or no value) means clusterrebootd's default and a negative value is refused.
    mutating func seconds(_ node: Node?, _ field: String, default value: Int) -> Int {
        guard let n = wholeNumber(node, field, negativeMessage: "must be greater than zero") else { return value }
        return n == 0 ? value : n
    }

    /// A path as clusterrebootd opens it: a relative one from its working directory (`/` under its systemd unit).
    mutating func resolvePath(_ path: String, _ node: Node?, field: String) -> String {
        if path.hasPrefix("/") { return path }
        let resolved = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: options.workingDirectory, isDirectory: true)).standardizedFileURL.path
        if let node {
            adjusted(node, "`\(field)` is relative; clusterrebootd opens it from its working directory, so the policy says \(quoteString(resolved))",
                help: "rc needs absolute paths; the import takes them from \(options.workingDirectory), the working directory of clusterrebootd's systemd unit")
        }
        return resolved
    }

    /// A program as Go's `exec.Command` finds it: a name without `/` through `PATH` (looked up now, as rc needs an
    /// absolute path), a relative path from the working directory.
    mutating func resolveProgram(_ program: String, _ node: Node, what: String) -> String? {
        if program.hasPrefix("/") { return program }
        if program.contains("/") { return resolvePath(program, node, field: what) }
        let path = options.environment["PATH"] ?? ""
        for dir in path.split(separator: ":").map(String.init) where dir.hasPrefix("/") {
            let candidate = (dir.hasSuffix("/") ? dir : dir + "/") + program
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate)
            {
                adjusted(
                    node, "\(what) \(quoteString(program)) is found through PATH; the policy names it \(quoteString(candidate)), where this host's PATH finds it",
                    help: "rc runs programs by absolute path only; check that the nodes have it at the same place")
                return candidate
            }
        }
        yaml.invalid(node, "\(what) \(quoteString(program)) is not in PATH (\(path.isEmpty ? "empty" : path))", help: "write its absolute path")
        return nil
    }

    /// The first item of a list, where a diagnostic about a program points; the node itself otherwise.
    func firstItem(_ node: Node) -> Node {
        if case .sequence(let seq) = node, let first = seq.first { return first }
        return node
    }

    /// An rc string literal of `text`, with `$` escaped so nothing in it is read as an interpolation.
    func literal(_ text: String) -> String {
        quoteString(text).replacingOccurrences(of: "$", with: "\\$")
    }

    /// The TLS settings of the lock, or nil without TLS (`etcd_tls` absent, null or `enabled: false`: then its
    /// paths are not read at all, as clusterrebootd's `buildEtcdTLSConfig` does not read them).
    mutating func etcdTLS(_ node: Node?) -> [String]? {
        guard let node, let t = fields(node, allowed: ["enabled", "ca_file", "cert_file", "key_file", "insecure_skip_verify"], context: "`etcd_tls`") else {
            return nil
        }
        guard yaml.bool(t["enabled"], "etcd_tls.enabled") == true else { return nil }
        var lines: [String] = []
        for (yamlKey, rcKey) in [("ca_file", "ca"), ("cert_file", "cert"), ("key_file", "key")] {
            let path = yaml.string(t[yamlKey], "etcd_tls.\(yamlKey)") ?? ""
            if path.trimmingCharacters(in: .whitespaces).isEmpty {
                yaml.diagnostics.append(
                    Diagnostic(
                        .importMissingField, "`etcd_tls.\(yamlKey)` is required when TLS is enabled", at: yaml.span(t[yamlKey] ?? node),
                        label: "clusterrebootd requires it", help: "name the file, or write `enabled: false`"))
                continue
            }
            lines.append("\(rcKey) \(quoteString(resolvePath(path, t[yamlKey], field: "etcd_tls.\(yamlKey)")))")
        }
        if yaml.bool(t["insecure_skip_verify"], "etcd_tls.insecure_skip_verify") == true { lines.append("insecure_skip_verify true") }
        return lines
    }

    /// `metrics`: whether it is enabled, its address, and the block to write.
    mutating func metricsBlock(_ node: Node?) -> (enabled: Bool, listen: String?, text: String?) {
        guard let node, let m = fields(node, allowed: ["enabled", "listen"], context: "`metrics`") else { return (false, nil, nil) }
        let enabled = yaml.bool(m["enabled"], "metrics.enabled") ?? false
        var listen = yaml.string(m["listen"], "metrics.listen") ?? ""
        if listen.isEmpty { listen = Upstream.metricsListen }
        guard let colon = listen.lastIndex(of: ":"), Int(listen[listen.index(after: colon)...]) != nil else {
            yaml.invalid(m["listen"] ?? node, "`metrics.listen` must be host:port")
            return (enabled, nil, nil)
        }
        // rc run serves /metrics (with clusterrebootd's metric names beside its own), /healthz and /readyz there.
        return (enabled, enabled ? listen : nil, "metrics {\n  enabled \(enabled)\n  listen \(quoteString(listen))\n}")
    }

    /// `reboot_command` (empty: clusterrebootd's default), with `$VAR` and `${VAR}` read as clusterrebootd's
    /// `expandWithEnv` reads them: `RC_NODE_NAME` is the node rc runs as; the other variables of its
    /// `BaseEnvironment` are known now and written as they are; any other variable came from clusterrebootd's own
    /// environment, and is taken from the import's.
    mutating func rebootCommand(_ node: Node?, base: [String: String]) -> String? {
        var argv: [String] = []
        if let node {
            guard let list = yaml.stringList(node, "reboot_command") else { return nil }
            argv = list
        }
        let isDefault = argv.isEmpty
        if isDefault { argv = Upstream.rebootCommand }
        let at = node
        var args: [String] = []
        for (i, arg) in argv.enumerated() {
            var text = ""
            for part in UpstreamExpansion.split(arg) {
                switch part {
                case .text(let t):
                    text += String(literal(t).dropFirst().dropLast())
                case .variable("RC_NODE_NAME"):
                    text += "${node.name}"
                case .variable(let name):
                    if let value = base[name] {
                        text += String(literal(value).dropFirst().dropLast())
                    } else {
                        let value = options.environment[name] ?? ""
                        if let at {
                            adjusted(at, "`$\(name)` in the reboot command: clusterrebootd read it from its own environment; the policy has \(quoteString(value)), its value here", help: "write the value you mean into the policy")
                        }
                        text += String(literal(value).dropFirst().dropLast())
                    }
                }
            }
            if i == 0 {
                // The program itself: rc needs its absolute path.
                let program = text.replacingOccurrences(of: "\\$", with: "$")
                guard let resolved = resolveProgram(program, at.map(firstItem) ?? Node(""), what: "the reboot program") else { return nil }
                text = String(literal(resolved).dropFirst().dropLast())
            }
            args.append("\"" + text + "\"")
        }
        return (isDefault ? "# clusterrebootd's default reboot command.\n" : "") + "reboot command [\(args.joined(separator: ", "))]"
    }
}
