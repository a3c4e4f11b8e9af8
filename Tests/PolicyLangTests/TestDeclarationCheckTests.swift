import PolicyLang
import Testing

/// The checker's findings about tests and command detectors that were silent, or said three things for one.
@Suite struct TestDeclarationCheckTests {
    static let head = "policy \"p\" { applies_to true }\ndetector \"apt\" debian\n"

    private func codes(_ text: String) -> [String] {
        Checker.check(SourceFile(path: "t.rcl", text: text)).diagnostics.map(\.code.rawValue)
    }

    @Test func interpolationInADetectorCommandIsOneError() {
        let text = "policy \"p\" { applies_to true }\ndetector \"c\" command [\"/bin/c\", \"${node.name}\"] { reboot_when exit == 1 }\n"
        #expect(codes(text) == ["RC2017"])
    }

    @Test func aDetectorWithAnErrorStillCountsAsADetector() {
        #expect(codes("policy \"p\" { applies_to true }\ndetector \"m\" file \"relative\"\n") == ["RC2019"])
        #expect(codes("policy \"p\" { applies_to true }\n") == ["RC3001"])
    }

    @Test func everyExpectAfterTheFirstIsReportedWithTheFirst() throws {
        let text = Self.head + "test \"t\" {\n  given { detector \"apt\" fired }\n  expect reboot\n  expect no_reboot\n  expect reboot\n}\n"
        let file = SourceFile(path: "t.rcl", text: text)
        let diagnostics = Checker.check(file).diagnostics
        #expect(diagnostics.map(\.code) == [.duplicateExpectation, .duplicateExpectation])
        #expect(diagnostics.map { file.location(of: $0.span.start).line } == [6, 7])
        #expect(diagnostics.allSatisfy { $0.notes.first?.span.map { file.location(of: $0.start).line } == 5 })
        // The test is not run with one of its expectations picked silently.
        #expect(Checker.check(file).policy == nil)
    }

    @Test(arguments: [
        ("cluster.size 3  cluster.healthy 5", ["RC2041"]),
        ("cluster.healthy -1", ["RC2041"]),
        ("cluster.size -2", ["RC2041"]),
        ("cluster.fallback_healthy -1", ["RC2041"]),
        ("lock.holders -1", ["RC2041"]),
        ("node.uptime -5m", ["RC2041"]),
        ("cluster.size 5  cluster.healthy 5", []),
        ("cluster.healthy 7", []),
        ("cluster.size 0  cluster.healthy 0", []),
    ])
    func impossibleFactsAreRefused(_ facts: String, _ expected: [String]) {
        let text = Self.head + "test \"t\" {\n  given { detector \"apt\" fired  \(facts) }\n  expect reboot\n}\n"
        #expect(codes(text) == expected)
    }

    /// The formatter keeps every `expect`, so a file with two is not changed into one silently.
    @Test func theFormatterKeepsEveryExpect() {
        let text = Self.head + "test \"t\" {\n  given { detector \"apt\" fired }\n  expect reboot\n  expect no_reboot\n}\n"
        #expect(Formatter.format(Parser.parse(SourceFile(path: "t.rcl", text: text))) == text)
    }
}

/// Values a test gives a prometheus check must be ones a single query could return (RC2041).
@Suite struct GivenHealthValuesAgreeTests {
    static let head = "policy \"p\" { applies_to true }\ndetector \"apt\" debian\nhealth \"errors\" prometheus \"http://127.0.0.1:9090\" query \"up\" { ok when empty or value < 0.01 }\n"

    func diagnostics(_ given: String) -> [Diagnostic] {
        let text = Self.head + "test \"t\" {\n  given { detector \"apt\" fired  health \"errors\" \(given) }\n  expect reboot\n}\n"
        return Checker.check(SourceFile(path: "t.rcl", text: text)).diagnostics
    }

    @Test(arguments: [
        ("empty true value 0.5", "`empty true` contradicts the `value` given beside it"),
        ("empty true result [0.5]", "`empty true` contradicts the samples of `result` given beside it"),
        ("empty false", "`empty false` needs the sample the query returned"),
        ("empty false result []", "`empty false` needs the sample the query returned"),
        ("value 0.5 result [0.7]", "`value` is the one sample of `result`, which gives another"),
        ("value 0.5 result [0.5, 0.7]", "`value` is the one sample of `result`, which gives 2 samples"),
    ])
    func valuesNoQueryCouldReturnTogetherAreRefused(_ given: String, _ message: String) {
        let found = diagnostics(given)
        #expect(found.map(\.code) == [.impossibleGiven])
        #expect(found.first?.message == message)
    }

    @Test(arguments: ["empty true", "empty true result []", "empty false value 0.5", "value 0.5 result [0.5]", "value 1 result [1.0]", "result [0.5, 0.7]"])
    func valuesOneQueryCouldReturnAreAccepted(_ given: String) {
        #expect(diagnostics(given).isEmpty, "\(diagnostics(given).map(\.message))")
    }
}
