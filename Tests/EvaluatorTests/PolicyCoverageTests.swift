import Evaluator
import PolicyLang
import Testing

/// `rc test --coverage` counts each clause apart, even where a clause starts where another one does.
@Suite struct PolicyCoverageTests {
    /// The condition `a and b` starts at the same byte as its operand `a`: each keeps its own results.
    /// Test one sees a true and b false, test two a false (b is not reached). Seen: the rule false, the condition
    /// false, a true and false, b false: 5 of 8 branches.
    @Test func anAndStartingWithItsLeftOperandIsCountedApart() {
        let policy = prepare(
            """
            policy "p" { applies_to true }
            detector "flag" file "/run/flag"
            rule "r" { deny when cluster.healthy < 3 and cluster.size > 5 }
            test "a holds, b does not" {
              given { detector "flag" fired  cluster.healthy 1  cluster.size 4 }
              expect reboot
            }
            test "a does not hold" {
              given { detector "flag" fired  cluster.healthy 5  cluster.size 5 }
              expect reboot
            }
            """)
        let results = PolicyTestRunner.run(policy)
        #expect(results.map(\.passed) == [true, true])
        let coverage = PolicyCoverage(policy: policy, results: results)
        let items = coverage.items.map { "\($0.clause) \($0.seenTrue ? "T" : "-")\($0.seenFalse ? "F" : "-")" }
        #expect(
            items == [
                "rule \"r\" -F", "cluster.healthy < 3 and cluster.size > 5 -F", "cluster.healthy < 3 TF", "cluster.size > 5 -F",
            ])
        #expect(coverage.branches.covered == 5)
        #expect(coverage.branches.total == 8)
    }
}
