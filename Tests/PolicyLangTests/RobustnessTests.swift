import Foundation
import PolicyLang
import PropertyBased
import Testing

/// The parser and checker never crash or hang, whatever the input.
@Suite struct RobustnessTests {
    private func check(_ bytes: [UInt8]) -> CheckResult {
        Checker.check(SourceFile(path: "input.rcl", bytes: bytes))
    }

    @Test func emptyFileReportsMissingPolicy() {
        let result = check([])
        #expect(result.diagnostics.map(\.code) == [.missingPolicy])
    }

    @Test func invalidUTF8IsLocated() {
        let bytes = Array("policy \"p\" {}\ndetector \"a\" file \"/x".utf8) + [0xFF, 0xFE] + Array("\"\n".utf8)
        let result = check(bytes)
        let d = try! #require(result.diagnostics.first { $0.code == .invalidUTF8 })
        #expect(result.tree.file.location(of: d.span.start) == SourceLocation(line: 2, column: 22))
    }

    @Test func oneMegabyteOfRandomBytes() {
        var rng = Support.SeededGenerator(state: 42)
        let bytes = (0..<1_000_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let result = check(bytes)
        #expect(result.hasErrors)
        // Rendering every diagnostic must work too (invalid UTF-8 in the source lines).
        let text = DiagnosticRenderer().text([FileDiagnostics(file: result.tree.file, diagnostics: Array(result.diagnostics.prefix(200)))])
        #expect(!text.isEmpty)
    }

    @Test func tenThousandNestedParentheses() {
        let text = "policy \"p\" {}\ndetector \"a\" debian\nrule \"r\" { deny when " + String(repeating: "(", count: 10_000) + "true"
            + String(repeating: ")", count: 10_000) + " }\nrule \"s\" { deny when true }\n"
        let result = check(Array(text.utf8))
        #expect(result.diagnostics.map(\.code) == [.nestingTooDeep])
    }

    @Test func tenThousandNotsAndMinuses() {
        let text = "policy \"p\" {}\nrule \"r\" { deny when " + String(repeating: "not ", count: 10_000) + "true }\n"
            + "rule \"s\" { deny when cluster.size < " + String(repeating: "-", count: 10_000) + "1 }\n"
        let result = check(Array(text.utf8))
        #expect(result.diagnostics.filter { $0.code == .nestingTooDeep }.count == 2)
    }

    @Test func hundredThousandLinePolicy() {
        var text = "policy \"big\" {\n  applies_to node.name matches /^web-/\n}\ndetector \"apt\" debian\n"
        var lines = 4
        var i = 0
        while lines < 100_000 {
            text += "rule \"r\(i)\" {\n  deny when cluster.healthy < max(\(i % 7), 60% of cluster.size) and node.name != \"n\(i)\"\n}\n"
            lines += 3
            i += 1
        }
        let result = check(Array(text.utf8))
        #expect(!result.hasErrors)
        #expect(result.policy?.rules.count == i)
    }

    /// Random and mutated inputs never crash the parser, the checker or the formatter.
    @Test func randomAndMutatedInputs() async throws {
        let seeds = try Support.examplePolicies().map { Array(try Data(contentsOf: $0)) }
        let alphabet = Array("policy detector window deny allow rule test given expect { } [ ] ( ) \" / .. , : 18:00 Mon Fri 10s 60% of and or not in matches node.name cluster.size # \n".utf8)
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int(UInt32.max)), Gen.int(in: 0...(seeds.count - 1))) { seed, which in
            var rng = Support.SeededGenerator(state: UInt64(seed))
            var bytes = seeds[which]
            let mutations = Int.random(in: 1...8, using: &rng)
            for _ in 0..<mutations {
                guard !bytes.isEmpty else { break }
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
                case 2: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                default:
                    let end = min(bytes.count, at + Int.random(in: 1...40, using: &rng))
                    bytes.removeSubrange(at..<end)
                }
            }
            let result = Checker.check(SourceFile(path: "m.rcl", bytes: bytes))
            _ = DiagnosticRenderer().text([FileDiagnostics(file: result.tree.file, diagnostics: result.diagnostics)])
            if !result.tree.diagnostics.contains(where: { $0.severity == .error }) {
                let once = Formatter.format(result.tree)
                let twice = Formatter.format(Parser.parse(SourceFile(path: "m.rcl", text: once)))
                #expect(once == twice)
            }
        }
    }

    @Test func randomTokenSoup() async {
        let words = ["policy", "\"p\"", "{", "}", "detector", "file", "command", "[", "]", "rule", "deny", "when", "(", ")", "and", "not",
                     "1", "10s", "60%", "of", "Mon", "..", "18:00", "window", "test", "given", "expect", "blocked", "by", "/x/", ",", "\n", "#c\n", "node", ".", "name", "==", "<"]
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int(UInt32.max))) { seed in
            var rng = Support.SeededGenerator(state: UInt64(seed))
            let text = (0..<Int.random(in: 0...200, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
            let result = Checker.check(SourceFile(path: "s.rcl", text: text))
            #expect(result.diagnostics.allSatisfy { $0.span.start <= $0.span.end && $0.span.end <= text.utf8.count })
        }
    }
}
