import ArgumentParser
import Evaluator
import Foundation
import PolicyLang

/// `rc test`: run the `test` blocks of policies.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the test blocks of policies.",
        discussion: """
            Runs every `test` block of every given policy (a directory stands for every *.rcl below it): the test's \
            `given` facts are decided as the daemon would decide them and the decision is compared with `expect`. \
            A failure shows the expected and the actual decision and the trace. A test whose decision depends on \
            the time must give `now`; a test that gives a node.name (or labels) the policy's applies_to does not \
            govern fails.

            --coverage reports, per policy, whether the tests saw each rule, window and condition (every `deny when` \
            line and every operand of `and`/`or` in one) both true and false, and which they never reached. \
            --min-coverage P fails when a policy's branch coverage is below P percent.

            Formats: text, json ({policies: [{file, policy, tests: [{name, passed, expected, actual, message, line}], \
            coverage}]}) and junit (JUnit XML for CI test reports).

            Exit status: 0 all passed, 1 a test failed (or coverage below --min-coverage), 2 an invalid policy, 64 usage error.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, junit
    }

    @Argument(help: "Policy files or directories (default: the current directory).")
    var paths: [String] = []

    @Option(help: "Output format: text, json or junit.")
    var format: Format = .text

    @Flag(help: "Report branch coverage of rules, windows and conditions.")
    var coverage = false

    @Option(help: "Fail (exit 1) when a policy's branch coverage is below this percentage; implies --coverage.")
    var minCoverage: Double?

    @Option(help: "Colour the text output: auto, always or never.")
    var color: ColorChoice = .auto

    func validate() throws {
        if let minCoverage, !(0...100).contains(minCoverage) {
            throw ValidationError("--min-coverage must be between 0 and 100")
        }
    }

    struct PolicyReport {
        var policy: PreparedPolicy
        var results: [PolicyTestResult]
        var coverage: PolicyCoverage?
    }

    func run() throws {
        let policies = try PolicyLoader.load(paths.isEmpty ? ["."] : paths, color: color.enabled(for: STDERR_FILENO))
        let wantCoverage = coverage || minCoverage != nil
        let reports = policies.map { policy in
            let results = PolicyTestRunner.run(policy)
            return PolicyReport(policy: policy, results: results, coverage: wantCoverage ? PolicyCoverage(policy: policy, results: results) : nil)
        }
        switch format {
        case .text: print(text(reports), terminator: "")
        case .json: print(json(reports).serialized(indent: 2))
        case .junit: print(junit(reports))
        }
        let failed = reports.contains { $0.results.contains { !$0.passed } }
        let lowCoverage = minCoverage.map { min in reports.contains { ($0.coverage?.percent ?? 100) < min } } ?? false
        if failed || lowCoverage { throw ExitCode(ExitStatus.runtimeError) }
    }

    private func text(_ reports: [PolicyReport]) -> String {
        let renderer = ExplainRenderer(color: color.enabled(for: STDOUT_FILENO))
        let paint = renderer.paint
        var out = ""
        var passed = 0
        var failed = 0
        for report in reports {
            let file = report.policy.policy.file
            out += paint("\(file.path)", "1") + "  policy \(quoteString(report.policy.policy.name))"
            out += report.results.isEmpty ? "  (no tests)\n" : "\n"
            for result in report.results {
                if result.passed {
                    passed += 1
                    out += "  " + paint("✓", "32") + " \(result.name)\n"
                } else {
                    failed += 1
                    out += "  " + paint("✗", "31") + " \(result.name)  " + paint("\(file.path):\(file.location(of: result.span.start))", "2") + "\n"
                    out += "      expected  \(PolicyTestRunner.describe(result.expected))\n"
                    out += "      actual    \(ExplainRenderer.headline(result.decision))\n"
                    if let message = result.failure { out += "      why       \(message)\n" }
                    for reason in result.decision.reasons { out += "                \(reason)\n" }
                    out += "      trace:\n" + renderer.trace(result.decision.trace, indent: 3)
                }
            }
            if let coverage = report.coverage { out += coverageText(coverage, file: file, paint: paint) }
        }
        let total = passed + failed
        out += "\n\(total) test\(total == 1 ? "" : "s") in \(reports.count) polic\(reports.count == 1 ? "y" : "ies"): \(passed) passed, \(failed) failed\n"
        if let minCoverage {
            let low = reports.filter { ($0.coverage?.percent ?? 100) < minCoverage }
            for report in low {
                out += "coverage of \(report.policy.policy.file.path) is \(percentText(report.coverage?.percent ?? 0)), below --min-coverage \(percentText(minCoverage))\n"
            }
        }
        return out
    }

    private func coverageText(_ c: PolicyCoverage, file: SourceFile, paint: (String, String) -> String) -> String {
        let (covered, total) = c.branches
        var out = "  coverage: \(covered) of \(total) branches (\(percentText(c.percent)))\n"
        for item in c.items {
            let state: String
            let mark: String
            switch (item.seenTrue, item.seenFalse) {
            case (true, true): (mark, state) = (paint("✓", "32"), "true and false")
            case (true, false): (mark, state) = (paint("✗", "31"), "never false")
            case (false, true): (mark, state) = (paint("✗", "31"), "never true")
            case (false, false): (mark, state) = (paint("·", "2"), "never reached")
            }
            let indent = item.kind == .condition ? "      " : "    "
            out += "\(indent)\(mark) \(item.clause)  → \(state)  " + paint("\(file.path):\(file.location(of: item.span.start))", "2") + "\n"
        }
        return out
    }

    private func percentText(_ p: Double) -> String {
        p == p.rounded() ? "\(Int(p))%" : String(format: "%.1f%%", p)
    }

    private func json(_ reports: [PolicyReport]) -> JSON {
        .object([
            (
                "policies",
                .array(
                    reports.map { report in
                        let file = report.policy.policy.file
                        var fields: [(String, JSON)] = [
                            ("file", .string(file.path)),
                            ("policy", .string(report.policy.policy.name)),
                            (
                                "tests",
                                .array(
                                    report.results.map { r in
                                        .object([
                                            ("name", .string(r.name)),
                                            ("passed", .bool(r.passed)),
                                            ("expected", .string(PolicyTestRunner.describe(r.expected))),
                                            ("actual", .string(ExplainRenderer.headline(r.decision))),
                                            ("message", .optional(r.failure)),
                                            ("line", .int(Int64(file.location(of: r.span.start).line))),
                                        ])
                                    })
                            ),
                        ]
                        if let c = report.coverage {
                            fields.append(
                                (
                                    "coverage",
                                    .object([
                                        ("covered", .int(Int64(c.branches.covered))),
                                        ("total", .int(Int64(c.branches.total))),
                                        ("percent", .double(c.percent)),
                                        (
                                            "items",
                                            .array(
                                                c.items.map { item in
                                                    .object([
                                                        ("kind", .string(item.kind.rawValue)),
                                                        ("clause", .string(item.clause)),
                                                        ("true", .bool(item.seenTrue)),
                                                        ("false", .bool(item.seenFalse)),
                                                        ("line", .int(Int64(file.location(of: item.span.start).line))),
                                                        ("column", .int(Int64(file.location(of: item.span.start).column))),
                                                    ])
                                                })
                                        ),
                                    ])
                                ))
                        }
                        return .object(fields)
                    })
            )
        ])
    }

    private func junit(_ reports: [PolicyReport]) -> String {
        func escape(_ s: String) -> String {
            var out = ""
            for ch in s.unicodeScalars {
                switch ch {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&quot;"
                case "'": out += "&apos;"
                default:
                    // XML 1.0 has no escape for most control characters; drop them.
                    if ch.value < 0x20, ch != "\n", ch != "\t", ch != "\r" { continue }
                    out.unicodeScalars.append(ch)
                }
            }
            return out
        }
        let total = reports.reduce(0) { $0 + $1.results.count }
        let failures = reports.reduce(0) { $0 + $1.results.filter { !$0.passed }.count }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"rc test\" tests=\"\(total)\" failures=\"\(failures)\">\n"
        let renderer = ExplainRenderer(color: false)
        for report in reports {
            let file = report.policy.policy.file
            let failed = report.results.filter { !$0.passed }.count
            out += "  <testsuite name=\"\(escape(report.policy.policy.name))\" file=\"\(escape(file.path))\" tests=\"\(report.results.count)\" failures=\"\(failed)\">\n"
            for r in report.results {
                let line = file.location(of: r.span.start).line
                out += "    <testcase name=\"\(escape(r.name))\" classname=\"\(escape(report.policy.policy.name))\" file=\"\(escape(file.path))\" line=\"\(line)\""
                if let failure = r.failure {
                    out += ">\n      <failure message=\"\(escape(failure))\">\(escape(r.decision.reasons.joined(separator: "\n") + "\n" + renderer.trace(r.decision.trace)))</failure>\n    </testcase>\n"
                } else {
                    out += "/>\n"
                }
            }
            out += "  </testsuite>\n"
        }
        return out + "</testsuites>"
    }
}
