/// A value of the policy language, as constants in a policy and as facts at evaluation time.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case bool(Bool)
    case int(Int64)
    /// A decimal number.
    case number(Double)
    case percent(Double)
    /// Milliseconds.
    case duration(Int64)
    /// Minutes since midnight.
    case timeOfDay(Int)
    case instant(Instant)
    case string(String)
    case list([Value])
    case map([String: Value])

    /// The value as a policy would write it.
    public var description: String {
        switch self {
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .number(let n): formatNumber(n)
        case .percent(let p): (p == p.rounded() ? String(Int64(p)) : String(p)) + "%"
        case .duration(let ms): formatDuration(milliseconds: ms)
        case .timeOfDay(let m): "\(pad(m / 60, 2)):\(pad(m % 60, 2))"
        case .instant(let i): i.description
        case .string(let s): quoteString(s)
        case .list(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .map(let entries):
            "{" + entries.sorted { $0.key < $1.key }.map { "\(quoteString($0.key)): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    /// The type of the value.
    public var type: RCType {
        switch self {
        case .bool: .bool
        case .int: .int
        case .number: .number
        case .percent: .percent
        case .duration: .duration
        case .timeOfDay: .timeOfDay
        case .instant: .instant
        case .string: .string
        case .list(let items): .list(items.first?.type ?? .any)
        case .map(let entries): .map(entries.first?.value.type ?? .any)
        }
    }
}

/// Writes `s` as a string literal of the language, escaping what needs it.
public func quoteString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "\0": out += "\\0"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// A decimal number as a policy would write it: `0.034`, `2.0`, `1e-09` for what has no short decimal form.
public func formatNumber(_ n: Double) -> String {
    if n.isNaN { return "NaN" }
    if n.isInfinite { return n < 0 ? "-Inf" : "+Inf" }
    if n == n.rounded(), abs(n) < 1e15 { return String(Int64(n)) + ".0" }
    return String(n)
}
