import Foundation
import PolicyLang

/// The time, injected so the runner and the daemon loop can be tested with a manual clock.
public protocol RCClock: Sendable {
    /// The wall-clock time, for decisions.
    func now() -> Instant
    /// Waits; throws `CancellationError` when the task is cancelled.
    func sleep(milliseconds: Int64) async throws
}

/// The system's clock.
public struct SystemClock: RCClock {
    /// Creates the clock.
    public init() {}

    public func now() -> Instant {
        let ms = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        return Instant(epochMilliseconds: ms, utcOffsetSeconds: TimeZone.current.secondsFromGMT())
    }

    public func sleep(milliseconds: Int64) async throws {
        try await Task.sleep(for: .milliseconds(max(0, milliseconds)))
    }
}

/// A clock that moves only when told to, recording every sleep asked of it.
public final class ManualClock: RCClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Int64
    private var sleepers: [(deadline: Int64, continuation: CheckedContinuation<Void, Error>)] = []
    private var requested: [Int64] = []

    /// A clock starting at `start`.
    public init(start: Instant) {
        current = start.epochMilliseconds
    }

    public func now() -> Instant { lock.withLock { Instant(epochMilliseconds: current) } }

    /// The durations of every sleep asked for so far, in order.
    public var sleeps: [Int64] { lock.withLock { requested } }

    /// How many tasks are sleeping now.
    public var sleeping: Int { lock.withLock { sleepers.count } }

    public func sleep(milliseconds: Int64) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            lock.withLock {
                requested.append(milliseconds)
                sleepers.append((current + milliseconds, continuation))
            }
        }
        try Task.checkCancellation()
    }

    /// Moves the time forward and wakes the sleepers whose time has come.
    public func advance(by milliseconds: Int64) {
        let due: [CheckedContinuation<Void, Error>] = lock.withLock {
            current += milliseconds
            let ready = sleepers.filter { $0.deadline <= current }
            sleepers.removeAll { $0.deadline <= current }
            return ready.map(\.continuation)
        }
        due.forEach { $0.resume() }
    }

    /// Wakes every sleeper with an error, as a shutdown would.
    public func cancelAll() {
        let all: [CheckedContinuation<Void, Error>] = lock.withLock {
            defer { sleepers.removeAll() }
            return sleepers.map(\.continuation)
        }
        all.forEach { $0.resume(throwing: CancellationError()) }
    }

    /// Waits (in real time, briefly) until `count` tasks sleep on this clock.
    public func waitForSleepers(_ count: Int = 1) async {
        for _ in 0..<2000 where sleeping < count {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}
