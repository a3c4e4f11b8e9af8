import Evaluator
import Foundation
import PolicyLang
import Testing

/// `rc test` decides as a live node would: a test about a node the policy does not govern fails.
@Suite struct PolicyTestRunnerTests {
    @Test func aTestOfANodeThePolicyDoesNotGovernFails() {
        let policy = prepare(
            """
            policy "web" { applies_to node.name matches /^web-[0-9]+$/ }
            detector "flag" file "/run/flag"
            test "a web node reboots" {
              given { node.name "web-1"  detector "flag" fired }
              expect reboot
            }
            test "a database node is not this policy's" {
              given { node.name "db-1"  detector "flag" fired }
              expect reboot
            }
            test "no node named: applies_to is assumed" {
              given { detector "flag" fired }
              expect reboot
            }
            """)
        let results = PolicyTestRunner.run(policy)
        #expect(results.map(\.passed) == [true, false, true])
        #expect(results[1].failure?.hasPrefix("the policy does not apply to the node this test gives") == true, "\(results[1].failure ?? "passed")")
    }
}
