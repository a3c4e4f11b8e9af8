import ArgumentParser
import Evaluator
import Executors
import Foundation
import PolicyLang

/// `rc log show|explain`: the node's decision log.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "List the decisions this node took, or replay one through rc explain.",
        discussion: """
            The daemon appends every decision that differs from the one before (outcome, reason, name, phase) to \
            STATE_DIR/decisions.jsonl, with the facts it used. Entries older than the policy's `retain` (30 days \
            by default) go, and beyond 10 MB the oldest half. A line cut short by a crash is skipped with a warning. \
            When a measuring health check (http, prometheus, alerts) blocked, the entry also has the value it \
            measured and what it needs (`value`, `needs`).
            """,
        subcommands: [LogShowCommand.self, LogExplainCommand.self]
    )
}

/// Where the state lives, for the log commands.
struct StateOption: ParsableArguments {
    @Option(help: "Where rc keeps its state (the decision log is decisions.jsonl in it).")
    var stateDir: String = "/var/lib/rc"

    /// The entries, with a warning for the lines that could not be read.
    func entries() -> [DecisionLog.Entry] {
        let (entries, skipped) = DecisionLog(directory: stateDir).read()
        if skipped > 0 { printError("warning: skipped \(skipped) unreadable line\(skipped == 1 ? "" : "s") of \(stateDir)/decisions.jsonl (a write cut short?)") }
        return entries
    }
}

/// `rc log show`
struct LogShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "List the decision log, oldest first, numbered for `rc log explain N`.",
        discussion: "Exit status: 0 (an empty or missing log lists nothing)."
    )

    @OptionGroup var state: StateOption

    @Option(help: "Only the last N entries.")
    var last: Int?

    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    func validate() throws {
        if let last, last < 1 { throw ValidationError("--last takes a positive number, not \(last)") }
    }

    func run() throws {
        let entries = state.entries()
        let numbered = Array(entries.enumerated()).suffix(last ?? entries.count)
        switch format {
        case .text:
            for (index, entry) in numbered {
                var headline = entry.outcome == "blocked" ? "blocked by \(entry.blockedBy ?? "?")" : entry.outcome.replacingOccurrences(of: "_", with: " ")
                if let name = entry.name { headline += " " + quoteString(name) }
                let reading = HealthReading.text(value: entry.value, needs: entry.needs).map { " (\($0))" } ?? ""
                print("\(index + 1)  \(entry.at)  \(entry.phase)  \(headline)\(reading)" + (entry.reasons.first.map { ": " + $0 } ?? ""))
            }
        case .json:
            let items = numbered.map { index, entry in
                JSON.object([
                    ("n", .int(Int64(index + 1))), ("at", .string(entry.at.description)), ("outcome", .string(entry.outcome)),
                    ("blocked_by", .optional(entry.blockedBy)), ("name", .optional(entry.name)), ("phase", .string(entry.phase)),
                    ("reasons", .array(entry.reasons.map(JSON.string))), ("value", entry.value.map(JSON.double) ?? .null),
                    ("needs", .optional(entry.needs)), ("policy", .string(entry.policy)),
                ])
            }
            print(JSON.array(items).serialized(indent: 2))
        }
    }
}

/// `rc log explain N POLICY`
struct LogExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Replay entry N of the decision log through rc explain, with the facts it used.",
        discussion: """
            Decides again from the entry's facts with POLICY (the policy the daemon ran, or a changed one to see what \
            it would have decided) and prints the explanation as `rc explain` does; a decision that differs from the \
            logged one is pointed out. Exit status: the decision's, 2 for an invalid policy, 64 for no such entry.
            """
    )

    @Argument(help: "The entry's number, as `rc log show` lists it.")
    var entry: Int

    @Argument(help: "The policy file, or a directory of policies.")
    var policy: String

    @OptionGroup var state: StateOption

    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    @Option(help: "Colour the text output: auto, always or never.")
    var color: ColorChoice = .auto

    func run() throws {
        let entries = state.entries()
        guard entry >= 1, entry <= entries.count else {
            printError("error: no entry \(entry) in \(state.stateDir)/decisions.jsonl (it has \(entries.count))")
            throw ExitCode(ExitStatus.usage)
        }
        let logged = entries[entry - 1]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rc-log-\(UUID().uuidString).json").path
        FileManager.default.createFile(atPath: file, contents: Data(logged.facts.utf8), attributes: [.posixPermissions: 0o600])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (prepared, given, _) = try PolicyLoader.policyAndFacts(policy: policy, facts: file, color: color.enabled(for: STDERR_FILENO))
        let explanation = Explanation(policy: prepared, facts: given, phase: HealthPhase.allCases.first { $0.environmentValue == logged.phase })
        ExplainCommand.print(explanation, format: format, color: color)
        let decision = explanation.decision
        if decision.outcome.rawValue != logged.outcome || decision.blockedBy?.rawValue != logged.blockedBy || decision.name != logged.name {
            printError("note: entry \(entry) logged \(logged.outcome)\(logged.blockedBy.map { " by " + $0 } ?? ""); \(policy) decides otherwise today")
        }
        throw ExitCode(decision.exitCode)
    }
}
