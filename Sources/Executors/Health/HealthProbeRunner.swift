import AsyncHTTPClient
import Evaluator
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PolicyLang

/// Measures the checks that are not scripts: a GET of an http endpoint (status and JSON body), an instant query of
/// Prometheus (`/api/v1/query`), the active alerts of Alertmanager (`/api/v2/alerts`). Every request is bounded: the
/// check's timeout covers connecting, redirects and reading the body, a body larger than ``HealthProbe/maxBody``
/// fails, at most ``HealthProbe/maxRedirects`` redirects are followed and a redirect cycle fails. What cannot be
/// measured is an observation that failed, with why; what was measured goes to the policy's `ok when`.
public struct HealthProbeRunner: Sendable {
    /// Creates a runner.
    public init() {}

    /// Why a probe could not measure.
    struct Failure: Error {
        var why: String
    }

    /// Measures one check; the observation's `ok` is not judged yet (``PreparedPolicy/judgeHealth(_:_:)`` does).
    public func measure(_ check: HealthSpec, _ probe: HealthProbe) async -> HealthObservation {
        let started = ContinuousClock.now
        func elapsed() -> Int64 {
            let d = ContinuousClock.now - started
            return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        }
        do {
            let measurement = try await withDeadline(check.timeout) { try await self.request(check, probe) }
            return HealthObservation(ok: true, duration: elapsed(), measurement: measurement)
        } catch {
            return HealthObservation(ok: false, output: error.why, duration: elapsed())
        }
    }

    /// Runs `body`, failing when it takes longer than `milliseconds`; the body is cancelled then.
    private func withDeadline<T: Sendable>(_ milliseconds: Int64, _ body: @escaping @Sendable () async throws -> T) async throws(Failure) -> T {
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(milliseconds))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw Failure(why: "timed out after \(formatDuration(milliseconds: milliseconds))")
                }
                return value
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(why: Self.describe(error))
        }
    }

    private func request(_ check: HealthSpec, _ probe: HealthProbe) async throws -> HealthMeasurement {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .follow(max: HealthProbe.maxRedirects, allowCycles: false)
        configuration.timeout.connect = .milliseconds(check.timeout)
        // One try per pass: a refused connection is an answer (the endpoint is down), not something to wait out.
        configuration.connectionPool.retryConnectionEstablishment = false
        if let ca = probe.caFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            guard FileManager.default.isReadableFile(atPath: ca) else { throw Failure(why: "cannot read the CA file \(ca)") }
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            } catch {
                throw Failure(why: "cannot load the CA file \(ca) (PEM expected): \(error)")
            }
            configuration.tlsConfiguration = tls
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await fetch(client, check, probe)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func fetch(_ client: HTTPClient, _ check: HealthSpec, _ probe: HealthProbe) async throws -> HealthMeasurement {
        var url = probe.url
        switch probe.kind {
        case .http: break
        case .prometheus:
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&+=#;")
            url = Self.join(url, "/api/v1/query") + "?query=" + (probe.query ?? "").addingPercentEncoding(withAllowedCharacters: allowed)!
        case .alerts:
            url = Self.join(url, "/api/v2/alerts")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "rc/\(rcVersion)")
        if let header = probe.header {
            switch Notifier.token(env: probe.tokenEnv, file: probe.tokenFile) {
            case .success(let value): request.headers.add(name: header, value: value)
            case .failure(let error): throw Failure(why: error.why)
            }
        }
        let response = try await client.execute(request, timeout: .milliseconds(check.timeout))
        let status = Int64(response.status.code)
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: HealthProbe.maxBody)
        } catch is NIOTooManyBytesError {
            throw Failure(why: "HTTP \(status): the response body is larger than \(HealthProbe.maxBody / 1024 / 1024) MiB")
        }
        let bytes = Data(body.readableBytesView)
        switch probe.kind {
        case .http:
            var m = HealthMeasurement(status: status)
            switch Self.parseJSON(bytes) {
            case .success(let value): m.json = value
            case .failure(let why): m.bodyError = why.why
            }
            return m
        case .prometheus:
            return try Self.prometheus(status, bytes)
        case .alerts:
            return try Self.alerts(status, bytes, probe.blockOn)
        }
    }

    static func join(_ base: String, _ path: String) -> String {
        (base.hasSuffix("/") ? String(base.dropLast()) : base) + path
    }

    /// The body as a language value (``JSONReader``): objects are maps, arrays lists, whole numbers ints, other
    /// numbers numbers.
    static func parseJSON(_ data: Data) -> Result<Value, Failure> {
        if data.isEmpty { return .failure(Failure(why: "the response body is empty, not JSON")) }
        do throws(JSONReader.Malformed) {
            return .success(try JSONReader.read(Array(data)))
        } catch {
            let start = String(decoding: data.prefix(40), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
            return .failure(Failure(why: "the response body is not JSON (it starts \(quoteString(start))): \(error.why) at byte \(error.offset)"))
        }
    }

    /// `/api/v1/query`: `{status, data: {resultType, result}}` or `{status: "error", errorType, error}`.
    public static func prometheus(_ status: Int64, _ data: Data) throws -> HealthMeasurement {
        guard case .success(.map(let root)) = parseJSON(data), case .string(let outcome)? = root["status"] else {
            throw Failure(why: "Prometheus answered HTTP \(status) without a query result")
        }
        if outcome != "success" {
            let type = root["errorType"].map { $0.text } ?? "error"
            return HealthMeasurement(status: status, queryError: "\(type): " + (root["error"].map { $0.text } ?? "HTTP \(status)"))
        }
        guard case .map(let d)? = root["data"], case .string(let type)? = d["resultType"] else {
            throw Failure(why: "Prometheus answered without `data.resultType`")
        }
        switch (type, d["result"]) {
        case ("scalar", .list(let pair)?):
            guard pair.count == 2, let v = Double(pair[1].text) else { throw Failure(why: "Prometheus answered a malformed scalar") }
            if v.isNaN { return HealthMeasurement(status: status, queryError: Self.notANumber) }
            return HealthMeasurement(status: status, value: v)
        case ("vector", .list(let items)?):
            var samples: [HealthSample] = []
            for item in items {
                guard case .map(let sample) = item, case .list(let pair)? = sample["value"], pair.count == 2, let v = Double(pair[1].text) else {
                    throw Failure(why: "Prometheus answered a malformed sample")
                }
                var labels: [String: String] = [:]
                if case .map(let metric)? = sample["metric"] { for (k, l) in metric { labels[k] = l.text } }
                if v.isNaN { return HealthMeasurement(status: status, queryError: Self.notANumber + " for " + Self.seriesText(labels)) }
                samples.append(HealthSample(value: v, labels: labels))
            }
            return HealthMeasurement(status: status, samples: samples)
        default:
            return HealthMeasurement(status: status, queryError: "the query returned a \(type), not a number or an instant vector")
        }
    }

    /// A NaN (`0/0`, a rate over no requests) is no measurement: a condition on it cannot hold or fail honestly.
    static let notANumber = "the query returned NaN (not a number)"

    static func seriesText(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\(quoteString($0.value))" }.joined(separator: ", ") + "}"
    }

    /// `/api/v2/alerts`: the alerts whose `status.state` is `active` (neither silenced nor inhibited) and whose
    /// labels carry every label of `block_on`.
    static func alerts(_ status: Int64, _ data: Data, _ blockOn: [String: String]) throws -> HealthMeasurement {
        guard (200..<300).contains(status) else { throw Failure(why: "Alertmanager answered HTTP \(status)") }
        guard case .success(.list(let items)) = parseJSON(data) else { throw Failure(why: "Alertmanager answered HTTP \(status) without a list of alerts") }
        var blocking: [String] = []
        for item in items {
            guard case .map(let alert) = item, case .map(let labels)? = alert["labels"] else { continue }
            guard case .map(let state)? = alert["status"], state["state"] == .string("active") else { continue }
            guard blockOn.allSatisfy({ labels[$0.key] == .string($0.value) }) else { continue }
            blocking.append(labels["alertname"]?.text ?? "unnamed alert")
        }
        return HealthMeasurement(status: status, blockingAlerts: blocking.sorted())
    }

    /// A readable reason for a transport error.
    static func describe(_ error: any Error) -> String {
        if let failure = error as? Failure { return failure.why }
        if let e = error as? HTTPClientError {
            switch e {
            case .redirectCycleDetected: return "the endpoint redirects in a cycle"
            case .redirectLimitReached: return "the endpoint redirects more than \(HealthProbe.maxRedirects) times"
            case .connectTimeout, .deadlineExceeded, .readTimeout: return "timed out"
            case .remoteConnectionClosed: return "the endpoint closed the connection"
            default:
                // These name the header values, which may be a token: never in a message.
                let text = "\(e)"
                if text.contains("invalidHeaderFieldValues") { return "a header's value cannot be sent (a control character in it?)" }
                if text.contains("invalidHeaderFieldNames") { return "a header's name cannot be sent" }
                return "cannot reach the endpoint: \(text)"
            }
        }
        if let e = error as? NIOSSLError, case .handshakeFailed(let inner) = e {
            if "\(inner)".contains("CERTIFICATE_VERIFY_FAILED") {
                return "the endpoint's TLS certificate is not signed by a CA the check trusts (name its CA with `ca`)"
            }
            return "the TLS handshake with the endpoint failed: \(inner)"
        }
        if error is NIOSSLError { return "the TLS connection to the endpoint failed (does it speak TLS on that port?)" }
        if let e = error as? HTTPParserError { return "the endpoint's answer is not HTTP, or was cut short (\(e))" }
        if error is CancellationError { return "cancelled" }
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "cannot reach the endpoint: connection refused" }
        return "cannot reach the endpoint: \(text)"
    }
}

extension Value {
    /// The text of a string, or the value as written.
    fileprivate var text: String {
        if case .string(let s) = self { return s }
        return description
    }
}
