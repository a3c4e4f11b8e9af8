import Foundation
import PolicyLang
import Testing

@testable import Evaluator

/// Each lint has a golden case in `Lint/`: `RCxxxx-name.rcl` (or a directory of that name, for the lints across
/// files) must report that lint, `RCxxxx-name.ok.rcl` must not, and the whole rendered report of each is compared
/// with its `.diagnostics.txt`. Run with `RC_UPDATE_GOLDEN=1` to rewrite the expected files after an intended change.
@Suite struct LintGoldenTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Lint")
    static let update = ProcessInfo.processInfo.environment["RC_UPDATE_GOLDEN"] == "1"

    static let cases: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("RC") && !$0.hasSuffix(".txt") }.sorted()
    }()

    /// The files of a case, with paths relative to the repository root (as `rc check` from the root prints them).
    static func sources(_ name: String) throws -> [SourceFile] {
        let url = directory.appendingPathComponent(name)
        var isDirectory: ObjCBool = false
        FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        let urls = isDirectory.boolValue
            ? try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".rcl") }.sorted().map { url.appendingPathComponent($0) }
            : [url]
        return try urls.map { u in
            let relative = String(u.path.dropFirst(root.path.count + 1))
            return SourceFile(path: relative, bytes: Array(try Data(contentsOf: u)))
        }
    }

    static func code(of name: String) -> DiagnosticCode { DiagnosticCode(rawValue: String(name.prefix(6)))! }

    @Test(arguments: cases)
    func reportMatchesGolden(_ name: String) throws {
        let groups = PolicyAnalysis.analyze(try Self.sources(name))
        let rendered = DiagnosticRenderer().text(groups) + "\n"
        let expectedURL = Self.directory.appendingPathComponent(name.replacingOccurrences(of: ".rcl", with: "") + ".diagnostics.txt")
        if Self.update {
            try rendered.write(to: expectedURL, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(rendered == expected, "\(name): the report differs from \(expectedURL.lastPathComponent)")
        let codes = groups.flatMap(\.diagnostics).map(\.code)
        if name.contains(".ok") {
            #expect(!codes.contains(Self.code(of: name)), "\(name) must not report \(Self.code(of: name).rawValue); it reports \(codes.map(\.rawValue))")
        } else {
            #expect(codes.contains(Self.code(of: name)), "\(name) must report \(Self.code(of: name).rawValue); it reports \(codes.map(\.rawValue))")
        }
    }

    @Test func everyLintHasABadAndAGoodCase() {
        // The checker's own lints have their golden cases in Tests/PolicyLangTests/Golden.
        for code in DiagnosticCode.lints where ![DiagnosticCode.plaintextEtcd, .insecureSkipVerify, .windowInThePast].contains(code) {
            let prefix = code.rawValue + "-"
            #expect(Self.cases.contains { $0.hasPrefix(prefix) && !$0.contains(".ok") }, "no case that reports \(code.rawValue)")
            #expect(Self.cases.contains { $0.hasPrefix(prefix) && $0.contains(".ok") }, "no case that does not report \(code.rawValue)")
        }
    }

    @Test func everyLintIsDocumented() throws {
        let docs = try String(contentsOf: Self.root.appendingPathComponent("docs/lint.md"), encoding: .utf8)
        for code in DiagnosticCode.lints {
            #expect(docs.contains("## \(code.rawValue) `\(code.lintName!)`"), "docs/lint.md has no section for \(code.rawValue)")
        }
    }
}
