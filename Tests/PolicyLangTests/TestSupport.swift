import Foundation
import PolicyLang
import RCTestSupport

/// Helpers shared by the PolicyLang tests.
enum Support {
    /// The repository root, found from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The golden directory of this test target.
    static let goldenDirectory = root.appendingPathComponent("Tests/PolicyLangTests/Golden")

    /// Whether golden files should be rewritten instead of compared (`RC_UPDATE_GOLDEN=1`).
    static let updateGolden = ProcessInfo.processInfo.environment["RC_UPDATE_GOLDEN"] == "1"

    /// Every `*.rcl` below `policies/`.
    static func examplePolicies() -> [URL] {
        let base = root.appendingPathComponent("policies")
        let paths = FileManager.default.enumerator(atPath: base.path)?.compactMap { $0 as? String } ?? []
        return paths.filter { $0.hasSuffix(".rcl") }.sorted().map { base.appendingPathComponent($0) }
    }

    /// Loads a file as a ``SourceFile`` with a path relative to the repository.
    static func source(_ url: URL) throws -> SourceFile {
        let data = try Data(contentsOf: url)
        let relative = url.path.hasPrefix(root.path + "/") ? String(url.path.dropFirst(root.path.count + 1)) : url.path
        return SourceFile(path: relative, bytes: Array(data))
    }

    /// The instant the golden cases are checked at (RC3050 holds one-off windows against it), as `rc check` passes
    /// the clock's: 2026-12-01T00:00:00Z.
    static let goldenNow: Int64 = 1_796_083_200_000

    /// Parses, checks (at `goldenNow`) and renders diagnostics as plain text.
    static func render(_ file: SourceFile) -> String {
        let result = Checker.check(file, now: goldenNow)
        return DiagnosticRenderer().text([FileDiagnostics(file: file, diagnostics: result.diagnostics)])
    }

    /// The comments of a text, in order.
    static func comments(_ text: String) -> [String] {
        Parser.parse(SourceFile(path: "x.rcl", text: text)).comments.map(\.text)
    }

    /// A deterministic pseudo-random generator so failures can be replayed.
    typealias SeededGenerator = SplitMix64
}
