import PolicyLang
import Testing

/// The common mistakes that the parser recovers from: one diagnostic, and then the declaration read as it was
/// meant, so nothing else is misread or reported twice.
@Suite struct ParserRecoveryTests {
    static let head = "policy \"p\" { applies_to true }\ndetector \"apt\" debian\n"

    private func parse(_ text: String) -> SyntaxTree { Parser.parse(SourceFile(path: "r.rcl", text: Self.head + text)) }

    @Test(arguments: [
        ("window allow \"night\" Mon-Fri 22:00-04:00", "window allow \"night\" Mon..Fri 22:00 .. 04:00", "RC1022"),
        ("window deny \"w\" Sat-Sun, Wed 01:00 .. 02:00", "window deny \"w\" Sat..Sun, Wed 01:00 .. 02:00", "RC1022"),
        ("window deny \"w\" Fri 18:00-Mon 08:00", "window deny \"w\" Fri 18:00 .. Mon 08:00", "RC1022"),
        ("rule \"r\" { deny if cluster.healthy < 3 }", "rule \"r\" { deny when cluster.healthy < 3 }", "RC1020"),
        ("detector \"c\" command [\"/bin/c\"] {\n  reboot_when exit == 1\n  ok if exit == 0\n}", "detector \"c\" command [\"/bin/c\"] {\n  reboot_when exit == 1\n  ok_when exit == 0\n}", "RC1020"),
        (
            "health \"e\" prometheus \"http://127.0.0.1:9090\" query \"q\" { ok if value < 0.01 }",
            "health \"e\" prometheus \"http://127.0.0.1:9090\" query \"q\" { ok when value < 0.01 }", "RC1020"
        ),
        ("lock etcd {\n  endpoints [\"https://a:1\"]\n  max-reboot-duration 30m\n}", "lock etcd {\n  endpoints [\"https://a:1\"]\n  max_reboot_duration 30m\n}", "RC1021"),
        ("dry-run true", "dry_run true", "RC1021"),
    ])
    func recoversAsMeant(_ wrong: String, _ right: String, _ code: String) {
        let broken = parse(wrong)
        #expect(broken.diagnostics.map(\.code.rawValue) == [code])
        let meant = parse(right)
        #expect(meant.diagnostics.isEmpty)
        #expect(Formatter.format(broken) == Formatter.format(meant), "the recovered tree differs from the meant one")
    }

    /// Both hyphens of a window are one mistake: one diagnostic, with a note at the second.
    @Test func bothHyphensOfAWindowGiveOneDiagnostic() throws {
        let tree = parse("window allow \"night\" Mon-Fri 22:00-04:00\n")
        let d = try #require(tree.diagnostics.first)
        #expect(tree.diagnostics.count == 1)
        #expect(tree.file.text(d.span) == "-")
        #expect(tree.file.location(of: d.span.start).column == 25)
        #expect(d.notes.compactMap(\.span).map { tree.file.location(of: $0.start).column } == [35])
        #expect(d.help == "write `Mon..Fri 22:00 .. 04:00`")
    }

    @Test(arguments: [("/[/]/", "[/]"), ("/^[]/]x$/", "^[]/]x$"), ("/[^]/]/", "[^]/]"), ("/a\\[b/", "a\\[b")])
    func slashesInsideACharacterClassDoNotEndTheRegex(_ literal: String, _ pattern: String) {
        let result = Checker.check(SourceFile(path: "r.rcl", text: Self.head + "rule \"r\" { deny when node.name matches \(literal) }\n"))
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.message))")
        let lexed = Lexer.lex(SourceFile(path: "r.rcl", text: "x matches \(literal)"))
        #expect(lexed.tokens.map(\.kind) == [.identifier, .identifier, .regex, .eof])
        if case .regex(let p, _) = lexed.value(of: lexed.tokens[2]) { #expect(p == pattern) } else { Issue.record("not a regex") }
    }

    @Test func anUnclosedClassIsReportedAtItsBracket() throws {
        let tree = parse("rule \"r\" { deny when node.name matches /^web-[0-9+$/ }\nrule \"s\" { deny when 2 < 3 }\n")
        let d = try #require(tree.diagnostics.first)
        #expect(tree.diagnostics.map(\.code) == [.unclosedRegexClass])
        #expect(tree.file.text(d.span) == "[")
        // The next declaration is read.
        #expect(tree.decls.count == 3)
    }

    @Test(arguments: [("0.6", "60"), ("0.625", "62.5"), ("1.5", "150"), ("0.05", "5"), ("0.001", "0.1"), ("2.0", "200")])
    func aFractionTimesACountSuggestsThePercentage(_ fraction: String, _ percent: String) throws {
        let tree = parse("rule \"r\" { deny when cluster.healthy < \(fraction) * cluster.size }\n")
        let d = try #require(tree.diagnostics.first)
        #expect(tree.diagnostics.count == 1)
        #expect(d.code == .fractionTimesCount)
        #expect(d.help == "write `\(percent)% of cluster.size`")
        #expect(tree.file.text(d.span) == "\(fraction) * cluster.size")
    }

    @Test(arguments: ["10 min", "10 m", "10 minutes", "10 s", "2 days"])
    func aSpacedUnitIsOneDiagnosticAtNumberAndUnit(_ written: String) throws {
        let result = Checker.check(SourceFile(path: "r.rcl", text: Self.head + "rule \"r\" { deny when node.uptime < \(written) }\n"))
        #expect(result.diagnostics.map(\.code) == [.spacedDurationUnit])
        let d = try #require(result.diagnostics.first)
        #expect(d.span.length == written.utf8.count)
    }

    /// A number followed by a name that is not a unit is not taken for a duration.
    @Test func aNumberBeforeAnotherNameIsNotADuration() {
        let result = Checker.check(
            SourceFile(path: "r.rcl", text: Self.head + "test \"t\" {\n  given { cluster.healthy 5  cluster.size 6  detector \"apt\" fired }\n  expect reboot\n}\n"))
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.message))")
    }
}
