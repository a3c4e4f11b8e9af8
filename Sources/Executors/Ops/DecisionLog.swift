import Evaluator
import Foundation
import PolicyLang

/// `STATE_DIR/decisions.jsonl`: every decision that differs from the one before (outcome, reason, name, phase, and
/// for a measuring health check that blocked whether it measured a value or could not),
/// with the facts it used, one JSON object per line. Appended with one write per line, so a crash leaves at most a
/// torn last line, which reading skips. Entries older than the policy's `retain` (30 days by default) and, beyond
/// 10 MB, the oldest half go when a new entry is written.
public struct DecisionLog: Sendable {
    public let path: String
    public static let maxBytes = 10 << 20

    /// The log in `directory`.
    public init(directory: String) {
        path = directory + "/decisions.jsonl"
    }

    /// One entry as read back.
    public struct Entry: Sendable {
        public var at: Instant
        public var outcome: String
        public var blockedBy: String?
        public var name: String?
        public var phase: String
        public var reasons: [String]
        /// When a measuring health check blocked: its value and what it needed (``HealthReading``).
        public var value: Double?
        public var needs: String?
        public var policy: String
        /// The facts, as `rc explain --facts` reads them.
        public var facts: String

        /// Whether a measuring health check blocked having measured (the entry has `value` and `needs`).
        public var measured: Bool

        var key: String { DecisionLog.key(outcome, blockedBy, name, phase, measured: measured) }
    }

    /// The entries, oldest first, and how many lines could not be read (a torn last line after a crash).
    public func read() -> (entries: [Entry], skipped: Int) {
        guard let data = FileManager.default.contents(atPath: path) else { return ([], 0) }
        var entries: [Entry] = []
        var skipped = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            guard let entry = Self.entry(Data(line)) else {
                skipped += 1
                continue
            }
            entries.append(entry)
        }
        return (entries, skipped)
    }

    static func entry(_ line: Data) -> Entry? {
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let atText = object["at"] as? String,
            case .success(let at) = Instant.parse(atText), let outcome = object["outcome"] as? String, let phase = object["phase"] as? String,
            let facts = object["facts"], JSONSerialization.isValidJSONObject(facts), let factsData = try? JSONSerialization.data(withJSONObject: facts, options: [.sortedKeys])
        else { return nil }
        return Entry(
            at: at, outcome: outcome, blockedBy: object["blocked_by"] as? String, name: object["name"] as? String, phase: phase,
            reasons: object["reasons"] as? [String] ?? [], value: (object["value"] as? NSNumber)?.doubleValue, needs: object["needs"] as? String,
            policy: object["policy"] as? String ?? "", facts: String(decoding: factsData, as: UTF8.self),
            measured: object["value"] != nil || object["needs"] != nil)
    }

    /// Appends the decision when it differs from the last entry; prunes by age and size. `reading` is what the
    /// health check that blocked measured, written as `value` and `needs`. Failures are returned (the daemon logs
    /// them), never thrown: the log must not stop a decision.
    public func record(_ decision: Decision, facts: Facts, reading: HealthReading? = nil, policy: String, retain: Int64, last: inout String?) -> String? {
        let at = facts.now ?? Instant(epochMilliseconds: 0, utcOffsetSeconds: 0)
        let key = Self.key(decision, reading: reading)
        if last == nil { last = read().entries.last?.key ?? "" }
        guard key != last else { return nil }
        var fields: [(String, JSON)] = [
            ("at", .string(at.description)), ("outcome", .string(decision.outcome.rawValue)), ("blocked_by", .optional(decision.blockedBy?.rawValue)),
            ("name", .optional(decision.name)), ("phase", .string(decision.phase.environmentValue)), ("reasons", .array(decision.reasons.map(JSON.string))),
        ]
        if let reading {
            fields.append(("value", reading.value.map(JSON.double) ?? .null))
            fields.append(("needs", .optional(reading.needs)))
        }
        fields += [("policy", .string(policy)), ("facts", FactsFile.json(facts))]
        let line = JSON.object(fields).serialized() + "\n"
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "cannot write the decision log \(path): \(String(cString: strerror(errno)))" }
        // After a crash cut the last line short, the new entry starts on a line of its own.
        var bytes = Array(line.utf8)
        var end = stat()
        if fstat(fd, &end) == 0, end.st_size > 0 {
            var lastByte: UInt8 = 0
            if pread(fd, &lastByte, 1, off_t(end.st_size - 1)) == 1, lastByte != UInt8(ascii: "\n") { bytes.insert(UInt8(ascii: "\n"), at: 0) }
        }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var size = stat()
        fstat(fd, &size)
        close(fd)
        guard written == bytes.count else { return "cannot write the decision log \(path): \(String(cString: strerror(errno)))" }
        last = key
        let oldest = at.epochMilliseconds - retain
        if Int(size.st_size) > Self.maxBytes || (read().entries.first.map { $0.at.epochMilliseconds < oldest } ?? false) {
            return prune(keepingAfter: oldest)
        }
        return nil
    }

    /// What tells one logged decision from the next: a measuring check that blocked on a value and then because it
    /// could not measure (a timeout) is a new entry; the same check's value moving while it blocks is not.
    static func key(_ outcome: String, _ blockedBy: String?, _ name: String?, _ phase: String, measured: Bool) -> String {
        "\(outcome) \(blockedBy ?? "") \(name ?? "") \(phase)" + (measured ? " measured" : "")
    }

    /// The key of a decision.
    public static func key(_ decision: Decision, reading: HealthReading?) -> String {
        key(decision.outcome.rawValue, decision.blockedBy?.rawValue, decision.name, decision.phase.environmentValue, measured: reading != nil)
    }

    /// Drops the entries older than `oldest` (milliseconds) and, while over the size bound, the oldest half.
    func prune(keepingAfter oldest: Int64) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var lines = data.split(separator: UInt8(ascii: "\n")).filter { line in Self.entry(Data(line)).map { $0.at.epochMilliseconds >= oldest } ?? false }
        while lines.reduce(0, { $0 + $1.count + 1 }) > Self.maxBytes / 2, lines.count > 1 { lines.removeFirst(lines.count / 2) }
        let bytes = lines.flatMap { Array($0) + [UInt8(ascii: "\n")] }
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            return "cannot prune the decision log \(path): \(error)"
        }
        return nil
    }
}
