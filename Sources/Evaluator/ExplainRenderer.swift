import PolicyLang

/// A decision with what would change it: everything `rc explain` prints.
public struct Explanation: Sendable {
    public var policy: PreparedPolicy
    public var decision: Decision
    public var wouldChange: [FactChange]
    /// Whether `wouldChange` reaches a reboot.
    public var wouldChangeIsComplete: Bool

    /// Decides with a trace and works out what would change the answer.
    public init(policy: PreparedPolicy, facts: Facts, phase: HealthPhase? = nil) {
        self.policy = policy
        decision = policy.decide(facts, phase: phase, trace: true)
        if decision.outcome == .reboot {
            (wouldChange, wouldChangeIsComplete) = ([], true)
        } else {
            (wouldChange, wouldChangeIsComplete) = policy.wouldChange(facts, phase: phase)
        }
    }
}

/// Renders explanations as text (a tree, decision first) or JSON.
public struct ExplainRenderer: Sendable {
    public var color: Bool

    /// Creates a renderer.
    public init(color: Bool) {
        self.color = color
    }

    /// `text` in the ANSI style `code` when colouring, else as it is.
    public func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    /// `✓` lets the reboot go on, `✗` holds it back, `–` no effect, `·` not reached.
    public static let legend = "✓ lets the reboot go on   ✗ holds it back   – no effect   · not reached"

    private func symbol(_ result: TraceResult) -> String {
        switch result {
        case .pass: paint("✓", "32")
        case .block: paint("✗", "31")
        case .neutral: paint("–", "2")
        case .notReached: paint("·", "2")
        }
    }

    /// The headline: `blocked by rule "keep quorum" (exit 8)`.
    public static func headline(_ d: Decision) -> String {
        switch d.outcome {
        case .reboot: "reboot (exit 0)"
        case .noRebootNeeded: "no reboot needed (exit 0)"
        case .blocked:
            "blocked by \(d.blockedBy.map(\.rawValue) ?? "?")" + (d.name.map { " " + quoteString($0) } ?? "") + " (exit \(d.exitCode))"
        }
    }

    /// The text form.
    public func text(_ e: Explanation) -> String {
        let d = e.decision
        let file = e.policy.policy.file
        let zone = e.policy.zone
        let headColor = d.outcome == .blocked ? "1;31" : "1;32"
        var out = paint(ExplainRenderer.headline(d), headColor) + "\n"
        out += "  policy   \(quoteString(e.policy.policy.name)) (\(file.path)), phase \(d.phase.environmentValue), time zone \(e.policy.policy.timeZone)\n"
        if let description = e.policy.policy.description { out += "           \(description)\n" }
        for (i, reason) in d.reasons.enumerated() {
            out += (i == 0 ? "  why      " : "           ") + reason + "\n"
        }
        if let next = d.nextEligible {
            out += "  next     eligible at \(zone.format(next.epochMilliseconds)) (\(zone.rfc3339(next.epochMilliseconds)))\n"
        }
        if !d.assumed.isEmpty {
            out += "  assumed  " + d.assumed.map { "\($0.fact) = \($0.value)" }.joined(separator: ", ") + "\n"
        }
        if d.outcome != .reboot {
            out += "\n" + paint("what would change it:", "1") + "\n"
            if e.wouldChange.isEmpty {
                out += "  nothing rc can name from these facts\n"
            }
            for change in e.wouldChange { out += "  - \(change.text)\n" }
            if !e.wouldChange.isEmpty {
                out += e.wouldChangeIsComplete
                    ? "  (together, these let it through)\n"
                    : "  (and more than rc can name from these facts)\n"
            }
        }
        out += "\n" + paint("trace:", "1") + "\n"
        out += trace(d.trace)
        out += "\n" + paint(ExplainRenderer.legend, "2") + "\n"
        return out
    }

    /// The trace's lines, written from its events (TraceText.swift) and indented by depth.
    public func trace(_ trace: Trace, indent: Int = 1) -> String {
        guard let file = trace.file else { return "" }
        var out = ""
        for entry in trace.lines {
            var line = String(repeating: "  ", count: entry.depth + indent) + symbol(entry.result) + " " + entry.clause
            if let value = entry.value { line += paint("  → ", "2") + value }
            if entry.assumed { line += paint(" (assumed)", "33") }
            if let span = entry.span { line += "  " + paint("\(file.path):\(file.location(of: span.start))", "2") }
            out += line + "\n"
        }
        return out
    }

    /// The JSON form: `{outcome, blocked_by, name, exit_code, next_eligible, reasons, would_change, trace, …}`.
    public func json(_ e: Explanation) -> JSON {
        let d = e.decision
        let file = e.policy.policy.file
        return .object([
            ("outcome", .string(d.outcome.rawValue)),
            ("blocked_by", .optional(d.blockedBy?.rawValue)),
            ("name", .optional(d.name)),
            ("exit_code", .int(Int64(d.exitCode))),
            ("next_eligible", .optional(d.nextEligible.map { e.policy.zone.rfc3339($0.epochMilliseconds) })),
            ("reasons", .array(d.reasons.map(JSON.string))),
            ("would_change", .array(e.wouldChange.map { .object([("text", .string($0.text)), ("fact", .string($0.fact)), ("value", .string($0.value))]) })),
            ("would_change_complete", .bool(e.wouldChangeIsComplete)),
            ("assumed", .array(d.assumed.map { .object([("fact", .string($0.fact)), ("value", .string($0.value))]) })),
            ("policy", .string(e.policy.policy.name)),
            ("file", .string(file.path)),
            ("phase", .string(d.phase.environmentValue)),
            ("applies", d.applies.map(JSON.bool) ?? .null),
            ("trace", .array(d.trace.lines.map { entry in traceJSON(entry, file) })),
        ])
    }

    func traceJSON(_ entry: TraceLine, _ file: SourceFile) -> JSON {
        let location = entry.span.map { file.location(of: $0.start) }
        return .object([
            ("step", .string(entry.step.rawValue)),
            ("depth", .int(Int64(entry.depth))),
            ("clause", .string(entry.clause)),
            ("result", .string(entry.result.rawValue)),
            ("value", .optional(entry.value)),
            ("assumed", .bool(entry.assumed)),
            ("file", entry.span == nil ? .null : .string(file.path)),
            ("line", location.map { .int(Int64($0.line)) } ?? .null),
            ("column", location.map { .int(Int64($0.column)) } ?? .null),
        ])
    }
}
