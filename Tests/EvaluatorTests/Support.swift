import Evaluator
import PolicyLang
import Testing

/// Checks a policy written inline; a test fails when it does not check.
func prepare(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> PreparedPolicy {
    let result = Checker.check(SourceFile(path: "test.rcl", text: text))
    #expect(!result.hasErrors, "\(result.diagnostics.map(\.message))", sourceLocation: sourceLocation)
    return PreparedPolicy(result.policy!)
}

/// An RFC 3339 instant.
func at(_ text: String) -> Instant {
    guard case .success(let i) = Instant.parse(text) else { fatalError("bad instant \(text) in a test") }
    return i
}

/// Milliseconds since the epoch of an RFC 3339 instant.
func ms(_ text: String) -> Int64 { at(text).epochMilliseconds }

/// A policy with the given windows and one detector.
func windows(_ declarations: String, timezone: String = "UTC") -> PreparedPolicy {
    prepare("policy \"w\" {}\ndetector \"apt\" debian\ntimezone \"\(timezone)\"\n\(declarations)\n")
}
