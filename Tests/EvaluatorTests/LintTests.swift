import Foundation
import PolicyLang
import RCTestSupport
import Testing

@testable import Evaluator

@Suite struct LintTests {
    /// Random conditions over counts, a duration and a bool: whenever the small model says a condition is constant,
    /// no point of a much denser grid disagrees; and it does say so for some of them (the check is not vacuous).
    @Test func theSmallModelIsSoundOnRandomConditions() throws {
        var rng = SplitMix64(seed: 0x5EED_1A7)
        var constants = 0
        for _ in 0..<300 {
            let text = randomCondition(&rng, depth: 3)
            let result = Checker.check(SourceFile(path: "r.rcl", text: "policy \"p\" {}\ndetector \"apt\" debian\nrule \"r\" { deny when \(text) }\n"))
            let policy = try #require(result.policy, "\(text): \(result.diagnostics.map(\.message))")
            let condition = policy.rules[0].conditions[0]
            let compiler = Compiler(tables: policy.tables, policyName: "p")
            var model = SmallModel(policy, compiler: compiler)
            let formula = model.formula(condition)
            let claim = model.constant(formula)
            guard let claim else { continue }
            constants += 1
            let code = compiler.compile(condition)
            var slots = PreparedPolicyDefaults.slots
            for size in Int64(0)...40 {
                for healthy in 0...size {
                    for uptime: Int64 in [0, 1, 1_799_999, 1_800_000, 1_800_001, 3_600_000, 86_400_000, 90_000_000] {
                        for ks in [false, true] {
                            slots[.clusterSize] = .int(size)
                            slots[.clusterHealthy] = .int(healthy)
                            slots[.nodeUptime] = .duration(uptime)
                            slots[.killSwitch] = .bool(ks)
                            let value = try Interpreter.bool(code, slots, nil)
                            #expect(value == claim, "\(text) is \(value) at size \(size), healthy \(healthy), uptime \(uptime), kill_switch \(ks); the model says always \(claim)")
                            if value != claim { return }
                        }
                    }
                }
            }
        }
        #expect(constants > 20, "only \(constants) of 300 conditions were found constant")
    }

    private func randomCondition(_ rng: inout SplitMix64, depth: Int) -> String {
        let r = rng.next() % 10
        if depth > 0, r < 3 {
            let op = ["and", "or"][Int(rng.next() % 2)]
            return "(\(randomCondition(&rng, depth: depth - 1)) \(op) \(randomCondition(&rng, depth: depth - 1)))"
        }
        if depth > 0, r == 3 { return "not (\(randomCondition(&rng, depth: depth - 1)))" }
        let ops = ["<", "<=", ">", ">=", "==", "!="]
        let op = ops[Int(rng.next() % 6)]
        switch rng.next() % 6 {
        case 0: return "cluster.healthy \(op) cluster.size"
        case 1: return "cluster.healthy \(op) \(Int(rng.next() % 8) - 1)"
        case 2: return "cluster.healthy \(op) \(Int(rng.next() % 130))% of cluster.size"
        case 3: return "cluster.size - cluster.healthy \(op) \(Int(rng.next() % 5))"
        case 4: return "node.uptime \(op) \(["30m", "1h", "24h", "0s"][Int(rng.next() % 4)])"
        default: return "kill_switch"
        }
    }

    @Test func aDeclaredRuleThatHoldsOnlyWithAnEarlierOneIsShadowedAndTheOtherWayRoundIsNot() throws {
        func lint(_ rules: String) -> [Diagnostic] {
            let r = Checker.check(SourceFile(path: "r.rcl", text: "policy \"p\" {}\ndetector \"apt\" debian\nkill_switch file \"/etc/rc/disable\"\n\(rules)"))
            return Linter.lint(r.policy!, tree: r.tree)
        }
        #expect(lint("rule \"a\" { deny when cluster.healthy < 3 }\nrule \"b\" { deny when cluster.healthy < 2 }\n").map(\.code) == [.shadowedRule])
        #expect(lint("rule \"a\" { deny when cluster.healthy < 2 }\nrule \"b\" { deny when cluster.healthy < 3 }\n").isEmpty)
        // `cluster.size < 2` implies `cluster.healthy < 2`: healthy is never more than size.
        #expect(lint("rule \"a\" { deny when cluster.healthy < 2 }\nrule \"b\" { deny when cluster.size < 2 }\n").map(\.code) == [.shadowedRule])
    }

    @Test func aSuppressionCoversItsLineOrTheNextAndOnlyTheLintItNames() throws {
        let text = """
            policy "p" {}
            detector "apt" debian
            # rc:ignore RC3007 kept for the migration
            rule "a" { deny when false }
            rule "b" { deny when false }  # rc:ignore constant-rule the same
            rule "c" { deny when false }  # rc:ignore RC3008 wrong lint

            """
        let groups = PolicyAnalysis.analyze([SourceFile(path: "p.rcl", text: text)])
        let found = groups.flatMap(\.diagnostics).map { ($0.code, groups[0].file.location(of: $0.span.start).line) }
        let lines = Dictionary(grouping: found, by: \.0).mapValues { $0.map(\.1) }
        #expect(lines[.constantRule] == [6])
        #expect(lines[.unusedSuppression] == [6])
        #expect(lines[.suppressionWithoutReason] == nil)
        #expect(lines[.noKillSwitch] == [1])
        #expect(found.count == 3)
    }

    @Test func theConfigurationSetsLevelsAndTurnsLintsOff() {
        let d = Diagnostic(.noKillSwitch, "x", at: .at(0))
        #expect(LintConfiguration(levels: [.noKillSwitch: .error]).apply(d)?.severity == .error)
        #expect(LintConfiguration(levels: [.noKillSwitch: .off]).apply(d) == nil)
        #expect(LintConfiguration(levels: [.constantRule: .off]).apply(d)?.severity == .note)
        // Errors are not lints: a level never applies to them.
        let e = Diagnostic(.unknownName, "x", at: .at(0))
        #expect(LintConfiguration(levels: [.noKillSwitch: .off]).apply(e)?.severity == .error)
        #expect(DiagnosticCode(lint: "never-eligible") == .neverEligible)
        #expect(DiagnosticCode(lint: "rc3004") == .neverEligible)
        #expect(DiagnosticCode(lint: "RC2001") == nil)
    }

    @Test(arguments: [
        ("vendor/**", "vendor/a/b.rcl", true), ("vendor", "vendor/a.rcl", true), ("vendor", "vendors/a.rcl", false),
        ("*.draft.rcl", "x.draft.rcl", true), ("*.draft.rcl", "dir/x.draft.rcl", false), ("**/*.draft.rcl", "dir/x.draft.rcl", true),
        ("a/?.rcl", "a/b.rcl", true), ("a/?.rcl", "a/bc.rcl", false), ("**", "anything/at/all", true),
    ])
    func globs(_ pattern: String, _ path: String, _ expected: Bool) {
        #expect(Glob.matches(pattern, path) == expected)
    }

    @Test func textEditsApplyInOrderAndRefuseOverlaps() {
        let bytes = Array("window deny \"a\" Tues\n".utf8)
        #expect(TextEdit.apply([TextEdit(Span(16, 20), "Tue")], to: bytes).map { String(decoding: $0, as: UTF8.self) } == "window deny \"a\" Tue\n")
        #expect(TextEdit.apply([TextEdit(Span(0, 6), "x"), TextEdit(Span(3, 8), "y")], to: bytes) == nil)
    }
}
