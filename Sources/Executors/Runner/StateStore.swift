import Foundation
import PolicyLang

/// What the runner writes before it runs the reboot command, so the daemon that starts after the boot knows a
/// reboot was under way and which lock slot to release.
public struct RebootRecord: Codable, Sendable, Equatable {
    /// The kernel boot id before the reboot.
    public var bootID: String
    public var node: String
    public var policy: String
    /// RFC 3339.
    public var at: String

    /// Creates a record.
    public init(bootID: String, node: String, policy: String, at: String) {
        self.bootID = bootID
        self.node = node
        self.policy = policy
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case bootID = "boot_id"
        case node, policy, at
    }
}

/// The daemon's state directory: the reboot record, the last reboot (for the cooldown of a single host) and the
/// facts of the last decision (replayable with `rc explain --facts`). Every write is atomic.
public struct StateStore: Sendable {
    public let directory: String

    /// A store in `directory` (created when needed).
    public init(directory: String) {
        self.directory = directory
    }

    var recordPath: String { directory + "/rebooting.json" }
    var lastRebootPath: String { directory + "/last-reboot" }
    /// The facts of the last decision, as a facts file.
    public var lastFactsPath: String { directory + "/last-decision.json" }
    /// The lock file of `lock local` when the policy names none.
    public var lockPath: String { directory + "/lock" }

    func ensureDirectory() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// The record of a reboot under way, if any.
    public func record() -> RebootRecord? {
        guard let data = FileManager.default.contents(atPath: recordPath) else { return nil }
        return try? JSONDecoder().decode(RebootRecord.self, from: data)
    }

    /// Persists the record (write, fsync, rename).
    public func save(_ record: RebootRecord) throws {
        try ensureDirectory()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(Array(encoder.encode(record)), to: recordPath)
    }

    public func removeRecord() {
        try? FileManager.default.removeItem(atPath: recordPath)
    }

    /// When this host last rebooted under rc.
    public func lastReboot() -> Instant? {
        guard let data = FileManager.default.contents(atPath: lastRebootPath) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if case .success(let i) = Instant.parse(text) { return i }
        return nil
    }

    public func saveLastReboot(_ at: Instant) throws {
        try ensureDirectory()
        try AtomicFile.write(Array((at.description + "\n").utf8), to: lastRebootPath)
    }

    /// Keeps the facts of the last decision.
    public func saveLastFacts(_ json: String) {
        try? ensureDirectory()
        try? AtomicFile.write(Array((json + "\n").utf8), to: lastFactsPath)
    }
}
