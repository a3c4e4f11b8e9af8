import Foundation
import PolicyLang

#if canImport(Glibc)
    import Glibc
#endif

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

/// A state file that cannot be used, with its path.
public struct StateError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var why: String

    init(path: String, _ why: String) {
        self.path = path
        self.why = why
    }

    public var description: String { "\(path) \(why)" }
}

/// The etcd store a node saw last: its epoch key's id and the highest revision.
struct StoreMark: Codable, Equatable {
    var epoch: String
    var revision: Int64
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

    /// Creates the directory when missing (0755) and refuses one that another user could change: a symbolic
    /// link, owned by someone else, or writable by group or others.
    func ensureDirectory() throws {
        if !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        if let why = Self.untrusted(directory: directory) { throw StateError(path: directory, "is refused as rc's state directory: \(why)") }
    }

    /// Why a directory rc writes in could be changed by another user, or nil: it is a symbolic link, is not
    /// rc's user's, or is writable by group or others.
    static func untrusted(directory: String) -> String? {
        var info = stat()
        guard lstat(directory, &info) == 0 else { return "\(directory): \(String(cString: strerror(errno)))" }
        if info.st_mode & S_IFMT == S_IFLNK { return "\(directory) is a symbolic link" }
        if info.st_mode & S_IFMT != S_IFDIR { return "\(directory) is not a directory" }
        if info.st_uid != geteuid() { return "\(directory) is owned by uid \(info.st_uid), not by rc's user (uid \(geteuid()))" }
        if info.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            return "\(directory) is writable by \(info.st_mode & S_IWOTH != 0 ? "others" : "its group") (mode \(String(info.st_mode & 0o7777, radix: 8)))"
        }
        return nil
    }

    /// The record of a reboot under way, if any. A record that exists but cannot be read or does not decode is
    /// an error, never "no record": a reboot may be under way.
    public func record() throws(StateError) -> RebootRecord? {
        guard FileManager.default.fileExists(atPath: recordPath) else { return nil }
        guard let data = FileManager.default.contents(atPath: recordPath) else { throw StateError(path: recordPath, "cannot be read") }
        do {
            return try JSONDecoder().decode(RebootRecord.self, from: data)
        } catch {
            throw StateError(path: recordPath, "is not a reboot record rc can read (\(data.count) bytes); look at it, then remove it by hand")
        }
    }

    /// Persists the record (write, fsync, rename).
    public func save(_ record: RebootRecord) throws {
        try ensureDirectory()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(Array(encoder.encode(record)), to: recordPath)
    }

    /// Removes the reboot record; a record that cannot be removed is an error (it would be read again).
    public func removeRecord() throws(StateError) {
        guard FileManager.default.fileExists(atPath: recordPath) else { return }
        if unlink(recordPath) != 0 { throw StateError(path: recordPath, "cannot be removed: \(String(cString: strerror(errno)))") }
    }

    var storeMarkPath: String { directory + "/etcd-store.json" }

    /// The etcd store this node saw last (its epoch and the highest revision), if any.
    func storeMark() throws(StateError) -> StoreMark? {
        guard FileManager.default.fileExists(atPath: storeMarkPath) else { return nil }
        guard let data = FileManager.default.contents(atPath: storeMarkPath), let mark = try? JSONDecoder().decode(StoreMark.self, from: data) else {
            throw StateError(path: storeMarkPath, "cannot be read; remove it to take the etcd store as it is now")
        }
        return mark
    }

    func saveStoreMark(_ mark: StoreMark) throws {
        try ensureDirectory()
        try AtomicFile.write(Array(JSONEncoder().encode(mark)), to: storeMarkPath)
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

    var daemonLockPath: String { directory + "/daemon.pid" }

    /// Takes the state directory for this daemon: an exclusive `flock` on `daemon.pid` (which says the pid), held
    /// until the process ends. A second daemon on the same directory is refused, naming the first.
    public func lockForDaemon() throws(StateError) -> Int32 {
        do {
            try ensureDirectory()
        } catch let error as StateError {
            throw error
        } catch {
            throw StateError(path: directory, "cannot be created: \(error.localizedDescription)")
        }
        let fd = open(daemonLockPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateError(path: daemonLockPath, "cannot be opened: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let why = String(cString: strerror(errno))
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let pid = String(decoding: buffer.prefix(max(0, n)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if busy {
                throw StateError(path: directory, "is in use by another rc run (pid \(pid.isEmpty ? "unknown" : pid)); each daemon needs a state directory of its own")
            }
            throw StateError(path: daemonLockPath, "cannot be locked: \(why)")
        }
        let pid = Array("\(getpid())\n".utf8)
        ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return fd
    }
}
