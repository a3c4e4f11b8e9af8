import Evaluator
import Foundation
import Logging
import PolicyLang
import ServiceLifecycle
import UnixSignals

/// When the next pass runs: every `check_interval` with ±10 % jitter so a fleet does not pass in lockstep, and
/// after a transient failure an exponential backoff with full jitter between the policy's bounds.
public struct Schedule: Sendable, Equatable {
    public var interval: Int64
    public var backoffMin: Int64
    public var backoffMax: Int64

    /// The schedule of a policy's `cluster` settings.
    public init(_ cluster: ClusterSettings) {
        interval = cluster.checkInterval
        backoffMin = cluster.backoffMin
        backoffMax = max(cluster.backoffMin, cluster.backoffMax)
    }

    /// The delay after a pass that ended after `failures` transient failures in a row (0: it went well):
    /// `interval × [0.9, 1.1]`, or uniform in `[backoffMin, min(backoffMax, backoffMin × 2^(failures-1))]`.
    public func delay(afterFailures failures: Int, using rng: inout some RandomNumberGenerator) -> Int64 {
        if failures == 0 {
            let spread = interval / 10
            return interval + (spread > 0 ? Int64.random(in: -spread...spread, using: &rng) : 0)
        }
        let doublings = min(failures - 1, 30)
        let (scaled, overflow) = backoffMin.multipliedReportingOverflow(by: Int64(1) << doublings)
        let ceiling = overflow ? backoffMax : min(backoffMax, scaled)
        return ceiling > backoffMin ? Int64.random(in: backoffMin...ceiling, using: &rng) : backoffMin
    }
}

/// The policy in force; `SIGHUP` replaces it when the new one checks.
public final class PolicyHolder: @unchecked Sendable {
    private let lock = NSLock()
    private var current: PreparedPolicy

    /// Holds `policy`.
    public init(_ policy: PreparedPolicy) {
        current = policy
    }

    public var policy: PreparedPolicy { lock.withLock { current } }

    public func replace(_ policy: PreparedPolicy) { lock.withLock { current = policy } }
}

/// The loop of `rc run`: a pass, a delay, again, until cancelled or a reboot is under way.
public struct DaemonLoop: Sendable {
    let policy: PolicyHolder
    let clock: any RCClock
    let logger: Logger
    let pass: @Sendable (PreparedPolicy) async -> PassResult
    /// Waits at most the given milliseconds for a lock slot to free (returns early when the holders change), for a
    /// pass blocked by the lock; `nil` sleeps the interval.
    let waitForLock: (@Sendable (Int64) async -> Void)?

    /// Creates a loop.
    public init(
        policy: PolicyHolder, clock: any RCClock, logger: Logger, waitForLock: (@Sendable (Int64) async -> Void)? = nil,
        pass: @escaping @Sendable (PreparedPolicy) async -> PassResult
    ) {
        self.policy = policy
        self.clock = clock
        self.logger = logger
        self.waitForLock = waitForLock
        self.pass = pass
    }

    /// Runs passes until the task is cancelled. Returns the last pass's result.
    @discardableResult
    public func run(seed: UInt64 = UInt64.random(in: 1...UInt64.max)) async -> PassResult? {
        var rng = SplitMix64(seed: seed)
        var failures = 0
        var last: PassResult?
        while !Task.isCancelled {
            let current = policy.policy
            let result = await pass(current)
            last = result
            if case .rebooted = result.action {
                logger.notice("the reboot is under way; waiting for the system to go down")
                while !Task.isCancelled {
                    do { try await clock.sleep(milliseconds: 3_600_000) } catch { break }
                }
                return last
            }
            failures = result.error == nil ? 0 : failures + 1
            let delay = Schedule(current.policy.cluster).delay(afterFailures: failures, using: &rng)
            if failures > 0 {
                logger.warning(
                    "transient failure #\(failures): \(result.error ?? ""); retrying in \(formatDuration(milliseconds: delay))",
                    metadata: ["event": "retry", "attempt": "\(failures)"])
            }
            if failures == 0, result.decision.blockedBy == .lock, let waitForLock {
                // Blocked by a full lock: wake when a holder leaves instead of a whole interval later.
                await waitForLock(delay)
                if Task.isCancelled { break }
                continue
            }
            do {
                try await clock.sleep(milliseconds: delay)
            } catch {
                break
            }
        }
        return last
    }
}

/// A small seeded generator, so jitter can be replayed in tests.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator from a seed.
    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `rc run` as a service: the loop, stopped gracefully by SIGTERM/SIGINT (the lock released unless a reboot is
/// under way), and SIGHUP reloading the policy (a policy that does not check is rejected and the old one kept).
public struct DaemonService: Service {
    let loop: DaemonLoop
    let reload: @Sendable () async -> Void
    let onStop: @Sendable (PassResult?) async -> Void

    /// Creates the service.
    public init(loop: DaemonLoop, reload: @escaping @Sendable () async -> Void, onStop: @escaping @Sendable (PassResult?) async -> Void) {
        self.loop = loop
        self.reload = reload
        self.onStop = onStop
    }

    public func run() async throws {
        let loop = self.loop
        let reload = self.reload
        let last: PassResult? = await withTaskGroup(of: PassResult?.self) { group in
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    if Task.isCancelled { break }
                    await reload()
                }
                return nil
            }
            group.addTask {
                await cancelWhenGracefulShutdown { await loop.run() }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        await onStop(last)
    }
}
