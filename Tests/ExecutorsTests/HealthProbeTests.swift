import Evaluator
import Executors
import Foundation
import PolicyLang
import RCTestSupport
import Testing

/// The measuring health checks against a local HTTP server: what they measure, and each way an endpoint can fail.
@Suite struct HealthProbeTests {
    func policy(_ check: String) throws -> PreparedPolicy {
        let text = "policy \"p\" {}\ndetector \"m\" file \"/run/m\"\n" + check + "\n"
        let result = Checker.check(SourceFile(path: "h.rcl", text: text))
        guard let checked = result.policy else { throw CheckFailed(diagnostics: result.diagnostics.map(\.message)) }
        return PreparedPolicy(checked)
    }

    struct CheckFailed: Error {
        var diagnostics: [String]
    }

    func run(_ policy: PreparedPolicy) async -> HealthObservation {
        let context = HealthContext(phase: .preLock, nodeName: "n", dryRun: true, lockHeld: false, lockAttempts: 0)
        return await HealthRunner().runAll(policy, context)[policy.policy.health[0].name]!
    }

    func json(_ body: String, status: Int = 200) -> ScriptedHTTPServer.Answer {
        .respond(status: status, contentType: "application/json", body: body)
    }

    @Test func anHTTPCheckComparesTheStatusAndTheJSONBody() async throws {
        let lag = LockedText("2")
        let server = try ScriptedHTTPServer { _ in .respond(status: 200, contentType: "application/json", body: #"{"replication": {"lag_seconds": \#(lag.value)}}"#) }
        defer { server.stop() }
        let p = try policy(#"health "lag" http "\#(server.url)/status" { ok when status == 200 and json.replication.lag_seconds < 5 }"#)
        let passing = await run(p)
        #expect(passing.ok, "\(passing.output ?? "")")
        #expect(passing.measurement?.status == 200)
        #expect(passing.measurement?.json == .map(["replication": .map(["lag_seconds": .int(2)])]))
        lag.value = "7.5"
        let failing = await run(p)
        #expect(!failing.ok)
        #expect(failing.output == "7.5 < 5 is false")
        #expect(server.requested.allSatisfy { $0 == "/status" })
    }

    @Test func aMissingFieldOrABodyThatIsNotJSONFailsNamingThePath() async throws {
        let server = try ScriptedHTTPServer { path in
            path == "/empty-object"
                ? .respond(status: 200, contentType: "application/json", body: #"{"replication": {}}"#)
                : .respond(status: 200, contentType: "text/html", body: "<html>oops</html>")
        }
        defer { server.stop() }
        let missing = await run(try policy(#"health "lag" http "\#(server.url)/empty-object" { ok when json.replication.lag_seconds < 5 }"#))
        #expect(!missing.ok)
        #expect(missing.output == "json.replication.lag_seconds: the response has no field `lag_seconds` (or it is null)")
        let html = await run(try policy(#"health "lag" http "\#(server.url)/page" { ok when json.replication.lag_seconds < 5 }"#))
        #expect(!html.ok)
        #expect(html.output?.hasPrefix("json: the response body is not JSON (it starts \"<html>") == true, "\(html.output ?? "")")
    }

    @Test func aServerErrorBlocksWithItsStatus() async throws {
        let server = try ScriptedHTTPServer { _ in .respond(status: 503, contentType: "application/json", body: #"{"error": "down"}"#) }
        defer { server.stop() }
        let o = await run(try policy(#"health "lag" http "\#(server.url)/" { ok when status == 200 }"#))
        #expect(!o.ok)
        #expect(o.output == "503 == 200 is false")
    }

    @Test func anUnreachableEndpointBlocks() async throws {
        let port = try EtcdHarness.freePort()
        let o = await run(try policy(#"health "lag" http "http://127.0.0.1:\#(port)/" { ok when status == 200 }"#))
        #expect(!o.ok)
        #expect(o.measurement == nil)
        #expect(o.output?.hasPrefix("cannot reach the endpoint") == true, "\(o.output ?? "")")
    }

    @Test func anEndpointThatNeverAnswersBlocksAtTheTimeout() async throws {
        let server = try ScriptedHTTPServer { _ in .hang }
        defer { server.stop() }
        let started = ContinuousClock.now
        let o = await run(try policy(#"health "lag" http "\#(server.url)/" { ok when status == 200  timeout 500ms }"#))
        let took = ContinuousClock.now - started
        #expect(!o.ok)
        #expect(o.output?.contains("timed out") == true, "\(o.output ?? "")")
        #expect(took < .seconds(3), "took \(took)")
        #expect(took >= .milliseconds(450))
    }

    @Test func aRedirectCycleAndTooManyRedirectsBlock() async throws {
        let server = try ScriptedHTTPServer { path in
            switch path {
            case "/a": .redirect(to: "/b")
            case "/b": .redirect(to: "/a")
            default:
                // /r5 → /r4 → … → /r0
                if let n = Int(path.dropFirst(2)), n > 0 { .redirect(to: "/r\(n - 1)") } else { .respond(status: 200, contentType: "application/json", body: "{}") }
            }
        }
        defer { server.stop() }
        let cycle = await run(try policy(#"health "lag" http "\#(server.url)/a" { ok when status == 200 }"#))
        #expect(!cycle.ok)
        #expect(cycle.output == "the endpoint redirects in a cycle")
        let long = await run(try policy(#"health "lag" http "\#(server.url)/r5" { ok when status == 200 }"#))
        #expect(long.output == "the endpoint redirects more than 3 times")
        let short = await run(try policy(#"health "lag" http "\#(server.url)/r2" { ok when status == 200 }"#))
        #expect(short.ok, "\(short.output ?? "")")
    }

    @Test func aHundredMegabyteBodyIsCutAtOneMebibyte() async throws {
        let server = try ScriptedHTTPServer { _ in .endless(bytes: 100 * 1024 * 1024) }
        defer { server.stop() }
        let started = ContinuousClock.now
        let o = await run(try policy(#"health "lag" http "\#(server.url)/" { ok when status == 200 }"#))
        #expect(!o.ok)
        #expect(o.output == "HTTP 200: the response body is larger than 1 MiB")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aTokenFromTheEnvironmentThatIsNotSetBlocks() async throws {
        let server = try ScriptedHTTPServer { _ in .respond(status: 200, contentType: "application/json", body: "{}") }
        defer { server.stop() }
        let o = await run(try policy(#"health "lag" http "\#(server.url)/" { ok when status == 200  header "Authorization"  token_env "RC_TEST_UNSET_TOKEN_19" }"#))
        #expect(!o.ok)
        #expect(o.output == "the environment variable RC_TEST_UNSET_TOKEN_19 is not set")
        #expect(server.requested.isEmpty)
    }

    @Test func aNaNFromPrometheusBlocksEvenANegatedThreshold() async throws {
        let server = try ScriptedHTTPServer { _ in
            .respond(status: 200, contentType: "application/json", body: #"{"status":"success","data":{"resultType":"scalar","result":[1,"NaN"]}}"#)
        }
        defer { server.stop() }
        let o = await run(try policy(#"health "errors" prometheus "\#(server.url)" query "q" { ok when not (value >= 0.01) }"#))
        #expect(!o.ok && o.output == "value: the query failed: the query returned NaN (not a number)", "\(o.output ?? "")")
    }

    @Test func aTokenIsSentWithoutTheNewlineAroundItAndNeverShownWhenItCannotBe() async throws {
        let recorder = try RecordingHTTPServer()
        setenv("RC_TEST_TOKEN_NEWLINE_19", "Bearer s3cret\n", 1)
        setenv("RC_TEST_TOKEN_INSIDE_19", "Bearer s3c\nret", 1)
        defer {
            unsetenv("RC_TEST_TOKEN_NEWLINE_19")
            unsetenv("RC_TEST_TOKEN_INSIDE_19")
        }
        let url = "http://127.0.0.1:\(recorder.port)/status"
        let trimmed = await run(try policy(#"health "lag" http "\#(url)" { ok when status == 200  header "Authorization"  token_env "RC_TEST_TOKEN_NEWLINE_19" }"#))
        #expect(trimmed.ok, "\(trimmed.output ?? "")")
        #expect(recorder.requests.first?.head.contains("Authorization: Bearer s3cret\r\n") == true)
        let refused = await run(try policy(#"health "lag" http "\#(url)" { ok when status == 200  header "Authorization"  token_env "RC_TEST_TOKEN_INSIDE_19" }"#))
        #expect(!refused.ok)
        #expect(
            refused.output == "the environment variable RC_TEST_TOKEN_INSIDE_19 holds a control character (a line break inside the token?): an HTTP header cannot carry it",
            "\(refused.output ?? "")")
        #expect(recorder.requests.count == 1, "nothing is sent with a token that cannot be")
    }

    @Test func aTokenFileIsSentAsTheHeader() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-token-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "Bearer s3cret\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        let recorder = try RecordingHTTPServer()
        let o = await run(try policy(#"health "lag" http "http://127.0.0.1:\#(recorder.port)/hook" { ok when status == 200  header "Authorization"  token_file "\#(dir)/token" }"#))
        #expect(o.ok, "\(o.output ?? "")")
        #expect(recorder.requests.first?.head.contains("Authorization: Bearer s3cret") == true)
    }

    @Test func aMeasuringCheckRunsOnlyInItsPhases() async throws {
        let server = try ScriptedHTTPServer { _ in .respond(status: 200, contentType: "application/json", body: "{}") }
        defer { server.stop() }
        let p = try policy(#"health "lag" http "\#(server.url)/status" { ok when status == 200  run post_boot }"#)
        let before = await HealthRunner().runAll(p, HealthContext(phase: .preLock, nodeName: "n", dryRun: true, lockHeld: false, lockAttempts: 0))
        #expect(before.isEmpty)
        #expect(server.requested.isEmpty)
        let after = await HealthRunner().runAll(p, HealthContext(phase: .postBoot, nodeName: "n", dryRun: false, lockHeld: true, lockAttempts: 1))
        #expect(after["lag"]?.ok == true, "\(after["lag"]?.output ?? "")")
        #expect(server.requested == ["/status"])
    }

    /// `openssl s_server -HTTP` on loopback with a certificate from a CA the test makes: a TLS endpoint that only
    /// the check's `ca` lets it trust.
    @Test(.timeLimit(.minutes(1))) func aCAFileLetsTheCheckTrustAServerThatTheSystemDoesNot() async throws {
        let pki = try EtcdSecurityTests.PKI()
        defer { try? FileManager.default.removeItem(atPath: pki.dir) }
        // s_server -HTTP sends the file as the whole response.
        try "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"replication\": {\"lag_seconds\": 2}}\n"
            .write(toFile: pki.dir + "/status", atomically: true, encoding: .utf8)
        try "not a certificate\n".write(toFile: pki.dir + "/junk.pem", atomically: true, encoding: .utf8)
        let port = try EtcdHarness.freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        server.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", pki.dir + "/server.crt", "-key", pki.dir + "/server.key", "-HTTP", "-quiet"]
        server.currentDirectoryURL = URL(fileURLWithPath: pki.dir)
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // s_server does not stop on SIGTERM.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        for _ in 0..<100 where !EtcdHarness.portAnswers(port) { try await Task.sleep(for: .milliseconds(50)) }
        let url = "https://127.0.0.1:\(port)/status"
        let condition = "ok when status == 200 and json.replication.lag_seconds < 5  timeout 5s"
        let trusted = await run(try policy(#"health "lag" http "\#(url)" { \#(condition)  ca "\#(pki.ca)" }"#))
        #expect(trusted.ok, "\(trusted.output ?? "")")
        #expect(trusted.measurement?.json == .map(["replication": .map(["lag_seconds": .int(2)])]))
        // Without `ca` the system's authorities do not know the test's CA: the check fails, it does not pass unverified.
        let untrusted = await run(try policy(#"health "lag" http "\#(url)" { \#(condition) }"#))
        #expect(!untrusted.ok)
        #expect(untrusted.measurement == nil)
        #expect(untrusted.output == "the endpoint's TLS certificate is not signed by a CA the check trusts (name its CA with `ca`)", "\(untrusted.output ?? "")")
        let junk = await run(try policy(#"health "lag" http "\#(url)" { \#(condition)  ca "\#(pki.dir)/junk.pem" }"#))
        #expect(junk.output?.hasPrefix("cannot load the CA file \(pki.dir)/junk.pem (PEM expected)") == true, "\(junk.output ?? "")")
        let missing = await run(try policy(#"health "lag" http "\#(url)" { \#(condition)  ca "\#(pki.dir)/absent.pem" }"#))
        #expect(missing.output == "cannot read the CA file \(pki.dir)/absent.pem")
    }

    @Test func aPrometheusAnswerIsAScalarAVectorOrAnError() throws {
        let scalar = try HealthProbeRunner.prometheus(200, Data(#"{"status":"success","data":{"resultType":"scalar","result":[1700000000.1,"0.034"]}}"#.utf8))
        #expect(scalar.value == 0.034)
        let vector = try HealthProbeRunner.prometheus(
            200, Data(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"w"},"value":[1,"2"]},{"metric":{},"value":[1,"+Inf"]}]}}"#.utf8))
        #expect(vector.samples?.count == 2)
        #expect(vector.samples?[0] == HealthSample(value: 2, labels: ["job": "w"]))
        #expect(vector.samples?[1] == HealthSample(value: .infinity, labels: [:]))
        #expect(vector.number == 2, "several samples: their count")
        // NaN (a rate over no requests) measures nothing: `not (value >= 0.01)` must not hold on it.
        let nan = try HealthProbeRunner.prometheus(200, Data(#"{"status":"success","data":{"resultType":"scalar","result":[1,"NaN"]}}"#.utf8))
        #expect(nan.value == nil && nan.queryError == "the query returned NaN (not a number)" && nan.number == nil)
        let nanSample = try HealthProbeRunner.prometheus(
            200, Data(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"w"},"value":[1,"1"]},{"metric":{"job":"x"},"value":[1,"NaN"]}]}}"#.utf8))
        #expect(nanSample.samples == nil && nanSample.queryError == #"the query returned NaN (not a number) for {job="x"}"#)
        let empty = try HealthProbeRunner.prometheus(200, Data(#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.utf8))
        #expect(empty.samples == [] && empty.number == nil, "no sample: no number to export")
        let error = try HealthProbeRunner.prometheus(400, Data(#"{"status":"error","errorType":"bad_data","error":"parse error"}"#.utf8))
        #expect(error.queryError == "bad_data: parse error")
        #expect(throws: (any Error).self) { try HealthProbeRunner.prometheus(502, Data("bad gateway".utf8)) }
    }
}

/// A value a server closure reads while the test changes it.
final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var current: String

    init(_ value: String) { current = value }

    var value: String {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }
}
