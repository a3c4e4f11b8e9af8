import Foundation
import PolicyLang
import Testing

/// Each `Golden/*.rcl` is checked and its rendered diagnostics compared with `*.diagnostics.txt`.
/// Run with `RC_UPDATE_GOLDEN=1` to rewrite the expected files after an intended change.
@Suite struct GoldenDiagnosticsTests {
    static let cases: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Support.goldenDirectory.path)) ?? []
        return names.filter { $0.hasSuffix(".rcl") }.sorted()
    }()

    @Test(arguments: cases)
    func renderedDiagnosticsMatch(_ name: String) throws {
        let url = Support.goldenDirectory.appendingPathComponent(name)
        let file = try Support.source(url)
        let rendered = Support.render(file) + "\n"
        let expectedURL = url.deletingPathExtension().appendingPathExtension("diagnostics.txt")
        if Support.updateGolden {
            try rendered.write(to: expectedURL, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(rendered == expected, "\(name): rendered diagnostics differ from \(expectedURL.lastPathComponent)")
    }

    @Test func everyCodeHasAGoldenCase() throws {
        var seen = Set<String>()
        for name in Self.cases {
            let file = try Support.source(Support.goldenDirectory.appendingPathComponent(name))
            for d in Checker.check(file, now: Support.goldenNow).diagnostics { seen.insert(d.code.rawValue) }
        }
        // The lints of the checker itself; the others come from the linter (Tests/EvaluatorTests/Lint).
        let checkerLints: [DiagnosticCode] = [.noDetectors, .plaintextEtcd, .insecureSkipVerify, .windowInThePast]
        let languageCodes = DiagnosticCode.allCases.filter { !$0.rawValue.hasPrefix("RC4") && ($0.lintName == nil || checkerLints.contains($0)) }
            .map(\.rawValue)
        let missing = languageCodes.filter { !seen.contains($0) }
        #expect(missing.isEmpty, "codes without a golden case: \(missing)")
    }

    @Test func goldenFileNamedForACodeEmitsThatCode() throws {
        for name in Self.cases where name.hasPrefix("RC") {
            let code = String(name.prefix(6))
            let file = try Support.source(Support.goldenDirectory.appendingPathComponent(name))
            let codes = Checker.check(file, now: Support.goldenNow).diagnostics.map(\.code.rawValue)
            #expect(codes.contains(code), "\(name) does not emit \(code); it emits \(codes)")
        }
    }

    @Test func everyCodeIsDocumented() throws {
        let docs = try String(contentsOf: Support.root.appendingPathComponent("docs/diagnostics.md"), encoding: .utf8)
        let lints = try String(contentsOf: Support.root.appendingPathComponent("docs/lint.md"), encoding: .utf8)
        for code in DiagnosticCode.allCases {
            if let name = code.lintName {
                #expect(lints.contains("## \(code.rawValue) `\(name)`"), "docs/lint.md has no section for \(code.rawValue)")
            } else {
                #expect(docs.contains("## \(code.rawValue)"), "docs/diagnostics.md has no section for \(code.rawValue)")
            }
        }
    }

    @Test func oneMistakeGivesOneDiagnostic() throws {
        let file = try Support.source(Support.goldenDirectory.appendingPathComponent("one-mistake-one-diagnostic.rcl"))
        let diagnostics = Checker.check(file).diagnostics
        // Three broken declarations (a, b, the window); rules c and d are fine.
        #expect(diagnostics.count == 3)
        let lines = diagnostics.map { file.location(of: $0.span.start).line }
        #expect(lines == [5, 6, 8])
    }
}
