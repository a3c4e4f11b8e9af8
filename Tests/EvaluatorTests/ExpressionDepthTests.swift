import Evaluator
import Foundation
import PolicyLang
import RCTestSupport
import Testing

/// Expressions as deep as the parser allows (`Parser.maxExpressionDepth`) compile, decide, trace, explain and
/// run their tests with coverage, each well inside a thread's stack.
@Suite struct ExpressionDepthTests {
    /// A policy whose rule is a chain as deep as allowed, with a test that exercises it.
    static func policy(_ op: String, levels: Int = Parser.maxExpressionDepth) -> String {
        let condition: String
        switch op {
        case "or": condition = Array(repeating: "cluster.size < 3", count: levels - 2).joined(separator: " or ")
        case "and": condition = Array(repeating: "cluster.size > 3", count: levels - 2).joined(separator: " and ")
        case "+": condition = "cluster.size < " + Array(repeating: "cluster.size", count: levels - 2).joined(separator: " + ")
        case "mixed":
            condition = (0..<(levels - 3) / 2).map { $0 % 2 == 0 ? "cluster.size > 3" : "node.uptime < 1h" }.joined(separator: " and ")
                + " or " + "cluster.healthy < " + Array(repeating: "1", count: (levels - 3) / 2).joined(separator: " + ")
        default: fatalError(op)
        }
        return """
            policy "p" {
              applies_to node.name == "x"
            }
            detector "apt" debian
            rule "x" { deny when \(condition) }
            test "t" {
              given { detector "apt" fired  cluster.size 5  cluster.healthy 5 }
              expect blocked by rule "x"
            }

            """
    }

    static func prepared(_ text: String) -> PreparedPolicy? {
        Checker.check(SourceFile(path: "deep.rcl", text: text)).policy.map(PreparedPolicy.init)
    }

    static let facts = Facts(
        now: at("2026-11-24T23:00:00+01:00"), nodeName: "x", detectors: ["apt": DetectorObservation(.fired)],
        cluster: ClusterFacts(size: 5, healthy: 5))

    @Test(arguments: ["or", "and", "+", "mixed"])
    func deepestExpressionsEvaluate(_ op: String) throws {
        let policy = try #require(Self.prepared(Self.policy(op)), "the chain at the limit checks")
        let d = policy.decide(Self.facts, trace: true)
        #expect(!d.trace.isEmpty)
        let explanation = Explanation(policy: policy, facts: Self.facts)
        #expect(!ExplainRenderer(color: false).text(explanation).isEmpty)
        _ = ExplainRenderer(color: false).json(explanation).serialized(indent: 2)
        let results = PolicyTestRunner.run(policy)
        #expect(results.count == 1)
        _ = PolicyCoverage(policy: policy, results: results)
    }

    @Test func oneLevelMoreIsRefused() {
        #expect(Self.prepared(Self.policy("or", levels: Parser.maxExpressionDepth + 1)) == nil)
    }

    /// Half of the 8 MB stack of Linux threads, the main one and the concurrency runtime's.
    static let stackBudget = 4 << 20

    @Test(arguments: ["or", "+", "mixed"])
    func walksAtTheLimitFitTheStack(_ op: String) throws {
        let low = try #require(Self.prepared(Self.policy(op, levels: 100)))
        let high = try #require(Self.prepared(Self.policy(op)))
        let checkedLow = low.policy
        let checkedHigh = high.policy
        let walks: [(String, @Sendable (PreparedPolicy) -> Void)] = [
            ("decide", { _ = $0.decide(Self.facts, trace: true) }),
            ("explain", { p in
                let e = Explanation(policy: p, facts: Self.facts)
                _ = ExplainRenderer(color: false).text(e)
                _ = ExplainRenderer(color: false).json(e).serialized(indent: 2)
            }),
            ("test+coverage", { p in _ = PolicyCoverage(policy: p, results: PolicyTestRunner.run(p)) }),
        ]
        var peaks: [(String, Int, Int)] = [
            ("compile", StackProbe.peakUse { _ = PreparedPolicy(checkedLow) }, StackProbe.peakUse { _ = PreparedPolicy(checkedHigh) })
        ]
        for (name, walk) in walks {
            peaks.append((name, StackProbe.peakUse { walk(low) }, StackProbe.peakUse { walk(high) }))
        }
        for (name, a, b) in peaks {
            print("stack \(name) `\(op)`: \(b) bytes at the limit, \((b - a) / (Parser.maxExpressionDepth - 100)) bytes per level")
            #expect(b < Self.stackBudget, "\(name) uses \(b) bytes of stack at the limit")
        }
    }
}
