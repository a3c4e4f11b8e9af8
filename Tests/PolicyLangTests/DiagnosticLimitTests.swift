import Foundation
import PolicyLang
import Testing

/// A file with many mistakes shows its first 100 diagnostics and one note counting the rest; one diagnostic's
/// text stays short whatever the size of the token or line it is about.
@Suite struct DiagnosticLimitTests {
    static let limit = DiagnosticBag.defaultLimit

    /// A policy with `n` windows naming an unknown day, one per line.
    static func badWindows(_ n: Int) -> String {
        "policy \"p\" {}\ndetector \"apt\" debian\n" + (0..<n).map { "window deny \"w\($0)\" Fry 01:00 .. 02:00\n" }.joined()
    }

    @Test func theFirstHundredAndANoteForTheRest() throws {
        let file = SourceFile(path: "many.rcl", text: Self.badWindows(1_000))
        let diagnostics = Checker.check(file).diagnostics
        #expect(diagnostics.count == Self.limit + 1)
        #expect(diagnostics.prefix(Self.limit).allSatisfy { $0.code == .unknownWeekday })
        #expect(diagnostics.prefix(Self.limit).map { file.location(of: $0.span.start).line } == Array(3..<(3 + Self.limit)))
        let note = try #require(diagnostics.last)
        #expect(note.code == .tooManyDiagnostics && note.severity == .note)
        #expect(note.message == "and 900 more errors in this file")
        // It points at the first one left out.
        #expect(file.location(of: note.span.start) == SourceLocation(line: 3 + Self.limit, column: 20))
    }

    @Test func exactlyTheLimitHasNoNote() {
        let diagnostics = Checker.check(SourceFile(path: "many.rcl", text: Self.badWindows(Self.limit))).diagnostics
        #expect(diagnostics.count == Self.limit)
        #expect(!diagnostics.contains { $0.code == .tooManyDiagnostics })
    }

    @Test func syntaxAndCheckerDiagnosticsAreMergedBeforeTheCut() throws {
        // Checker errors (unknown names) interleaved with syntax errors (unknown days): the first 100 by position.
        var text = "policy \"p\" {}\ndetector \"apt\" debian\n"
        for i in 0..<300 {
            text += i % 2 == 0 ? "window deny \"w\(i)\" Fry 01:00 .. 02:00\n" : "rule \"r\(i)\" { deny when clster.size < 3 }\n"
        }
        let file = SourceFile(path: "mixed.rcl", text: text)
        let diagnostics = Checker.check(file).diagnostics
        #expect(diagnostics.count == Self.limit + 1)
        #expect(diagnostics.prefix(Self.limit).map { file.location(of: $0.span.start).line } == Array(3..<(3 + Self.limit)))
        #expect(diagnostics.last?.message == "and 200 more errors in this file")
        // `rc fmt` reads the syntax diagnostics alone: bounded the same way.
        let syntax = Parser.parse(file).diagnostics
        #expect(syntax.count == Self.limit + 1 && syntax.last?.message == "and 50 more errors in this file")
    }

    @Test func warningsAreCountedApart() {
        var text = "policy \"p\" {}\ndetector \"apt\" debian\n"
        text += (0..<150).map { "window deny \"w\($0)\" Fry 01:00 .. 02:00\n" }.joined()
        text += "lock etcd { endpoints [" + (0..<10).map { "\"http://10.0.0.\($0):2379\"" }.joined(separator: ", ") + "] }\n"
        let diagnostics = Checker.check(SourceFile(path: "w.rcl", text: text)).diagnostics
        #expect(diagnostics.last?.message == "and 50 more errors and 10 warnings in this file")
    }

    @Test func warningsNeverHideAnError() throws {
        // 150 warnings (plain-http endpoints) before one error: the error is shown, so the file still fails.
        var text = "policy \"p\" {}\ndetector \"apt\" debian\n"
        text += "lock etcd { endpoints [" + (0..<150).map { "\"http://10.0.0.\($0):2379\"" }.joined(separator: ", ") + "] }\n"
        text += "window deny \"w\" Fry 01:00 .. 02:00\n"
        let file = SourceFile(path: "w.rcl", text: text)
        let result = Checker.check(file)
        #expect(result.policy == nil && result.hasErrors)
        #expect(result.diagnostics.count == Self.limit + 1)
        #expect(result.diagnostics.filter { $0.severity == .error }.map(\.code) == [.unknownWeekday])
        let note = try #require(result.diagnostics.last)
        #expect(note.message == "and 51 more warnings in this file" && note.label == "the others are not shown")
        // Still the last one in source order, as renderers sort by position.
        #expect(FileDiagnostics(file: file, diagnostics: result.diagnostics).diagnostics.last?.code == .tooManyDiagnostics)
    }

    @Test func theNoteIsRenderedInEveryFormat() throws {
        let file = SourceFile(path: "many.rcl", text: Self.badWindows(150))
        let groups = [FileDiagnostics(file: file, diagnostics: Checker.check(file).diagnostics)]
        let renderer = DiagnosticRenderer()
        let text = renderer.text(groups)
        #expect(text.contains("many.rcl:103:20: note[RC1018]: and 50 more errors in this file"))
        #expect(text.contains("= help: only the first 100 diagnostics of a file are shown; fix those and check again"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(renderer.json(groups).utf8)) as? [[String: Any]])
        #expect(json.count == 101)
        #expect(json.last?["code"] as? String == "RC1018" && json.last?["severity"] as? String == "note")
        #expect(json.last?["line"] as? Int == 103)
        let sarif = try #require(try JSONSerialization.jsonObject(with: Data(renderer.sarif(groups).utf8)) as? [String: Any])
        let run = try #require((sarif["runs"] as? [[String: Any]])?.first)
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == 101)
        #expect(results.last?["ruleId"] as? String == "RC1018" && results.last?["level"] as? String == "note")
        let rules = try #require(((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]])
        let rule = try #require(rules.first { $0["id"] as? String == "RC1018" })
        #expect((rule["defaultConfiguration"] as? [String: Any])?["level"] as? String == "note")
        #expect(renderer.github(groups).split(separator: "\n").last?.hasPrefix("::notice file=many.rcl,line=103,col=20") == true)
    }

    @Test func aHugeLineIsCutAroundTheSpan() {
        let filler = String(repeating: "\"a\", ", count: 300_000)
        let text = "policy \"p\" {}\nrule \"r\" { deny when node.name in [\(filler)] and Fry }\n"
        let file = SourceFile(path: "long.rcl", text: text)
        let rendered = DiagnosticRenderer().text([FileDiagnostics(file: file, diagnostics: Checker.check(file).diagnostics)])
        #expect(rendered.utf8.count < 2_000)
        for line in rendered.split(separator: "\n") { #expect(line.utf8.count < 400, "\(line.prefix(80))") }
        #expect(rendered.contains("…"))
    }

    @Test func aHugeTokenIsElidedInTheMessage() throws {
        let word = String(repeating: "x", count: 1_000_000)
        let file = SourceFile(path: "token.rcl", text: "policy \"p\" {}\n\(word)\n")
        let diagnostics = Checker.check(file).diagnostics
        let d = try #require(diagnostics.first { $0.code == .unknownDeclaration })
        #expect(d.message.count <= 400 && d.message.contains(" … "))
        let rendered = DiagnosticRenderer().text([FileDiagnostics(file: file, diagnostics: diagnostics)])
        #expect(rendered.utf8.count < 2_000)
    }

    @Test func aLongListOfNamesInANoteIsShortened() throws {
        var text = "policy \"p\" {}\n" + (0..<500).map { "detector \"d\($0)\" debian\n" }.joined()
        text += "test \"t\" {\n  given { detector \"nope\" fired }\n  expect reboot\n}\n"
        let diagnostics = Checker.check(SourceFile(path: "names.rcl", text: text)).diagnostics
        let d = try #require(diagnostics.first { $0.code == .unknownTestReference })
        #expect(d.notes.first?.message.hasSuffix("and 480 more") == true)
    }
}
