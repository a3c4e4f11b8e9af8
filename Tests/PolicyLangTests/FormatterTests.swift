import Foundation
import PolicyLang
import Testing

@Suite struct FormatterTests {
    static let examples = Support.examplePolicies().map(\.lastPathComponent)

    private func format(_ text: String) -> String {
        Formatter.format(Parser.parse(SourceFile(path: "f.rcl", text: text)))
    }

    @Test(arguments: Support.examplePolicies())
    func examplesAreFormattedAndIdempotent(_ url: URL) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        let once = format(text)
        #expect(once == text, "\(url.lastPathComponent) is not in canonical form")
        #expect(format(once) == once)
        #expect(Support.comments(once) == Support.comments(text))
    }

    /// Messy layouts of every example: formatting twice equals formatting once, and every comment survives.
    @Test(arguments: Support.examplePolicies())
    func messyLayoutsConverge(_ url: URL) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        var rng = Support.SeededGenerator(state: UInt64(text.utf8.count))
        for _ in 0..<30 {
            // Re-space the file: random extra spaces and blank lines between tokens outside strings and comments.
            var out = ""
            var inString = false
            var inComment = false
            for c in text {
                out.append(c)
                if inComment { if c == "\n" { inComment = false }; continue }
                if c == "\"" { inString.toggle() }
                if c == "#", !inString { inComment = true; continue }
                if !inString, c == " " { out += String(repeating: " ", count: Int.random(in: 0...3, using: &rng)) }
                if !inString, c == "\n", Int.random(in: 0...5, using: &rng) == 0 { out += "\n\n" }
            }
            let once = format(out)
            #expect(format(once) == once)
            #expect(Support.comments(once) == Support.comments(text))
            #expect(!Checker.check(SourceFile(path: "f.rcl", text: once)).hasErrors)
        }
    }

    @Test func canonicalLayout() {
        let input = """
            # head
            policy   "p"{applies_to   node.name=="a"}
            detector "apt"    debian   # trailing
            window deny "w" fri 18:00..mon 08:00
            lock etcd { endpoints ["https://a:1"]
              ttl 60s # ttl
            }
            rule "r" {deny when (cluster.healthy<3) or not kill_switch}



            test "t" { given { now 2026-01-01T00:00:00Z  detector "apt" fired } expect reboot }
            # tail
            """
        let expected = """
            # head
            policy "p" { applies_to node.name == "a" }
            detector "apt" debian  # trailing
            window deny "w" Fri 18:00 .. Mon 08:00
            lock etcd {
              endpoints ["https://a:1"]
              ttl       60s  # ttl
            }
            rule "r" { deny when (cluster.healthy < 3) or not kill_switch }

            test "t" { given { now 2026-01-01T00:00:00Z  detector "apt" fired }  expect reboot }
            # tail

            """
        #expect(format(input) == expected)
    }

    @Test func multiLineListsStayMultiLine() {
        let input = """
            policy "p" {}
            reboot command [
              "/sbin/shutdown",  # the program
              "-r",
              "now"
            ]
            """
        let out = format(input)
        #expect(out.contains("  \"/sbin/shutdown\",  # the program\n"))
        #expect(format(out) == out)
    }
}
