import Foundation
import Logging

/// One lease and its keep-alive, owned by one holder, like etcd's own `clientv3/concurrency.Session`. The session
/// knows when its lease is lost without asking etcd: a keep-alive that answers "expired" ends it, and so does the
/// lease's time running out since the last refresh etcd confirmed (an etcd that does not answer does not keep a
/// lease alive). Whoever acts under the lease asks `isAlive` right before acting.
public actor EtcdSession {
    public nonisolated let lease: Int64
    let client: EtcdClient
    /// Seconds the lease was granted for.
    let ttl: Int64
    let logger: Logger
    /// When the lease runs out at the latest, on this process's monotonic clock: the send time of the last
    /// request that etcd answered with the lease's time left, plus that time.
    private var expires: Int64
    private var lostReason: String?
    private var keepAlive: Task<Void, Never>?

    /// Grants a lease of `ttl` seconds and keeps it alive every third of it until `close()`.
    public static func grant(_ client: EtcdClient, ttl: Int64, logger: Logger) async throws(EtcdError) -> EtcdSession {
        let sent = monotonicMilliseconds()
        let id = try await client.grant(ttl: ttl)
        let session = EtcdSession(client: client, lease: id, ttl: ttl, expires: sent + ttl * 1000, logger: logger)
        await session.start()
        return session
    }

    /// A session for a lease granted before (a place in line that becomes a slot), refreshed once to learn its time.
    public static func adopt(_ client: EtcdClient, lease: Int64, ttl: Int64, logger: Logger) async throws(EtcdError) -> EtcdSession {
        let session = EtcdSession(client: client, lease: lease, ttl: ttl, expires: monotonicMilliseconds(), logger: logger)
        await session.refresh()
        await session.start()
        return session
    }

    init(client: EtcdClient, lease: Int64, ttl: Int64, expires: Int64, logger: Logger) {
        self.client = client
        self.lease = lease
        self.ttl = ttl
        self.expires = expires
        self.logger = logger
    }

    /// Whether the lease certainly still exists (keys on it are this session's).
    public var isAlive: Bool { lostReason == nil && monotonicMilliseconds() < expires }

    /// Why the lease is lost, or nil while it is alive.
    public var lost: String? {
        if let lostReason { return lostReason }
        if monotonicMilliseconds() >= expires { return "the lock lease \(String(lease, radix: 16)) ran out: etcd confirmed no refresh within its \(ttl) s" }
        return nil
    }

    /// Milliseconds the lease certainly has left.
    public var remaining: Int64 { isAlive ? expires - monotonicMilliseconds() : 0 }

    func start() {
        guard keepAlive == nil, lostReason == nil else { return }
        let period = max(300, ttl * 1000 / 3)
        keepAlive = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(period))
                guard let self, !Task.isCancelled else { break }
                if await !self.refresh() { break }
            }
        }
    }

    /// One keep-alive; false when the lease is gone for good.
    @discardableResult
    func refresh() async -> Bool {
        guard lostReason == nil else { return false }
        let sent = monotonicMilliseconds()
        do {
            let left = try await client.keepAlive(lease)
            if Task.isCancelled || client.isShutDown { return false }
            if left <= 0 {
                lostReason = "the lock lease \(String(lease, radix: 16)) expired"
                logger.error("\(lostReason ?? "")")
                return false
            }
            expires = max(expires, sent + left * 1000)
        } catch {
            if Task.isCancelled || client.isShutDown { return false }
            logger.warning("cannot refresh the lock lease: \(error)")
        }
        return true
    }

    /// Stops the keep-alive (the lease then ends when its time runs out, or by `revoke`).
    public func close() {
        keepAlive?.cancel()
        keepAlive = nil
        if lostReason == nil { lostReason = "the session was closed" }
    }

    /// Stops the keep-alive and revokes the lease, deleting every key on it.
    public func revoke() async throws(EtcdError) {
        close()
        try await client.revoke(lease)
    }
}
