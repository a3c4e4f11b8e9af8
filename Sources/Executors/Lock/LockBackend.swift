import Evaluator
import Foundation
import PolicyLang

/// Who holds (or asks for) a lock slot.
public struct HolderInfo: Sendable, Codable, Equatable {
    public var node: String
    public var pid: Int32
    /// RFC 3339.
    public var acquiredAt: String
    public var phase: String
    /// The process instance that holds the slot (random per process), so that two hosts with one name are told
    /// apart; absent in records of rc before 0.2.
    public var instance: String?
    /// The kernel boot id of the holder's host when it took the slot.
    public var bootID: String?

    /// Creates holder metadata.
    public init(node: String, pid: Int32, acquiredAt: String, phase: String, instance: String? = nil, bootID: String? = nil) {
        self.node = node
        self.pid = pid
        self.acquiredAt = acquiredAt
        self.phase = phase
        self.instance = instance
        self.bootID = bootID
    }

    enum CodingKeys: String, CodingKey {
        case node, pid, phase, instance
        case acquiredAt = "acquired_at"
        case bootID = "boot_id"
    }

    /// The holder as the evaluator's lock facts list it.
    public var lockHolder: LockHolder {
        let since: Instant? = if case .success(let i) = Instant.parse(acquiredAt) { i } else { nil }
        return LockHolder(node: node, pid: pid == 0 ? nil : Int(pid), since: since)
    }
}

/// Why a lock backend could not answer (an unreachable etcd, an unwritable lock file). The daemon backs off and
/// retries; a single pass ends with exit 4.
public struct LockUnavailable: Error, Sendable, CustomStringConvertible {
    public var description: String

    /// Creates the error.
    public init(_ description: String) {
        self.description = description
    }
}

/// A semaphore that limits how many nodes reboot at once.
public protocol LockBackend: Sendable {
    /// The state of the lock as facts, without taking a slot.
    func status(node: String) async throws(LockUnavailable) -> LockFacts
    /// Takes a slot for `holder`; `false` when every slot is taken. Taking a slot already held is a no-op.
    func acquire(_ holder: HolderInfo) async throws(LockUnavailable) -> Bool
    /// Gives back the slot this process holds (or one an earlier, dead rc process of this host left); a slot
    /// held by anyone else, another host of the same name included, is left alone. Releasing nothing is a no-op.
    func release(node: String) async throws(LockUnavailable)
    /// After the boot: gives back the slot kept across the reboot of the boot `bootID`.
    func releaseAfterReboot(node: String, bootID: String) async throws(LockUnavailable)
    /// Keeps the slot across the reboot, bounded by the policy's `max_reboot_duration` where the backend can.
    /// Throws when this process no longer certainly holds its slot: then nothing may reboot.
    func prepareForReboot(node: String) async throws(LockUnavailable)
    /// Right before the reboot command: throws unless the slot kept across the reboot is still this node's.
    func verifyForReboot(node: String) async throws(LockUnavailable)
    /// With the boot id unchanged since a recorded reboot (the command was interrupted or is still under way):
    /// whether the slot is still kept for that reboot; `nil` when the backend cannot tell (a lock on this host).
    func heldForReboot(node: String, bootID: String) async throws(LockUnavailable) -> Bool?
}

extension LockBackend {
    /// A lock that lives on this host needs nothing: the reboot ends it.
    public func prepareForReboot(node: String) async throws(LockUnavailable) {}
    public func verifyForReboot(node: String) async throws(LockUnavailable) {}
    public func releaseAfterReboot(node: String, bootID: String) async throws(LockUnavailable) { try await release(node: node) }
    public func heldForReboot(node: String, bootID: String) async throws(LockUnavailable) -> Bool? { nil }
}

/// This rc process as a lock holder: a random instance id, its pid and the host's boot id.
public struct LockInstance: Sendable, Equatable {
    public var id: String
    public var pid: Int32
    public var bootID: String

    /// Creates an instance.
    public init(id: String = UUID().uuidString.lowercased(), pid: Int32 = getpid(), bootID: String) {
        self.id = id
        self.pid = pid
        self.bootID = bootID
    }

    /// This process, on the boot the kernel reports at `bootIDPath`.
    public static func current(bootIDPath: String = "/proc/sys/kernel/random/boot_id") -> LockInstance {
        let boot = FileManager.default.contents(atPath: bootIDPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return LockInstance(bootID: boot.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Whether a process with `pid` runs on this host.
    static func alive(_ pid: Int32) -> Bool { pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) }
}
