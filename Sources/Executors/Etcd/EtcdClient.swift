import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PolicyLang

/// Why etcd could not answer.
public enum EtcdError: Error, Sendable, CustomStringConvertible, Equatable {
    /// No endpoint answered; the last reason per endpoint.
    case unreachable([String: String])
    /// An endpoint answered with an error.
    case server(endpoint: String, status: Int, message: String)
    /// The TLS files of the policy cannot be used.
    case tls(String)
    /// The answer was not what the API documents.
    case protocolError(String)

    public var description: String {
        switch self {
        case .unreachable(let reasons):
            "etcd is unreachable: " + reasons.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        case .server(let endpoint, let status, let message): "etcd at \(endpoint) answered \(status): \(message)"
        case .tls(let why): "etcd TLS settings: \(why)"
        case .protocolError(let why): "unexpected answer from etcd: \(why)"
        }
    }
}

/// One key and value as etcd returns it.
public struct EtcdKeyValue: Sendable, Equatable {
    public var key: String
    public var value: Data
    public var createRevision: Int64
    public var modRevision: Int64
    public var version: Int64
    public var lease: Int64
}

/// A change seen by a watch: a put (a new key when its create and mod revisions are equal) or a delete (whose
/// `modRevision` is the revision of the deletion).
public struct EtcdEvent: Sendable, Equatable {
    public var isDelete: Bool
    public var kv: EtcdKeyValue
}

/// One range of a `read`: a key or a prefix, optionally only counted or only the keys, narrowed by create
/// revision and sorted by it with a limit. etcd counts before it narrows: `count` is the number of keys in the
/// range, whatever `maxCreateRevision` says.
public struct EtcdRange: Sendable {
    public enum Order: Sendable { case key, oldestFirst, newestFirst }
    public var key: String
    public var prefix = false
    public var countOnly = false
    public var keysOnly = false
    public var order = Order.key
    public var limit: Int64 = 0
    public var maxCreateRevision: Int64 = 0

    public init(
        _ key: String, prefix: Bool = false, countOnly: Bool = false, keysOnly: Bool = false, order: Order = .key, limit: Int64 = 0,
        maxCreateRevision: Int64 = 0
    ) {
        (self.key, self.prefix, self.countOnly, self.keysOnly) = (key, prefix, countOnly, keysOnly)
        (self.order, self.limit, self.maxCreateRevision) = (order, limit, maxCreateRevision)
    }
}

/// A comparison of a transaction.
public struct EtcdCompare: Sendable {
    public enum Target: String, Sendable {
        case version = "VERSION"
        case create = "CREATE"
        case mod = "MOD"
        case value = "VALUE"
    }

    public enum Result: String, Sendable {
        case equal = "EQUAL"
        case greater = "GREATER"
        case less = "LESS"
        case notEqual = "NOT_EQUAL"
    }

    public var key: String
    /// When set, the comparison holds for every key in `key ..< rangeEnd`.
    public var rangeEnd: String?
    public var target: Target
    public var result: Result
    /// A revision or version for the revision targets, the bytes for `.value`.
    public var number: Int64 = 0
    public var value: Data = Data()

    /// Creates a comparison.
    public init(key: String, rangeEnd: String? = nil, target: Target, result: Result, number: Int64 = 0, value: Data = Data()) {
        self.key = key
        self.rangeEnd = rangeEnd
        self.target = target
        self.result = result
        self.number = number
        self.value = value
    }
}

/// An operation of a transaction.
public enum EtcdOperation: Sendable {
    case put(key: String, value: Data, lease: Int64?)
    case delete(key: String)
}

/// An etcd v3 client over the JSON gateway (`/v3/...`), with fail-over between endpoints, TLS and mutual TLS
/// (verification on unless the policy turns it off) and user authentication. `shutdown()` must be called.
public final class EtcdClient: Sendable {
    public let endpoints: [String]
    private let http: HTTPClient
    /// Watches: a stream stays silent until something changes, so these connections have no read timeout; each
    /// wait ends at its own deadline instead.
    private let watchHTTP: HTTPClient
    private let user: String?
    private let password: String?
    private let state = NSLock()
    nonisolated(unsafe) private var preferred = 0
    nonisolated(unsafe) private var token: String?
    /// Seconds a request may take.
    let timeout: Int64

    /// A client for the endpoints and TLS settings of a policy's `lock etcd`. `connections` bounds the open
    /// connections per endpoint (each waiting watch holds one).
    public init(_ spec: EtcdLockSpec, timeout: Int64 = 5, connections: Int = 8) throws(EtcdError) {
        endpoints = spec.endpoints.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.timeout = timeout
        user = spec.user
        if let file = spec.passwordFile {
            guard let data = FileManager.default.contents(atPath: file) else { throw .tls("cannot read the password file \(file)") }
            password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
        } else {
            password = nil
        }
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(timeout))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, connections)
        if let tls = spec.tls {
            var t = TLSConfiguration.makeClientConfiguration()
            do {
                if let ca = tls.caFile { t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
                if let cert = tls.certFile, let key = tls.keyFile {
                    t.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                    t.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
                }
            } catch {
                throw .tls("\(error)")
            }
            if tls.insecureSkipVerify { t.certificateVerification = .none }
            configuration.tlsConfiguration = t
        }
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        configuration.timeout.read = nil
        watchHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    nonisolated(unsafe) private var closed = false

    /// Whether `shutdown` has closed the connections.
    public var isShutDown: Bool { state.withLock { closed } }

    /// Closes the connections.
    public func shutdown() async {
        guard state.withLock({ () -> Bool in
            defer { closed = true }
            return !closed
        }) else { return }
        try? await http.shutdown()
        try? await watchHTTP.shutdown()
    }

    deinit {
        // An HTTPClient must be shut down before it goes away; a path that forgot to (an error thrown past the
        // shutdown) must not take the process down with it.
        if !closed {
            http.shutdown { _ in }
            watchHTTP.shutdown { _ in }
        }
    }

    // MARK: requests

    /// POSTs a JSON body to `path` on the first endpoint that answers, starting with the last one that did.
    func call(_ path: String, _ body: [String: Any]) async throws(EtcdError) -> [String: Any] {
        let data: Data
        do {
            data = try JSONSerialization.data(withJSONObject: body)
        } catch {
            throw .protocolError("cannot encode a request: \(error)")
        }
        var reasons: [String: String] = [:]
        let start = state.withLock { preferred }
        for offset in 0..<endpoints.count {
            let index = (start + offset) % endpoints.count
            let endpoint = endpoints[index]
            let request = self.request(endpoint + path, data)
            let response: HTTPClientResponse
            let bytes: ByteBuffer
            do {
                response = try await http.execute(request, timeout: .seconds(timeout))
                bytes = try await response.body.collect(upTo: 16 << 20)
            } catch {
                reasons[endpoint] = Self.explain(error)
                continue
            }
            state.withLock { preferred = index }
            let raw = Data(bytes.readableBytesView)
            let json = (try? JSONSerialization.jsonObject(with: raw)) as? [String: Any] ?? [:]
            guard response.status == .ok else {
                let message = json["message"] as? String ?? json["error"] as? String ?? String(decoding: raw, as: UTF8.self)
                if response.status.code == 401 || message.contains("invalid auth token") || message.contains("user name is empty"), user != nil, path != "/v3/auth/authenticate" {
                    try await authenticate(endpoint: endpoint)
                    return try await call(path, body)
                }
                throw .server(endpoint: endpoint, status: Int(response.status.code), message: message)
            }
            return json
        }
        throw .unreachable(reasons)
    }

    /// A JSON POST with the authentication token, if any.
    private func request(_ url: String, _ body: Data) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token = state.withLock({ token }) { request.headers.add(name: "Authorization", value: token) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// Turns NIO and TLS errors into sentences an operator can act on.
    static func explain(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("remoteConnectionClosed") || text.contains("uncleanShutdown") {
            return "the server closed the connection during the TLS handshake (does it require a client certificate? set tls { cert key })"
        }
        if text.contains("connectTimeout") { return "connection timed out" }
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if let ssl = error as? NIOSSLError { return "TLS: \(ssl)" }
        if text.contains("handshakeFailed") || text.contains("CERTIFICATE_VERIFY_FAILED") { return "TLS handshake failed: \(text)" }
        return text
    }

    private func authenticate(endpoint: String) async throws(EtcdError) {
        guard let user else { return }
        let answer = try await call("/v3/auth/authenticate", ["name": user, "password": password ?? ""])
        guard let token = answer["token"] as? String else { throw .protocolError("no token in the authentication answer") }
        state.withLock { self.token = token }
    }

    // MARK: KV

    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
    static func b64(_ d: Data) -> String { d.base64EncodedString() }

    /// The end of the range of keys starting with `prefix`.
    public static func prefixEnd(_ prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.removeLast()
        }
        return "\0"
    }

    /// The store revision in a response's header.
    static func revision(_ json: [String: Any]) -> Int64 { int((json["header"] as? [String: Any])?["revision"]) }

    static func int(_ any: Any?) -> Int64 {
        if let s = any as? String { return Int64(s) ?? 0 }
        if let n = any as? NSNumber { return n.int64Value }
        return 0
    }

    static func keyValues(_ json: [String: Any]) -> [EtcdKeyValue] {
        ((json["kvs"] as? [[String: Any]]) ?? []).map { kv in
            EtcdKeyValue(
                key: (kv["key"] as? String).flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? "",
                value: (kv["value"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data(),
                createRevision: int(kv["create_revision"]), modRevision: int(kv["mod_revision"]), version: int(kv["version"]),
                lease: int(kv["lease"]))
        }
    }

    /// The keys starting with `prefix` (or exactly `key` when `prefix` is false), and the store's revision.
    public func range(_ key: String, prefix: Bool = false) async throws(EtcdError) -> (kvs: [EtcdKeyValue], revision: Int64) {
        var body: [String: Any] = ["key": Self.b64(key)]
        if prefix { body["range_end"] = Self.b64(Self.prefixEnd(key)) }
        let json = try await call("/v3/kv/range", body)
        return (Self.keyValues(json), Self.revision(json))
    }

    /// Several ranges read at one revision (a transaction of reads only, which etcd serves without a write).
    /// Returns each range's keys and count.
    public func read(_ ranges: [EtcdRange]) async throws(EtcdError) -> (results: [(kvs: [EtcdKeyValue], count: Int64)], revision: Int64) {
        let requests: [[String: Any]] = ranges.map { r in
            var range: [String: Any] = ["key": Self.b64(r.key)]
            if r.prefix { range["range_end"] = Self.b64(Self.prefixEnd(r.key)) }
            if r.countOnly { range["count_only"] = true }
            if r.keysOnly { range["keys_only"] = true }
            switch r.order {
            case .key: break
            case .oldestFirst: (range["sort_order"], range["sort_target"]) = ("ASCEND", "CREATE")
            case .newestFirst: (range["sort_order"], range["sort_target"]) = ("DESCEND", "CREATE")
            }
            if r.limit > 0 { range["limit"] = String(r.limit) }
            if r.maxCreateRevision > 0 { range["max_create_revision"] = String(r.maxCreateRevision) }
            return ["request_range": range]
        }
        let json = try await call("/v3/kv/txn", ["compare": [] as [Any], "success": requests])
        let responses = (json["responses"] as? [[String: Any]]) ?? []
        guard responses.count == ranges.count else { throw .protocolError("a read of \(ranges.count) ranges answered \(responses.count)") }
        let results = responses.map { response in
            // The gateway leaves out what is zero or empty.
            let range = (response["response_range"] as? [String: Any]) ?? [:]
            return (Self.keyValues(range), Self.int(range["count"]))
        }
        return (results, Self.revision(json))
    }

    /// Puts a key; returns its create revision (the put's own revision when the key is new: a put keeps the create
    /// revision of a key that exists).
    @discardableResult
    public func put(_ key: String, _ value: Data, lease: Int64? = nil) async throws(EtcdError) -> Int64 {
        var body: [String: Any] = ["key": Self.b64(key), "value": Self.b64(value), "prev_kv": true]
        if let lease { body["lease"] = String(lease) }
        let json = try await call("/v3/kv/put", body)
        if let previous = json["prev_kv"] as? [String: Any] { return Self.int(previous["create_revision"]) }
        return Self.revision(json)
    }

    /// Deletes a key; returns what it held (with its lease), if anything.
    @discardableResult
    public func delete(_ key: String) async throws(EtcdError) -> EtcdKeyValue? {
        let json = try await call("/v3/kv/deleterange", ["key": Self.b64(key), "prev_kv": true])
        return Self.keyValues(["kvs": json["prev_kvs"] ?? []]).first
    }

    /// An atomic transaction: `success` when every comparison holds, else `failure`. Returns whether it succeeded.
    public func txn(_ compare: [EtcdCompare], success: [EtcdOperation], failure: [EtcdOperation] = []) async throws(EtcdError) -> Bool {
        func op(_ o: EtcdOperation) -> [String: Any] {
            switch o {
            case .put(let key, let value, let lease):
                var put: [String: Any] = ["key": Self.b64(key), "value": Self.b64(value)]
                if let lease { put["lease"] = String(lease) }
                return ["request_put": put]
            case .delete(let key):
                return ["request_delete_range": ["key": Self.b64(key)]]
            }
        }
        let compares: [[String: Any]] = compare.map { c in
            var d: [String: Any] = ["key": Self.b64(c.key), "target": c.target.rawValue, "result": c.result.rawValue]
            if let end = c.rangeEnd { d["range_end"] = Self.b64(end) }
            switch c.target {
            case .version: d["version"] = String(c.number)
            case .create: d["create_revision"] = String(c.number)
            case .mod: d["mod_revision"] = String(c.number)
            case .value: d["value"] = Self.b64(c.value)
            }
            return d
        }
        let json = try await call("/v3/kv/txn", ["compare": compares, "success": success.map(op), "failure": failure.map(op)])
        // The gateway leaves `succeeded` out when it is false.
        return (json["succeeded"] as? Bool) ?? false
    }

    // MARK: watch

    /// Where a watch begins, for the changes made between the caller's read (at `after`) and the watch.
    public enum WatchStart: Sendable {
        /// At `after + 1`, so those changes come first. etcd hands the events of a watch that begins in the past to
        /// it only when it next catches up lagging watchers (every 100 ms): for waits that are not in a hurry.
        case replay
        /// At the store's current revision: when the store has moved past `after` by then, the wait returns at
        /// once with no events and the caller looks again. For waits on the path of a hand-off.
        case current
    }

    /// Waits until keys with `prefix` change after `revision` so that `until` holds for the events seen so far
    /// (by default: any event), or `milliseconds` pass. Returns the events in order, `nil` on timeout, or no events
    /// when the watch starts at the current revision and the store had moved past `revision` before it began. One
    /// streaming `/v3/watch` request; no polling.
    public func waitForChange(
        prefix: String, after revision: Int64, start: WatchStart = .replay, milliseconds: Int64,
        until: @escaping @Sendable ([EtcdEvent]) -> Bool = { _ in true }
    ) async throws(EtcdError) -> [EtcdEvent]? {
        try await watch(
            ["key": Self.b64(prefix), "range_end": Self.b64(Self.prefixEnd(prefix))], after: revision, start: start, milliseconds: milliseconds,
            until: until)
    }

    /// Waits until exactly `key` changes after `revision`, or `milliseconds` pass; as the prefix form.
    public func waitForChange(key: String, after revision: Int64, start: WatchStart = .replay, milliseconds: Int64) async throws(EtcdError)
        -> [EtcdEvent]?
    {
        try await watch(["key": Self.b64(key)], after: revision, start: start, milliseconds: milliseconds, until: { _ in true })
    }

    private func watch(
        _ create: [String: Any], after revision: Int64, start: WatchStart, milliseconds: Int64, until: @escaping @Sendable ([EtcdEvent]) -> Bool
    ) async throws(EtcdError) -> [EtcdEvent]? {
        var create = create
        let late = start == .current
        if !late { create["start_revision"] = String(revision + 1) }
        let body: [String: Any] = ["create_request": create]
        guard let data = try? JSONSerialization.data(withJSONObject: body) else { throw .protocolError("cannot encode a watch") }
        var reasons: [String: String] = [:]
        let first = state.withLock { preferred }
        let deadline = ContinuousClock.now + .milliseconds(max(1, milliseconds))
        for offset in 0..<endpoints.count {
            let endpoint = endpoints[(first + offset) % endpoints.count]
            let request = self.request(endpoint + "/v3/watch", data)
            let http = watchHTTP
            do {
                // The response's body streams for as long as the watch lasts, so the deadline is raced here: the
                // client's own deadline covers only the response head.
                return try await withThrowingTaskGroup(of: [EtcdEvent]?.self) { group in
                    group.addTask {
                        let response = try await http.execute(request, deadline: .now() + .milliseconds(max(1, milliseconds)))
                        return try await Self.changes(response.body, after: revision, late: late, until: until)
                    }
                    group.addTask {
                        try await Task.sleep(until: deadline)
                        return nil
                    }
                    defer { group.cancelAll() }
                    return try await group.next() ?? nil
                }
            } catch {
                let text = "\(error)"
                if text.contains("deadlineExceeded") || text.contains("readTimeout") || error is CancellationError { return nil }
                reasons[endpoint] = Self.explain(error)
            }
        }
        throw .unreachable(reasons)
    }

    /// The events after `revision` of a watch's stream of JSON lines, up to the first message after which `until`
    /// holds for all of them; no events when `late` says so and the watch began past `revision`; `nil` if the
    /// stream ends first.
    private static func changes(
        _ body: HTTPClientResponse.Body, after revision: Int64, late: Bool, until: ([EtcdEvent]) -> Bool
    ) async throws -> [EtcdEvent]? {
        var pending = Data()
        var seen: [EtcdEvent] = []
        for try await chunk in body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = pending[pending.startIndex..<newline]
                pending.removeSubrange(pending.startIndex...newline)
                guard let json = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any],
                    let result = json["result"] as? [String: Any]
                else { continue }
                if late, result["created"] as? Bool == true, Self.revision(result) > revision {
                    return []
                }
                if let events = result["events"] as? [[String: Any]], !events.isEmpty {
                    // The gateway leaves the type out for a put (the enum's zero value). A member behind the one
                    // that served the caller's read may repeat changes the caller has seen.
                    seen += events.map { event in
                        EtcdEvent(
                            isDelete: event["type"] as? String == "DELETE",
                            kv: keyValues(["kvs": [event["kv"] ?? [:]]]).first!)
                    }.filter { $0.kv.modRevision > revision }
                    if !seen.isEmpty, until(seen) { return seen }
                }
            }
        }
        return nil
    }

    // MARK: leases

    /// A lease of `ttl` seconds.
    public func grant(ttl: Int64) async throws(EtcdError) -> Int64 {
        let json = try await call("/v3/lease/grant", ["TTL": String(ttl)])
        let id = Self.int(json["ID"])
        guard id != 0 else { throw .protocolError("lease grant without an ID") }
        return id
    }

    /// Refreshes a lease; returns the seconds left, 0 when it has expired.
    public func keepAlive(_ lease: Int64) async throws(EtcdError) -> Int64 {
        let json = try await call("/v3/lease/keepalive", ["ID": String(lease)])
        return Self.int((json["result"] as? [String: Any])?["TTL"])
    }

    public func revoke(_ lease: Int64) async throws(EtcdError) {
        do {
            _ = try await call("/v3/lease/revoke", ["ID": String(lease)])
        } catch .server(_, _, let message) where message.contains("not found") {
            return
        }
    }

    /// Seconds left on a lease (-1 when it has expired or does not exist).
    public func timeToLive(_ lease: Int64) async throws(EtcdError) -> Int64 {
        let json = try await call("/v3/lease/timetolive", ["ID": String(lease)])
        return json["TTL"] == nil ? -1 : Self.int(json["TTL"])
    }
}
