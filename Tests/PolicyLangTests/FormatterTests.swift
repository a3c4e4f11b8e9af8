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

    @Test func aLongArgvOfADeclarationIsBrokenBeforeItsBlock() {
        let input = """
            policy "p" {}
            detector "dnf" command ["/usr/bin/needs-restarting", "-r", "--a-long-option", "--another-long-option", "x"] {
              reboot_when exit == 1
              timeout 10s
            }
            health "drain" script ["/bin/sh", "-c", "kubectl drain \\"$RC_NODE_NAME\\" --ignore-daemonsets --timeout=8m --force"]
            detector "short" command ["/bin/true"] { reboot_when exit == 1 }

            """
        let expected = """
            policy "p" {}
            detector "dnf" command [
              "/usr/bin/needs-restarting",
              "-r",
              "--a-long-option",
              "--another-long-option",
              "x",
            ] {
              reboot_when exit == 1
              timeout     10s
            }
            health "drain" script [
              "/bin/sh",
              "-c",
              "kubectl drain \\"$RC_NODE_NAME\\" --ignore-daemonsets --timeout=8m --force",
            ]
            detector "short" command ["/bin/true"] { reboot_when exit == 1 }

            """
        let out = format(input)
        #expect(out == expected)
        #expect(format(out) == out)
        #expect(Checker.check(SourceFile(path: "f.rcl", text: out)).diagnostics.filter { $0.severity == .error }.isEmpty)
    }

    // MARK: - Long lines and comments (seeded property tests)

    /// The tokens of a text, as text, without the commas the formatter adds or drops before a closing `]`.
    private func tokens(_ text: String) -> [String] {
        let file = SourceFile(path: "f.rcl", text: text)
        let all = Lexer.lex(file).tokens.filter { $0.kind != .eof }
        return all.indices.compactMap { i in
            all[i].kind == .comma && i + 1 < all.count && all[i + 1].kind == .rBracket ? nil : file.text(all[i].span)
        }
    }

    /// For each comment at the end of a line, the last token before it (commas aside): what it annotates.
    private func annotated(_ text: String) -> [String] {
        let file = SourceFile(path: "f.rcl", text: text)
        let lexed = Lexer.lex(file)
        let tokens = lexed.tokens.filter { $0.kind != .comma && $0.kind != .eof }
        return lexed.comments.filter { !$0.ownLine }.map { comment in
            tokens.last { $0.span.end <= comment.span.start }.map { file.text($0.span) } ?? ""
        }
    }

    /// A random policy with long `and`/`or` chains and lists, line breaks and comments in random places.
    private func randomPolicy(_ rng: inout Support.SeededGenerator) -> String {
        let comparisons = [
            "cluster.healthy < 3", "cluster.size > 10", "node.name == \"web-1\"", "node.uptime < 24h",
            "node.labels[\"tier\"] == \"canary\"", "cluster.fallback_healthy < 2", "not kill_switch",
            "node.name in [\"cp-a\", \"cp-b\", \"cp-c\"]", "cluster.healthy < max(3, 60% of cluster.size)",
        ]
        var comment = 0
        func gap() -> String {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0:
                comment += 1
                return "  # note \(comment)\n    "
            case 1: return "\n    "
            default: return " "
            }
        }
        var text = "policy \"p\" { applies_to true }\ndetector \"apt\" debian\nlock etcd {\n  endpoints ["
        let endpoints = Int.random(in: 1...6, using: &rng)
        for i in 0..<endpoints {
            text += "\"https://etcd-\(i).example.org:2379\"" + (i + 1 < endpoints ? "," + gap() : "")
        }
        text += "]\n}\n"
        for r in 0..<Int.random(in: 1...5, using: &rng) {
            text += "rule \"r\(r)\" {\n  deny when "
            let operands = Int.random(in: 1...10, using: &rng)
            for i in 0..<operands {
                text += comparisons[Int.random(in: 0..<comparisons.count, using: &rng)]
                if i + 1 < operands { text += gap() + (Bool.random(using: &rng) ? "and" : "or") + " " }
            }
            text += (Bool.random(using: &rng) ? "  # end \(r)" : "") + "\n}\n"
        }
        return text
    }

    @Test func longLinesAndCommentsFormatStably() {
        var rng = Support.SeededGenerator(state: 2026)
        for _ in 0..<200 {
            let text = randomPolicy(&rng)
            let tree = Parser.parse(SourceFile(path: "f.rcl", text: text))
            #expect(tree.diagnostics.isEmpty, "the generator wrote an invalid policy:\n\(text)")
            let once = format(text)
            #expect(format(once) == once, "not idempotent:\n\(text)")
            #expect(tokens(once) == tokens(text), "the formatted policy reads differently:\n\(once)")
            #expect(Support.comments(once) == Support.comments(text))
            #expect(annotated(once) == annotated(text), "a comment moved off the line it annotates:\n\(text)\n→\n\(once)")
            for line in once.split(separator: "\n") {
                // The code of the line fits; a comment after it may reach further (it is never broken).
                var code = line.split(separator: "#", maxSplits: 1).first.map(String.init) ?? ""
                while code.hasSuffix(" ") { code.removeLast() }
                #expect(code.count <= Formatter.lineWidth, "too long: \(line)")
            }
        }
    }
}
