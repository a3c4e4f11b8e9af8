import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Evaluator
import PolicyLang

/// `notify webhook`: each event is POSTed as JSON `{event, node, outcome, blocked_by, name, reason, value, needs, at,
/// policy, version}`
/// to every webhook that asked for it, in the background and in order, with a timeout per try and bounded retries.
/// Nothing waits for a webhook: a receiver that is down or hangs never blocks or delays a decision. A failing
/// webhook is logged once when it starts failing and once when it delivers again; its token is never logged.
public final class Notifier: Sendable {
    /// One event for the webhooks.
    public struct Payload: Sendable, Encodable {
        public var event: String
        public var node: String
        public var outcome: String?
        public var blockedBy: String?
        public var name: String?
        /// The decision's first reason, for `blocked` and `error`.
        public var reason: String?
        /// What a measuring health check that blocked saw and needed (``HealthReading``).
        public var value: Double?
        public var needs: String?
        public var at: String
        public var policy: String
        public var version: String

        enum CodingKeys: String, CodingKey {
            case event, node, outcome, name, reason, value, needs, at, policy, version
            case blockedBy = "blocked_by"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(event, forKey: .event)
            try c.encode(node, forKey: .node)
            try c.encode(outcome, forKey: .outcome)
            try c.encode(blockedBy, forKey: .blockedBy)
            try c.encode(name, forKey: .name)
            try c.encode(reason, forKey: .reason)
            try c.encode(value, forKey: .value)
            try c.encode(needs, forKey: .needs)
            try c.encode(at, forKey: .at)
            try c.encode(policy, forKey: .policy)
            try c.encode(version, forKey: .version)
        }
    }

    let node: String
    let policy: String
    let client: HTTPClient
    let queues: [(spec: NotifySpec, queue: AsyncStream<Payload>.Continuation)]
    let workers: [Task<Void, Never>]
    /// The reason of the last blocked pass told, so that the same one pass after pass is told once.
    private let lastBlocked = LockedBox<String?>(nil)

    /// Webhooks of `specs`, for events of `node` under `policy`.
    public init(_ specs: [NotifySpec], node: String, policy: String, logger: Logger) {
        self.node = node
        self.policy = policy
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        self.client = client
        var queues: [(NotifySpec, AsyncStream<Payload>.Continuation)] = []
        var workers: [Task<Void, Never>] = []
        for spec in specs {
            // At most 100 events wait for a webhook that is slow; beyond that the oldest go.
            let (stream, queue) = AsyncStream.makeStream(of: Payload.self, bufferingPolicy: .bufferingNewest(100))
            queues.append((spec, queue))
            workers.append(
                Task {
                    var failing = false
                    for await payload in stream {
                        let error = await Self.deliver(payload, to: spec, client: client)
                        if let error, !failing {
                            logger.warning("webhook \(Self.redacted(spec.url)) fails: \(error); events are retried \(spec.retries) times and then dropped until it answers again")
                        } else if error == nil, failing {
                            logger.notice("webhook \(Self.redacted(spec.url)) delivers again")
                        }
                        failing = error != nil
                    }
                })
        }
        self.queues = queues
        self.workers = workers
    }

    /// Queues `event` for the webhooks that asked for it; returns at once.
    public func send(
        _ event: NotifyEvent, outcome: String? = nil, blockedBy: String? = nil, name: String? = nil, reason: String? = nil, reading: HealthReading? = nil,
        at: Instant
    ) {
        let payload = Payload(
            event: event.rawValue, node: node, outcome: outcome, blockedBy: blockedBy, name: name, reason: reason, value: reading?.value,
            needs: reading?.needs, at: at.description, policy: policy, version: rcVersion)
        for (spec, queue) in queues where spec.events.contains(event) { queue.yield(payload) }
    }

    /// The events of a pass's result: `blocked` when the reason differs from the last pass's, `error` for a failed
    /// pass, `rebooted` when the node is back and released its slot.
    public func passed(_ result: PassResult) {
        let decision = result.decision
        let at = result.facts.now ?? Instant(epochMilliseconds: 0, utcOffsetSeconds: 0)
        let reason = decision.outcome == .blocked ? "\(decision.blockedBy?.rawValue ?? "") \(decision.name ?? "")" : nil
        let previous = lastBlocked.exchange(reason)
        if let reason, reason != previous {
            send(
                .blocked, outcome: decision.outcome.rawValue, blockedBy: decision.blockedBy?.rawValue, name: decision.name, reason: decision.reasons.first,
                reading: result.reading, at: at)
        }
        if result.error != nil {
            send(
                .error, outcome: decision.outcome.rawValue, blockedBy: decision.blockedBy?.rawValue, name: decision.name, reason: decision.reasons.first,
                reading: result.reading, at: at)
        }
        if result.action == .releasedAfterBoot { send(.rebooted, outcome: decision.outcome.rawValue, at: at) }
    }

    /// Delivers what is queued, for at most `milliseconds`, then closes the connections.
    public func shutdown(within milliseconds: Int64 = 2_000) async {
        for (_, queue) in queues { queue.finish() }
        let workers = self.workers
        let drained = Task { for worker in workers { await worker.value } }
        let deadline = Task {
            try? await Task.sleep(for: .milliseconds(milliseconds))
            for worker in workers { worker.cancel() }
        }
        await drained.value
        deadline.cancel()
        try? await client.shutdown()
    }

    /// One event to one webhook: nil when it answered 2xx, else why the last try failed.
    static func deliver(_ payload: Payload, to spec: NotifySpec, client: HTTPClient) async -> String? {
        var request = HTTPClientRequest(url: spec.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "rc/\(rcVersion)")
        if let header = spec.header {
            switch token(spec) {
            case .success(let value): request.headers.add(name: header, value: value)
            case .failure(let error): return error.why
            }
        }
        let body = (try? JSONEncoder().encode(payload)) ?? Data()
        var last = "no try"
        for attempt in 0...spec.retries {
            if Task.isCancelled { return "stopped before the event was delivered" }
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(min(8_000, 500 << (attempt - 1)))) }
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await client.execute(request, timeout: .milliseconds(spec.timeout))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if (200..<300).contains(response.status.code) { return nil }
                last = "HTTP \(response.status.code)"
            } catch {
                // The same readable reasons as a health check's, which never hold a header's value.
                last = HealthProbeRunner.describe(error)
            }
        }
        return last
    }

    /// The header's value: the environment variable or the file the policy names (white space around it dropped).
    struct TokenError: Error {
        var why: String
    }

    static func token(_ spec: NotifySpec) -> Result<String, TokenError> {
        token(env: spec.tokenEnv, file: spec.tokenFile)
    }

    /// A header's value from an environment variable or a file (a webhook's, a health check's token), without the
    /// white space around it (a file's or a variable's last newline). A value that no HTTP header can carry (a
    /// control character inside it) is refused, and no message ever holds the value.
    static func token(env: String?, file: String?) -> Result<String, TokenError> {
        let raw: String
        let source: String
        if let name = env {
            guard let value = ProcessInfo.processInfo.environment[name] else { return .failure(TokenError(why: "the environment variable \(name) is not set")) }
            (raw, source) = (value, "the environment variable \(name)")
        } else if let path = file {
            guard let data = FileManager.default.contents(atPath: path) else { return .failure(TokenError(why: "cannot read the token file \(path)")) }
            (raw, source) = (String(decoding: data, as: UTF8.self), "the token file \(path)")
        } else {
            return .failure(TokenError(why: "no token_env or token_file"))
        }
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if value.isEmpty { return .failure(TokenError(why: "\(source) is empty")) }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) {
            return .failure(TokenError(why: "\(source) holds a control character (a line break inside the token?): an HTTP header cannot carry it"))
        }
        return .success(value)
    }

    /// The URL without user information or query (which may carry a secret).
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(a webhook)" }
        components.user = nil
        components.password = nil
        if components.query != nil { components.query = "…" }
        return components.string ?? "(a webhook)"
    }
}

/// A value behind a lock.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    /// Sets a new value and returns the old one.
    func exchange(_ new: Value) -> Value {
        lock.withLock {
            let old = value
            value = new
            return old
        }
    }
}
