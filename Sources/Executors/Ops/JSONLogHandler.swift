import Foundation
import Logging
import PolicyLang

/// One JSON object per line on standard error: `ts` (RFC 3339, UTC, milliseconds), `level`, `message`, and the
/// entry's metadata as strings (`node`, `policy`, `event`, `phase`, `outcome`, `blocked_by`, `name`, …). Under
/// systemd (`JOURNAL_STREAM` set) each line starts with its syslog priority (`<6>`), which the journal takes as the
/// entry's priority and strips.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let journal: Bool
    let write: @Sendable (String) -> Void

    /// A handler writing to standard error.
    public init(label: String, journal: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        self.init(label: label, journal: journal) { line in FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// A handler writing each line to `write`.
    public init(label: String, journal: Bool, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.journal = journal
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        var json = "{\"ts\":\(Self.quote(Self.timestamp()))"
        json += ",\"level\":\(Self.quote(event.level.rawValue))"
        json += ",\"message\":\(Self.quote("\(event.message)"))"
        for key in fields.keys.sorted() where !["ts", "level", "message"].contains(key) {
            json += ",\(Self.quote(key)):\(Self.quote(Self.flatten(fields[key]!)))"
        }
        json += "}\n"
        write((journal ? "<\(Self.priority(event.level))>" : "") + json)
    }

    /// The syslog priority of a level (sd-daemon(3)).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    static func flatten(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let a): a.map(flatten).joined(separator: ",")
        case .dictionary(let d): d.keys.sorted().map { "\($0)=\(flatten(d[$0]!))" }.joined(separator: ",")
        }
    }

    /// A JSON string literal.
    static func quote(_ s: String) -> String { JSON.string(s).serialized() }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let ms = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        var time = time_t(now.tv_sec)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour),
            Int(parts.tm_min), Int(parts.tm_sec), Int(ms % 1000))
    }
}
