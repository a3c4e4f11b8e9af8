import CPCRE2

/// A PCRE2 pattern compiled once at check time and matched during evaluation.
///
/// Compiled code is read-only and may be shared between threads; each match uses its own match data.
public final class CompiledRegex: @unchecked Sendable {
    /// The pattern as written between the slashes.
    public let pattern: String
    /// The flags after the closing slash.
    public let flags: String
    private let code: OpaquePointer

    /// Why a pattern did not compile: PCRE2's message and the byte offset in the pattern.
    public struct CompileError: Error, Sendable {
        public var message: String
        public var offset: Int
    }

    /// Compiles `pattern` with `flags` (`i` caseless, `m` multi-line, `s` dot-all, `x` extended).
    public init(pattern: String, flags: String) throws(CompileError) {
        var options: UInt32 = UInt32(PCRE2_UTF) | UInt32(PCRE2_UCP)
        for (i, f) in flags.enumerated() {
            switch f {
            case "i": options |= UInt32(PCRE2_CASELESS)
            case "m": options |= UInt32(PCRE2_MULTILINE)
            case "s": options |= UInt32(PCRE2_DOTALL)
            case "x": options |= UInt32(PCRE2_EXTENDED)
            default:
                throw CompileError(message: "unknown regex flag `\(f)` (the flags are i, m, s and x)", offset: pattern.utf8.count + 1 + i)
            }
        }
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let bytes = Array(pattern.utf8)
        let compiled = bytes.withUnsafeBufferPointer { buffer in
            pcre2_compile_8(buffer.baseAddress, buffer.count, options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            var message = [UInt8](repeating: 0, count: 256)
            let length = pcre2_get_error_message_8(errorCode, &message, message.count)
            let text = length > 0 ? String(decoding: message[0..<Int(length)], as: UTF8.self) : "error \(errorCode)"
            throw CompileError(message: text, offset: errorOffset)
        }
        self.pattern = pattern
        self.flags = flags
        self.code = compiled
    }

    deinit { pcre2_code_free_8(code) }

    /// Whether the pattern matches anywhere in `subject`.
    public func matches(_ subject: String) -> Bool {
        guard let matchData = pcre2_match_data_create_from_pattern_8(code, nil) else { return false }
        defer { pcre2_match_data_free_8(matchData) }
        var subject = subject
        return subject.withUTF8 { buffer in
            pcre2_match_8(code, buffer.baseAddress, buffer.count, 0, 0, matchData, nil) >= 0
        }
    }
}
