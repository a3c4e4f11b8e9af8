import ArgumentParser
import Evaluator
import Executors
import Foundation
import PolicyLang

/// `rc simulate`: when would this node be eligible over the next days?
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Show when a node would be eligible to reboot over the coming days.",
        discussion: """
            Holds every fact of the facts file fixed except the time and decides at `now` (the current time when \
            the file has none) and then at every --step of the local clock (:00, :15, … for 15m) for --days days.

            text: one row per local day in the policy's time zone, one character per step: # eligible, - no reboot \
            needed, and a letter per blocking cause (w window, r rule, h health, l lock, k kill switch, d detector \
            error), named in the legend. Around daylight-saving changes a skipped hour stays blank and a repeated \
            hour shows its second pass.
            json: {policy, file, from, to, step, intervals: [{from, to, outcome, blocked_by, name}]}; an interval \
            starts at the minute the decision changes (a window opening at 22:10 starts one at 22:10), whatever the \
            step; a state that begins and ends between two steps is not seen.

            --step must divide a day (1m … 24h). Exit status: 0, 2 invalid policy or facts, 64 usage error.
            """
    )

    @Argument(help: "A policy file, or a directory of policies.")
    var policy: String

    @Option(help: "The facts file (YAML or JSON; - for standard input).")
    var facts: String

    @Option(help: "How many days to simulate (1 … 366).")
    var days: Int = 7

    @Option(help: "The time between two decisions, e.g. 15m or 1h.")
    var step: String = "15m"

    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    @Option(help: "Colour the text output: auto, always or never.")
    var color: ColorChoice = .auto

    func validate() throws {
        guard (1...366).contains(days) else { throw ValidationError("--days must be between 1 and 366") }
        guard let ms = Lexer.parseDuration(step) else { throw ValidationError("--step: \(quoteString(step)) is not a duration (e.g. 15m)") }
        guard ms >= 60_000, ms <= 86_400_000, ms % 60_000 == 0, 86_400_000 % ms == 0 else {
            throw ValidationError("--step must be whole minutes that divide a day, e.g. 5m, 15m, 1h")
        }
    }

    func run() throws {
        let (prepared, given, _) = try PolicyLoader.policyAndFacts(policy: policy, facts: facts, color: color.enabled(for: STDERR_FILENO))
        let stepMs = Lexer.parseDuration(step) ?? 900_000
        let simulation = Simulation(policy: prepared, facts: given, duration: Int64(days) * 86_400_000, step: stepMs)
        switch format {
        case .text:
            print("policy \(quoteString(prepared.policy.name)) (\(prepared.policy.file.path)) from \(given.now!)\n")
            print(simulation.calendar(), terminator: "")
        case .json:
            let json = JSON.object([
                ("policy", .string(prepared.policy.name)),
                ("file", .string(prepared.policy.file.path)),
                ("from", .string(simulation.intervals.first?.from.description ?? "")),
                ("to", .string(simulation.intervals.last?.to.description ?? "")),
                ("step", .string(formatDuration(milliseconds: stepMs))),
                (
                    "intervals",
                    .array(
                        simulation.intervals.map { i in
                            .object([
                                ("from", .string(i.from.description)),
                                ("to", .string(i.to.description)),
                                ("outcome", .string(i.state.outcome.rawValue)),
                                ("blocked_by", .optional(i.state.blockedBy?.rawValue)),
                                ("name", .optional(i.state.name)),
                            ])
                        })
                ),
            ])
            print(json.serialized(indent: 2))
        }
    }
}
