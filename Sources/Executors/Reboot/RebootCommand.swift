import Evaluator
import Foundation
import PolicyLang

/// The policy's reboot command, ready to run: `${node.name}`, `${phase}` and `${policy.name}` replaced in each
/// argument (argv, no shell, so a node name can never become a command).
public struct RebootCommand: Sendable, Equatable {
    public var argv: [String]

    /// Interpolates the policy's `reboot command` for a node.
    public init(policy: CheckedPolicy, nodeName: String, phase: HealthPhase) {
        argv = policy.rebootCommand.map { literal in
            literal.parts.map { part in
                switch part {
                case .text(let text): return text
                case .interpolation(let path, _):
                    switch path.joined(separator: ".") {
                    case "node.name": return nodeName
                    case "phase": return phase.environmentValue
                    case "policy.name": return policy.name
                    default: return ""
                    }
                }
            }.joined()
        }
    }

    /// The command as a shell would quote it, for dry-run output and logs.
    public var display: String {
        argv.map { arg in
            arg.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:+,@".contains($0) } && !arg.isEmpty ? arg : "'" + arg.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}

/// The kill switches a node can see by itself: files. (etcd switches are read by the etcd backend.)
public struct KillSwitchFiles: Sendable {
    let paths: HostPaths

    /// Creates a checker.
    public init(paths: HostPaths = HostPaths()) {
        self.paths = paths
    }

    /// The file switches of the policy that exist now.
    public func active(_ policy: CheckedPolicy) -> [String] {
        policy.killSwitches.compactMap { spec in
            if case .file(let path) = spec, paths.exists(path) { return path }
            return nil
        }
    }
}
