import ArgumentParser
import Evaluator
import Executors
import Foundation
import PolicyLang

/// Loading, checking and selecting policies and facts for the commands that evaluate them. Problems are printed
/// to standard error as located diagnostics and end the command with the documented exit status.
enum PolicyLoader {
    /// Checks every policy under `paths`; any error ends the command with exit 2 after printing all diagnostics.
    static func load(_ paths: [String], color: Bool) throws -> [PreparedPolicy] {
        let files = try PolicyFiles.collectOrExit(paths)
        if files.isEmpty {
            printError("error: no .rcl files found in \(paths.joined(separator: ", "))")
            throw ExitCode(ExitStatus.usage)
        }
        var policies: [PreparedPolicy] = []
        var failed: [FileDiagnostics] = []
        for path in files {
            let source = try PolicyFiles.readOrExit(path)
            let result = Checker.check(source)
            if result.hasErrors || result.policy == nil {
                failed.append(FileDiagnostics(file: source, diagnostics: result.diagnostics.filter { $0.severity == .error }))
            } else if let policy = result.policy {
                policies.append(PreparedPolicy(policy))
            }
        }
        if !failed.isEmpty {
            report(failed, color: color)
            let count = failed.reduce(0) { $0 + $1.diagnostics.count }
            printError("error: \(failed.count) invalid polic\(failed.count == 1 ? "y" : "ies") (\(count) error\(count == 1 ? "" : "s")); fix them with `rc check`")
            throw ExitCode(ExitStatus.invalidPolicy)
        }
        return policies
    }

    /// The policy for the node the facts describe: the file itself, or for a directory the one whose
    /// `applies_to` holds (see `PolicySelection`).
    /// With `policyNames`, a single file's `policy { node_name }` names the node (no name was given).
    static func select(_ path: String, facts: Facts, color: Bool, enforceAppliesTo: Bool = true, policyNames: Bool = false) throws -> PreparedPolicy {
        let policies = try load([path], color: color)
        var isDirectory: ObjCBool = false
        if policies.count == 1, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            let policy = policies[0]
            var facts = facts
            if policyNames, let named = policy.policy.nodeName { facts.nodeName = named }
            // A single file still governs only the nodes its `applies_to` names.
            if enforceAppliesTo, let condition = policy.policy.appliesTo, let node = facts.nodeName, !policy.applies(to: facts) {
                printError(
                    "error: policy \(quoteString(policy.policy.name)) (\(policy.policy.file.path)) does not apply to node \(quoteString(node)): its applies_to `\(policy.policy.file.text(condition.span))` is false for it")
                printError(
                    "help: run as the node it is for (--node-name NAME or RC_NODE_NAME), give this node the labels it reads (--label KEY=VALUE or the labels file), or give a directory of policies so that the one for this node is picked")
                throw ExitCode(ExitStatus.invalidPolicy)
            }
            return policy
        }
        switch PolicySelection.select(policies, for: facts) {
        case .success(let policy): return policy
        case .failure(let failure):
            printError("error: \(failure.message)")
            if facts.nodeName == nil { printError("help: give the node's name in the facts (`node: {name: web-1}`)") }
            throw ExitCode(ExitStatus.invalidPolicy)
        }
    }

    /// Reads a facts file; errors end the command with exit 2.
    static func facts(_ path: String, color: Bool) throws -> FactsFile {
        let source = try PolicyFiles.readOrExit(path)
        let file = FactsFile.read(source)
        if file.diagnostics.contains(where: { $0.severity == .error }) {
            report([FileDiagnostics(file: source, diagnostics: file.diagnostics)], color: color)
            throw ExitCode(ExitStatus.invalidPolicy)
        }
        return file
    }

    /// The facts file and the policy for the node it describes, for `rc explain` and `rc simulate`: the facts
    /// read and checked against the policy's names, `now` filled with the current time when missing (the
    /// assumption returned says so).
    static func policyAndFacts(policy path: String, facts factsPath: String, color: Bool, labels: [String] = []) throws -> (PreparedPolicy, Facts, Assumption?) {
        let factsFile = try facts(factsPath, color: color)
        var given = factsFile.facts
        for item in labels {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ValidationError("--label takes KEY=VALUE, not \(quoteString(item))")
            }
            given.nodeLabels = (given.nodeLabels ?? [:]).merging([String(item[..<equals]): String(item[item.index(after: equals)...])]) { $1 }
        }
        let nowAssumption = fillNow(&given)
        let prepared = try select(path, facts: given, color: color)
        let problems = factsFile.diagnostics(against: prepared)
        if !problems.isEmpty {
            report([FileDiagnostics(file: factsFile.file, diagnostics: problems)], color: color)
            throw ExitCode(ExitStatus.invalidPolicy)
        }
        return (prepared, given, nowAssumption)
    }

    static func report(_ groups: [FileDiagnostics], color: Bool) {
        let renderer = DiagnosticRenderer(color: color, toolVersion: RCVersion.current)
        printError(renderer.render(groups, as: .text))
    }

    /// Fills `now` with the current time when the facts leave it out, and says so.
    static func fillNow(_ facts: inout Facts) -> Assumption? {
        guard facts.now == nil else { return nil }
        facts.now = SystemClock().now()
        return Assumption(fact: "now", value: "\(facts.now!) (the current time)")
    }
}

/// `--phase pre-lock|post-lock|post-boot`.
struct PhaseOption: ExpressibleByArgument {
    var phase: HealthPhase

    init?(argument: String) {
        guard let phase = HealthPhase.allCases.first(where: { $0.environmentValue == argument || $0.rawValue == argument }) else { return nil }
        self.phase = phase
    }

    static var allValueStrings: [String] { HealthPhase.allCases.map(\.environmentValue) }
}

/// `--format text|json`.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
