import Foundation
import PolicyLang
import PropertyBased
import RCTestSupport
import Testing

/// Long operator chains, deep nesting and wide lists: bounded by `Parser.maxExpressionDepth` (RC1017) and
/// `Parser.maxNesting` (RC1013), never a crash, and every walk stays well inside a thread's stack.
@Suite struct ExpressionLimitTests {
    static let head = "policy \"p\" {\n  applies_to node.name == \"x\"\n}\ndetector \"apt\" debian\n"

    /// `rule "x" { deny when TERM OP TERM OP … }` with `n` terms.
    static func chain(_ n: Int, _ op: String) -> String {
        let condition: String
        switch op {
        case "or", "and": condition = Array(repeating: "cluster.size < 3", count: n).joined(separator: " \(op) ")
        case "+", "-", "*": condition = "cluster.size < " + Array(repeating: "1", count: n).joined(separator: " \(op) ")
        case ".": condition = "node" + String(repeating: ".name", count: n - 1) + " == \"x\""
        case "[": condition = "node.labels" + String(repeating: "[\"a\"]", count: n - 1) + " == \"x\""
        default: fatalError(op)
        }
        return head + "rule \"x\" { deny when \(condition) }\n"
    }

    static func check(_ text: String) -> CheckResult { Checker.check(SourceFile(path: "x.rcl", text: text)) }

    @Test(arguments: ["or", "and", "+", "-", "*"])
    func hundredsOfTermsAreFine(_ op: String) {
        let result = Self.check(Self.chain(400, op))
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.message))")
    }

    @Test(arguments: ["or", "and", "+", "*", ".", "["], [600, 2_000, 50_000])
    func aLongerChainIsOneLocatedError(_ op: String, _ terms: Int) throws {
        let text = Self.chain(terms, op)
        let result = Self.check(text)
        #expect(result.diagnostics.map(\.code) == [.expressionTooLong])
        let d = try #require(result.diagnostics.first)
        let file = result.tree.file
        #expect(file.location(of: d.span.start).line == 5)
        #expect(d.message == "expression too long: more than \(Parser.maxExpressionDepth) levels of operators")
        // Pointed at an operator of the chain, not at the start of the rule.
        let pointed = file.text(d.span)
        #expect(["or", "and", "+", "*", "name", "["].contains(pointed), "\(pointed)")
    }

    @Test func theLimitCountsLevelsNotTerms() {
        // Each term is 3 levels deep (`<`, `.size`, `cluster`), so 500 levels hold 498 terms.
        #expect(Self.check(Self.chain(498, "or")).diagnostics.isEmpty)
        #expect(Self.check(Self.chain(499, "or")).diagnostics.map(\.code) == [.expressionTooLong])
        // A wide list is one level over its widest element, however many elements it has.
        let list = Self.head + "rule \"x\" { deny when node.name in [" + (0..<50_000).map { "\"n\($0)\"" }.joined(separator: ", ") + "] }\n"
        #expect(Self.check(list).diagnostics.isEmpty)
    }

    @Test func theRestOfTheFileIsStillChecked() {
        let text = Self.chain(5_000, "or") + "rule \"y\" { deny when clster.size < 3 }\n"
        #expect(Self.check(text).diagnostics.map(\.code) == [.expressionTooLong, .unknownName])
    }

    @Test func deeplyNestedBlocksAreOneError() {
        let text = "policy \"p\" {}\ncluster " + String(repeating: "{ a ", count: 10_000) + String(repeating: "}", count: 10_000) + "\n"
        let result = Self.check(text)
        #expect(result.diagnostics.map(\.code) == [.nestingTooDeep])
        #expect(result.diagnostics.first?.message == "blocks nested more than 100 levels deep")
    }

    // MARK: - Stack

    /// Half of the 8 MB that Linux gives the main thread and, through glibc's default, every other thread
    /// (Swift's concurrency threads included): the walks at the limit must fit in it twice over.
    static let stackBudget = 4 << 20

    static func walks(_ text: String) -> [(String, () -> Void)] {
        [
            ("parse", { _ = Parser.parse(SourceFile(path: "x.rcl", text: text)) }),
            ("check", { _ = Checker.check(SourceFile(path: "x.rcl", text: text)) }),
            ("format", { _ = Formatter.format(Parser.parse(SourceFile(path: "x.rcl", text: text))) }),
            ("render", { _ = Support.render(SourceFile(path: "x.rcl", text: text)) }),
        ]
    }

    @Test(arguments: ["or", "+", ".", "["])
    func walksAtTheLimitFitTheStack(_ op: String) {
        let low = Self.chain(100, op)
        let high = Self.chain(Parser.maxExpressionDepth - 3, op)
        // Member and index chains this long do not type-check (`node.name.name`), but every walk still goes all the way down.
        #expect(!Self.check(high).diagnostics.contains { $0.code == .expressionTooLong })
        for ((name, walkLow), (_, walkHigh)) in zip(Self.walks(low), Self.walks(high)) {
            let a = StackProbe.peakUse(walkLow)
            let b = StackProbe.peakUse(walkHigh)
            let perLevel = (b - a) / (Parser.maxExpressionDepth - 103)
            print("stack \(name) `\(op)`: \(b) bytes at the limit, \(perLevel) bytes per level")
            #expect(b < Self.stackBudget, "\(name) uses \(b) bytes of stack at the limit")
        }
    }

    @Test func concurrencyThreadsHaveTheStackTheBudgetAssumes() async {
        // rc runs its commands in a Task; the tests run in tasks too.
        let here = StackProbe.currentThreadStackSize()
        let detached = await Task.detached { StackProbe.currentThreadStackSize() }.value
        print("stack of a concurrency thread: \(here) bytes (detached task: \(detached))")
        #expect(here >= 2 * Self.stackBudget && detached >= 2 * Self.stackBudget)
    }

    // MARK: - Fuzz

    /// A random expression of about `size` tokens: long mixed chains, nesting, `not`, lists in lists, wide lists.
    static func randomExpression(_ rng: inout Support.SeededGenerator, size: Int) -> String {
        var out = ""
        out.reserveCapacity(size * 6)
        var open: [Character] = []
        var count = 0
        let atoms = ["cluster.size", "1", "2s", "60%", "node.name", "\"a\"", "true", "node.labels[\"k\"]", "len(node.labels)"]
        let ops = [" or ", " and ", " + ", " - ", " * ", " == ", " < ", " in "]
        while count < size {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0 where open.count < 150:
                out += "("
                open.append(")")
            case 1 where open.count < 150:
                out += "["
                open.append("]")
            case 2:
                out += "not "
            default:
                break
            }
            out += atoms.randomElement(using: &rng)!
            count += 1
            if let closer = open.last, Int.random(in: 0..<4, using: &rng) == 0 {
                out.append(closer)
                open.removeLast()
            }
            if let closer = open.last, closer == "]", Bool.random(using: &rng) {
                out += ", "
            } else {
                out += ops.randomElement(using: &rng)!
            }
        }
        out += atoms[0]
        while let closer = open.popLast() { out.append(closer) }
        return out
    }

    @Test func randomLongAndDeepExpressionsNeverCrash() async {
        await propertyCheck(count: 40, input: Gen.int(in: 0...Int(UInt32.max))) { seed in
            var rng = Support.SeededGenerator(state: UInt64(seed))
            let size = [10, 300, 5_000, 30_000].randomElement(using: &rng)!
            let text = Self.head + "rule \"r\" { deny when " + Self.randomExpression(&rng, size: size) + " }\nrule \"s\" { deny when true }\n"
            let result = Self.check(text)
            #expect(result.diagnostics.count <= DiagnosticBag.defaultLimit + 1)
            for d in result.diagnostics {
                #expect(d.span.start >= 0 && d.span.end <= text.utf8.count)
                #expect(result.tree.file.location(of: d.span.start).line >= 5)
            }
            if !result.tree.diagnostics.contains(where: { $0.severity == .error }) {
                _ = Formatter.format(result.tree)
            }
            _ = DiagnosticRenderer().text([FileDiagnostics(file: result.tree.file, diagnostics: result.diagnostics)])
        }
    }

    @Test func nestingOfEveryKindIsBounded() {
        let n = 20_000
        let cases = [
            String(repeating: "(", count: n) + "true" + String(repeating: ")", count: n),
            String(repeating: "not ", count: n) + "true",
            String(repeating: "[", count: n) + String(repeating: "]", count: n) + " == []",
            String(repeating: "len(", count: n) + "node.labels" + String(repeating: ")", count: n) + " > 1",
            "node.labels == " + String(repeating: "{\"a\": ", count: n) + "1" + String(repeating: "}", count: n),
            "cluster.size < " + String(repeating: "-", count: n) + "1",
            "cluster.size < " + String(repeating: "1% of ", count: n) + "3",
            String(repeating: "(true or ", count: n) + "true" + String(repeating: ")", count: n),
        ]
        for condition in cases {
            let result = Self.check(Self.head + "rule \"r\" { deny when \(condition) }\n")
            #expect(result.diagnostics.map(\.code) == [.nestingTooDeep], "\(condition.prefix(30)): \(result.diagnostics.map(\.message))")
        }
    }
}
