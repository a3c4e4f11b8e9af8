/// A half-open range of UTF-8 byte offsets into a ``SourceFile``.
///
/// Spans are for locating things; they never take part in the equality of syntax trees.
public struct Span: Hashable, Sendable, CustomStringConvertible {
    /// Offset of the first byte.
    public var start: Int
    /// Offset one past the last byte.
    public var end: Int

    /// Creates a span from `start` to `end` (exclusive).
    public init(_ start: Int, _ end: Int) {
        self.start = start
        self.end = max(start, end)
    }

    /// An empty span at `offset`.
    public static func at(_ offset: Int) -> Span { Span(offset, offset) }

    /// The smallest span covering both.
    public func union(_ other: Span) -> Span { Span(min(start, other.start), max(end, other.end)) }

    /// Number of bytes covered.
    public var length: Int { end - start }

    public var description: String { "\(start)..<\(end)" }
}

/// A line and column, both 1-based; the column counts Unicode scalars.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// 1-based line.
    public var line: Int
    /// 1-based column in Unicode scalars.
    public var column: Int

    /// Creates a location.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// The text of one policy (or other) file, kept as raw bytes so that invalid UTF-8 can be located exactly.
public final class SourceFile: Sendable {
    /// The path as the user gave it; used in rendered diagnostics.
    public let path: String
    /// The raw bytes of the file.
    public let bytes: [UInt8]
    /// Byte offsets at which each line starts.
    private let lineStarts: [Int]

    /// Creates a source file from raw bytes.
    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
        var starts = [0]
        starts.reserveCapacity(bytes.count / 24 + 1)
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            starts.append(index + 1)
        }
        self.lineStarts = starts
    }

    /// Creates a source file from text.
    public convenience init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }

    /// Number of lines (a trailing newline does not start a new line of content, but is counted).
    public var lineCount: Int { lineStarts.count }

    /// The 0-based line index holding `offset`.
    public func lineIndex(of offset: Int) -> Int {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// Converts a byte offset to a 1-based line and column (computed on demand, for display).
    public func location(of offset: Int) -> SourceLocation {
        let clamped = min(max(0, offset), bytes.count)
        let line = lineIndex(of: clamped)
        var column = 1
        var index = lineStarts[line]
        while index < clamped {
            if bytes[index] & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        // An offset inside a multi-byte sequence counts as that scalar.
        if clamped < bytes.count, clamped > lineStarts[line], bytes[clamped] & 0xC0 == 0x80 { column -= 1 }
        return SourceLocation(line: line + 1, column: column)
    }

    /// The byte offset of a 1-based line and column (columns in Unicode scalars), clamped to the file.
    public func offset(line: Int, column: Int) -> Int {
        guard line >= 1 else { return 0 }
        guard line <= lineStarts.count else { return bytes.count }
        var index = lineStarts[line - 1]
        var remaining = column - 1
        while remaining > 0, index < bytes.count, bytes[index] != 10 {
            index += 1
            while index < bytes.count, bytes[index] & 0xC0 == 0x80 { index += 1 }
            remaining -= 1
        }
        return index
    }

    /// The byte range of the 0-based line `index`, without its line terminator.
    public func lineRange(_ index: Int) -> Range<Int> {
        let start = lineStarts[index]
        var end = index + 1 < lineStarts.count ? lineStarts[index + 1] - 1 : bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return start..<max(start, end)
    }

    /// The text of the 0-based line `index`; invalid UTF-8 shows as U+FFFD.
    public func lineText(_ index: Int) -> String {
        String(decoding: bytes[lineRange(index)], as: UTF8.self)
    }

    /// The text covered by `span`.
    public func text(_ span: Span) -> String {
        let start = min(max(0, span.start), bytes.count)
        let end = min(max(start, span.end), bytes.count)
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
