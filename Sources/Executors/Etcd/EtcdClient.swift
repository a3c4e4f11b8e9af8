import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PolicyLang

/// A gRPC status code, as etcd's gateway reports it in an error's `code`.
public enum EtcdCode: Int, Sendable, Equatable {
    case cancelled = 1, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists, permissionDenied, resourceExhausted
    case failedPrecondition, aborted, outOfRange, unimplemented, `internal`, unavailable, dataLoss, unauthenticated
}

/// Why etcd could not answer.
public enum EtcdError: Error, Sendable, CustomStringConvertible, Equatable {
    /// No endpoint answered; the last reason per endpoint.
    case unreachable([String: String])
    /// An endpoint answered with an error: the HTTP status, the gRPC code when the body had one, and its message.
    case server(endpoint: String, status: Int, code: EtcdCode?, message: String)
    /// The TLS files of the policy cannot be used.
    case tls(String)
    /// The answer was not what the API documents.
    case protocolError(String)

    public var description: String {
        switch self {
        case .unreachable(let reasons):
            "etcd is unreachable: " + reasons.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        case .server(let endpoint, let status, _, let message): "etcd at \(endpoint) answered \(status): \(message)"
        case .tls(let why): "etcd TLS settings: \(why)"
        case .protocolError(let why): "unexpected answer from etcd: \(why)"
        }
    }

    /// The gRPC code of a server error.
    public var code: EtcdCode? {
        if case .server(_, _, let code, _) = self { return code }
        return nil
    }

    /// A lease that does not exist (expired or revoked).
    public var isLeaseNotFound: Bool {
        if case .server(_, _, let code, let message) = self { return code == .notFound || message.contains("lease not found") }
        return false
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
        case lease = "LEASE"
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
    /// A revision or version for the revision targets, the lease ID for `.lease`, the bytes for `.value`.
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
            /// Loads one file, naming it in the error.
            func load<T>(_ path: String, _ what: String, _ body: () throws -> T) throws(EtcdError) -> T {
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw .tls("cannot read the \(what) \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")")
                }
                do {
                    return try body()
                } catch {
                    throw .tls("cannot load the \(what) \(path) (PEM expected): \(error)")
                }
            }
            if let ca = tls.caFile { t.trustRoots = .certificates(try load(ca, "CA file") { try NIOSSLCertificate.fromPEMFile(ca) }) }
            if let cert = tls.certFile, let key = tls.keyFile {
                t.certificateChain = try load(cert, "certificate file") { try NIOSSLCertificate.fromPEMFile(cert) }.map { .certificate($0) }
                t.privateKey = .privateKey(try load(key, "key file") { try NIOSSLPrivateKey(file: key, format: .pem) })
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

    /// How often one request authenticates again when etcd rejects its token, before it gives up.
    static let authenticationAttempts = 2

    /// POSTs `body` to `path` on the first endpoint that answers, starting with the last one that did. A transport
    /// error, an HTTP 5xx or a gRPC `Unavailable` (no leader, a member cut off) moves on to the next endpoint; a
    /// rejected token is renewed at most `authenticationAttempts` times.
    func call<Request: Encodable, Response: Decodable>(_ path: String, _ body: Request, as: Response.Type = Response.self) async throws(EtcdError)
        -> Response
    {
        let data: Data
        do {
            data = try JSONEncoder().encode(body)
        } catch {
            throw .protocolError("cannot encode a request: \(error)")
        }
        var authentications = 0
        while true {
            let endpoint: String
            let raw: Data
            do {
                (endpoint, raw) = try await post(path, data)
            } catch {
                guard case .server(let at, let status, let code, let message) = error, user != nil, path != "/v3/auth/authenticate",
                    authentications < Self.authenticationAttempts,
                    status == 401 || code == .unauthenticated || message.contains("invalid auth token") || message.contains("user name is empty")
                        || message.contains("auth store is old")
                else { throw error }
                authentications += 1
                try await authenticate(endpoint: at)
                continue
            }
            do {
                return try JSONDecoder().decode(Response.self, from: raw)
            } catch {
                throw .protocolError("\(endpoint)\(path) answered what rc cannot read: \(Self.excerpt(raw)) (\(error))")
            }
        }
    }

    /// One POST, with fail-over: the endpoint that answered and the body of its 200 answer.
    private func post(_ path: String, _ data: Data) async throws(EtcdError) -> (String, Data) {
        var reasons: [String: String] = [:]
        let start = state.withLock { preferred }
        for offset in 0..<endpoints.count {
            let index = (start + offset) % endpoints.count
            let endpoint = endpoints[index]
            let response: HTTPClientResponse
            let bytes: ByteBuffer
            do {
                response = try await http.execute(request(endpoint + path, data), timeout: .seconds(timeout))
                bytes = try await response.body.collect(upTo: 16 << 20)
            } catch {
                reasons[endpoint] = Self.explain(error)
                continue
            }
            let raw = Data(bytes.readableBytesView)
            guard response.status == .ok else {
                let body = try? JSONDecoder().decode(GatewayError.self, from: raw)
                let code = body?.code.flatMap(EtcdCode.init(rawValue:))
                let message = body?.message ?? body?.error ?? Self.excerpt(raw)
                if response.status.code >= 500 || code == .unavailable {
                    // This member cannot serve (no leader, cut off from the others, shutting down): the next may.
                    reasons[endpoint] = "answered \(response.status.code): \(message)"
                    continue
                }
                state.withLock { preferred = index }
                throw .server(endpoint: endpoint, status: Int(response.status.code), code: code, message: message)
            }
            state.withLock { preferred = index }
            return (endpoint, raw)
        }
        throw .unreachable(reasons)
    }

    /// The start of a body, for an error message.
    static func excerpt(_ raw: Data) -> String {
        let text = String(decoding: raw.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "an empty body" : text
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
        let answer = try await call("/v3/auth/authenticate", AuthenticateRequest(name: user, password: password ?? ""), as: AuthenticateResponse.self)
        guard let token = answer.token else { throw .protocolError("no token in the authentication answer") }
        state.withLock { self.token = token }
    }

    // MARK: KV

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

    /// The highest store revision and raft term, and the cluster, this client has seen answers from. The term
    /// grows with every leader election, and a new leader renews every lease: a key written under the term a
    /// reader sees was written after the last renewal that was not its owner's.
    public var seen: (clusterID: Int64?, revision: Int64, term: Int64) { state.withLock { (seenCluster, seenRevision, seenTerm) } }
    nonisolated(unsafe) private var seenCluster: Int64?
    nonisolated(unsafe) private var seenRevision: Int64 = 0
    nonisolated(unsafe) private var seenTerm: Int64 = 0

    /// The store revision of an answer's header, noted in `seen`.
    func revision(_ header: EtcdHeader?) -> Int64 {
        let revision = header?.revision?.value ?? 0
        state.withLock {
            if let cluster = header?.cluster_id?.value { seenCluster = cluster }
            seenRevision = max(seenRevision, revision)
            seenTerm = max(seenTerm, header?.raft_term?.value ?? 0)
        }
        return revision
    }

    static func rangeRequest(_ r: EtcdRange) -> RangeRequest {
        var request = RangeRequest(key: EtcdBytes(r.key))
        if r.prefix { request.range_end = EtcdBytes(prefixEnd(r.key)) }
        if r.countOnly { request.count_only = true }
        if r.keysOnly { request.keys_only = true }
        switch r.order {
        case .key: break
        case .oldestFirst: (request.sort_order, request.sort_target) = ("ASCEND", "CREATE")
        case .newestFirst: (request.sort_order, request.sort_target) = ("DESCEND", "CREATE")
        }
        if r.limit > 0 { request.limit = EtcdInt(r.limit) }
        if r.maxCreateRevision > 0 { request.max_create_revision = EtcdInt(r.maxCreateRevision) }
        return request
    }

    /// The keys starting with `prefix` (or exactly `key` when `prefix` is false), and the store's revision.
    public func range(_ key: String, prefix: Bool = false) async throws(EtcdError) -> (kvs: [EtcdKeyValue], revision: Int64) {
        let answer = try await call("/v3/kv/range", Self.rangeRequest(EtcdRange(key, prefix: prefix)), as: RangeResponse.self)
        return ((answer.kvs ?? []).map(\.keyValue), revision(answer.header))
    }

    /// Several ranges read at one revision (a transaction of reads only, which etcd serves without a write).
    /// Returns each range's keys and count.
    public func read(_ ranges: [EtcdRange]) async throws(EtcdError) -> (results: [(kvs: [EtcdKeyValue], count: Int64)], revision: Int64) {
        let request = TxnRequest(compare: [], success: ranges.map { RequestOp(request_range: Self.rangeRequest($0)) }, failure: [])
        let answer = try await call("/v3/kv/txn", request, as: TxnResponse.self)
        let responses = answer.responses ?? []
        guard responses.count == ranges.count else { throw .protocolError("a read of \(ranges.count) ranges answered \(responses.count)") }
        // The gateway leaves out what is zero or empty.
        let results = responses.map { ((($0.response_range?.kvs) ?? []).map(\.keyValue), $0.response_range?.count?.value ?? 0) }
        return (results, revision(answer.header))
    }

    /// Puts a key; returns its create revision (the put's own revision when the key is new: a put keeps the create
    /// revision of a key that exists).
    @discardableResult
    public func put(_ key: String, _ value: Data, lease: Int64? = nil) async throws(EtcdError) -> Int64 {
        let request = PutRequest(key: EtcdBytes(key), value: EtcdBytes(value), lease: lease.map(EtcdInt.init), prev_kv: true)
        let answer = try await call("/v3/kv/put", request, as: PutResponse.self)
        let at = revision(answer.header)
        return answer.prev_kv?.create_revision?.value ?? at
    }

    /// Deletes a key; returns what it held (with its lease), if anything.
    @discardableResult
    public func delete(_ key: String) async throws(EtcdError) -> EtcdKeyValue? {
        let answer = try await call("/v3/kv/deleterange", DeleteRangeRequest(key: EtcdBytes(key), prev_kv: true), as: DeleteRangeResponse.self)
        _ = revision(answer.header)
        return answer.prev_kvs?.first?.keyValue
    }

    static func operation(_ o: EtcdOperation) -> RequestOp {
        switch o {
        case .put(let key, let value, let lease):
            RequestOp(request_put: PutRequest(key: EtcdBytes(key), value: EtcdBytes(value), lease: lease.map(EtcdInt.init)))
        case .delete(let key):
            RequestOp(request_delete_range: DeleteRangeRequest(key: EtcdBytes(key)))
        }
    }

    static func compareMessage(_ c: EtcdCompare) -> CompareMessage {
        var m = CompareMessage(key: EtcdBytes(c.key), range_end: c.rangeEnd.map(EtcdBytes.init), target: c.target.rawValue, result: c.result.rawValue)
        switch c.target {
        case .version: m.version = EtcdInt(c.number)
        case .create: m.create_revision = EtcdInt(c.number)
        case .mod: m.mod_revision = EtcdInt(c.number)
        case .lease: m.lease = EtcdInt(c.number)
        case .value: m.value = EtcdBytes(c.value)
        }
        return m
    }

    /// An atomic transaction: `success` when every comparison holds, else `failure`. Returns whether it succeeded.
    public func txn(_ compare: [EtcdCompare], success: [EtcdOperation], failure: [EtcdOperation] = []) async throws(EtcdError) -> Bool {
        let request = TxnRequest(compare: compare.map(Self.compareMessage), success: success.map(Self.operation), failure: failure.map(Self.operation))
        let answer = try await call("/v3/kv/txn", request, as: TxnResponse.self)
        _ = revision(answer.header)
        // The gateway leaves `succeeded` out when it is false.
        return answer.succeeded ?? false
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
    /// when the watch starts at the current revision and the store had moved past `revision` before it began, or
    /// when etcd cancelled the watch (compacted past `revision`, a member that lost its leader): the caller looks
    /// again. One streaming `/v3/watch` request; no polling.
    public func waitForChange(
        prefix: String, after revision: Int64, start: WatchStart = .replay, milliseconds: Int64,
        until: @escaping @Sendable ([EtcdEvent]) -> Bool = { _ in true }
    ) async throws(EtcdError) -> [EtcdEvent]? {
        try await watch(
            WatchRequest.Create(key: EtcdBytes(prefix), range_end: EtcdBytes(Self.prefixEnd(prefix))), after: revision, start: start,
            milliseconds: milliseconds, until: until)
    }

    /// Waits until exactly `key` changes after `revision`, or `milliseconds` pass; as the prefix form.
    public func waitForChange(key: String, after revision: Int64, start: WatchStart = .replay, milliseconds: Int64) async throws(EtcdError)
        -> [EtcdEvent]?
    {
        try await watch(WatchRequest.Create(key: EtcdBytes(key)), after: revision, start: start, milliseconds: milliseconds, until: { _ in true })
    }

    private func watch(
        _ create: WatchRequest.Create, after revision: Int64, start: WatchStart, milliseconds: Int64, until: @escaping @Sendable ([EtcdEvent]) -> Bool
    ) async throws(EtcdError) -> [EtcdEvent]? {
        var create = create
        let late = start == .current
        if !late { create.start_revision = EtcdInt(revision + 1) }
        guard let data = try? JSONEncoder().encode(WatchRequest(create_request: create)) else { throw .protocolError("cannot encode a watch") }
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
                        guard response.status == .ok else { throw EtcdError.unreachable([endpoint: "the watch answered \(response.status.code)"]) }
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
    /// holds for all of them; no events when `late` says so and the watch began past `revision`, or when etcd
    /// cancelled the watch; `nil` if the stream ends first.
    private static func changes(
        _ body: HTTPClientResponse.Body, after revision: Int64, late: Bool, until: ([EtcdEvent]) -> Bool
    ) async throws -> [EtcdEvent]? {
        var pending = Data()
        var seen: [EtcdEvent] = []
        let decoder = JSONDecoder()
        for try await chunk in body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = pending[pending.startIndex..<newline]
                pending.removeSubrange(pending.startIndex...newline)
                guard let message = try? decoder.decode(WatchLine.self, from: line) else { continue }
                if message.error != nil { return [] }
                guard let result = message.result else { continue }
                // Compacted past the caller's revision, or cancelled by the server: look again.
                if result.canceled == true || (result.compact_revision?.value ?? 0) > 0 { return [] }
                if late, result.created == true, (result.header?.revision?.value ?? 0) > revision {
                    return []
                }
                let events = (result.events ?? []).compactMap { event -> EtcdEvent? in
                    guard let kv = event.kv else { return nil }
                    return EtcdEvent(isDelete: event.type == "DELETE", kv: kv.keyValue)
                }
                // A member behind the one that served the caller's read may repeat changes the caller has seen.
                seen += events.filter { $0.kv.modRevision > revision }
                if !seen.isEmpty, until(seen) { return seen }
            }
        }
        return nil
    }

    // MARK: leases

    /// A lease of `ttl` seconds.
    public func grant(ttl: Int64) async throws(EtcdError) -> Int64 {
        let answer = try await call("/v3/lease/grant", LeaseGrantRequest(TTL: EtcdInt(ttl)), as: LeaseGrantResponse.self)
        _ = revision(answer.header)
        guard let id = answer.ID?.value, id != 0 else { throw .protocolError("lease grant without an ID\(answer.error.map { ": " + $0 } ?? "")") }
        return id
    }

    /// Refreshes a lease; returns the seconds left, 0 when it has expired.
    public func keepAlive(_ lease: Int64) async throws(EtcdError) -> Int64 {
        let answer = try await call("/v3/lease/keepalive", LeaseIDRequest(ID: EtcdInt(lease)), as: LeaseKeepAliveAnswer.self)
        _ = revision(answer.result?.header)
        return answer.result?.TTL?.value ?? 0
    }

    /// Revokes a lease and deletes its keys; a lease that no longer exists is not an error.
    public func revoke(_ lease: Int64) async throws(EtcdError) {
        do {
            _ = try await call("/v3/lease/revoke", LeaseIDRequest(ID: EtcdInt(lease)), as: EmptyResponse.self)
        } catch let error where error.isLeaseNotFound {
            return
        }
    }

    /// Seconds left on a lease and the seconds it was granted for (`left` is -1 when it has expired or does not
    /// exist).
    public func lease(_ lease: Int64) async throws(EtcdError) -> (left: Int64, granted: Int64) {
        let answer = try await call("/v3/lease/timetolive", LeaseIDRequest(ID: EtcdInt(lease)), as: LeaseTimeToLiveResponse.self)
        return (answer.TTL?.value ?? -1, answer.grantedTTL?.value ?? 0)
    }

    /// Seconds left on a lease (-1 when it has expired or does not exist).
    public func timeToLive(_ lease: Int64) async throws(EtcdError) -> Int64 {
        try await self.lease(lease).left
    }
}
