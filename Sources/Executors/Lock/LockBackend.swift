import Evaluator
import PolicyLang

/// Who holds (or asks for) a lock slot.
public struct HolderInfo: Sendable, Codable, Equatable {
    public var node: String
    public var pid: Int32
    /// RFC 3339.
    public var acquiredAt: String
    public var phase: String

    /// Creates holder metadata.
    public init(node: String, pid: Int32, acquiredAt: String, phase: String) {
        self.node = node
        self.pid = pid
        self.acquiredAt = acquiredAt
        self.phase = phase
    }

    enum CodingKeys: String, CodingKey {
        case node, pid, phase
        case acquiredAt = "acquired_at"
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
    /// Gives the slot back; releasing a slot not held is a no-op.
    func release(node: String) async throws(LockUnavailable)
    /// Keeps the slot across the reboot, bounded by the policy's `max_reboot_duration` where the backend can.
    func prepareForReboot(node: String) async throws(LockUnavailable)
}

extension LockBackend {
    /// A lock that lives on this host needs nothing: the reboot ends it.
    public func prepareForReboot(node: String) async throws(LockUnavailable) {}
}
