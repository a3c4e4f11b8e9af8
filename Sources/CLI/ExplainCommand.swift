import ArgumentParser
import Evaluator
import Executors
import Foundation
import PolicyLang

/// `rc explain`: why a node would or would not reboot, from a facts file.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain the decision a policy makes for a set of facts.",
        discussion: """
            Decides as the daemon would, from the facts in a YAML or JSON file (docs/cli.md lists its keys; every \
            key is optional and a missing fact is shown as assumed; a missing `now` is the current time). POLICY is \
            a file, or a directory from which the one policy whose applies_to holds for the node is taken; a \
            single file whose applies_to is false for the node the facts name is refused (exit 2). --label adds \
            labels to the facts' node.labels.

            The text output puts the decision first, then what would change it (the smallest changes of facts, \
            each checked by deciding again, that lead to a reboot), then the trace: one line per step and per \
            evaluated condition with the value that decided and the file:line:column of the clause.

            ✓ lets the reboot go on, ✗ holds it back, – has no effect, · was not reached.

            Exit status: the decision's (0 reboot or not needed, 3 health, 4 lock, 5 kill switch, 6 detector \
            error, 7 window, 8 rule), 2 for an invalid policy or facts file, 64 usage error.
            """
    )

    @Argument(help: "A policy file, or a directory of policies.")
    var policy: String

    @Option(help: "The facts file (YAML or JSON; - for standard input).")
    var facts: String

    @Option(help: "Decide for this phase instead of the facts' (pre-lock, post-lock or post-boot).")
    var phase: PhaseOption?

    @Option(name: .customLong("label"), help: ArgumentHelp("A label of the node, KEY=VALUE (repeatable; overrides the facts' node.labels).", valueName: "key=value"))
    var label: [String] = []

    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    @Option(help: "Colour the text output: auto, always or never.")
    var color: ColorChoice = .auto

    func run() throws {
        let (prepared, given, nowAssumption) = try PolicyLoader.policyAndFacts(policy: policy, facts: facts, color: color.enabled(for: STDERR_FILENO), labels: label)
        var explanation = Explanation(policy: prepared, facts: given, phase: phase?.phase)
        if let nowAssumption { explanation.decision.assumed.insert(nowAssumption, at: 0) }
        ExplainCommand.print(explanation, format: format, color: color)
        throw ExitCode(explanation.decision.exitCode)
    }

    /// Prints an explanation as text (coloured on a terminal) or JSON; `rc status` prints the same.
    static func print(_ explanation: Explanation, format: ReportFormat, color: ColorChoice) {
        let renderer = ExplainRenderer(color: format == .text && color.enabled(for: STDOUT_FILENO))
        switch format {
        case .text: Swift.print(renderer.text(explanation), terminator: "")
        case .json: Swift.print(renderer.json(explanation).serialized(indent: 2))
        }
    }
}
