/// `$VAR` and `${VAR}` in an argument, split the way Go's `os.Expand` splits it (clusterrebootd expands its reboot
/// command with it: `pkg/orchestrator/runner.go`, `expandWithEnv`).
///
/// A name is letters, digits and `_`, or one of the shell's special characters (`$*`, `$#`, `$$`, `$@`, `$!`, `$?`,
/// `$-`, `$0`…`$9`); `${}` and an unclosed `${` are dropped; a `$` followed by anything else, or last, stays.
enum UpstreamExpansion {
    enum Part: Equatable {
        case text(String)
        case variable(String)
    }

    /// The literal text and the variables of `s`, in order.
    static func split(_ s: String) -> [Part] {
        let bytes = Array(s.utf8)
        var parts: [Part] = []
        var text: [UInt8] = []
        func flush() {
            if !text.isEmpty { parts.append(.text(String(decoding: text, as: UTF8.self))) }
            text = []
        }
        var j = 0
        while j < bytes.count {
            guard bytes[j] == UInt8(ascii: "$"), j + 1 < bytes.count else {
                text.append(bytes[j])
                j += 1
                continue
            }
            let (name, width) = shellName(bytes[(j + 1)...])
            if name.isEmpty, width > 0 {
                // Bad syntax: Go drops the characters.
            } else if name.isEmpty {
                text.append(bytes[j])
            } else {
                flush()
                parts.append(.variable(name))
            }
            j += 1 + width
        }
        flush()
        return parts
    }

    private static func isSpecial(_ c: UInt8) -> Bool {
        "*#$@!?-0123456789".utf8.contains(c)
    }

    private static func isNameByte(_ c: UInt8) -> Bool {
        c == UInt8(ascii: "_") || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }

    /// The name after a `$` and how many bytes it takes.
    private static func shellName(_ s: ArraySlice<UInt8>) -> (String, Int) {
        let b = Array(s)
        if b[0] == UInt8(ascii: "{") {
            if b.count > 2, isSpecial(b[1]), b[2] == UInt8(ascii: "}") { return (String(decoding: b[1...1], as: UTF8.self), 3) }
            for i in 1..<b.count where b[i] == UInt8(ascii: "}") {
                if i == 1 { return ("", 2) }
                return (String(decoding: b[1..<i], as: UTF8.self), i + 1)
            }
            return ("", 1)
        }
        if isSpecial(b[0]) { return (String(decoding: b[0...0], as: UTF8.self), 1) }
        var i = 0
        while i < b.count, isNameByte(b[i]) { i += 1 }
        return (String(decoding: b[0..<i], as: UTF8.self), i)
    }
}
