import Foundation
import RCTestSupport
import Testing

/// `rc run --once` gated by a real Prometheus (scraping an exporter the test serves) and a real Alertmanager: each
/// gate blocks and allows as the measured values change.
@Suite struct HealthGateE2ETests {
    let cli = CLITests()

    /// `rc run --once --dry-run` on a thread of its own, so the test pool is not blocked while it runs.
    func once(_ policy: String, _ dir: String) async throws -> CLITests.Run {
        let cli = self.cli
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    try cli.rc(["run", policy, "--once", "--dry-run", "--state-dir", dir + "/state", "--node-name", "n1", "--boot-id-file", dir + "/boot_id"])
                })
            }.start()
        }
    }

    func scene(_ health: String) throws -> (dir: String, policy: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-gate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "boot-1\n".write(toFile: dir + "/boot_id", atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: dir + "/flag", contents: Data())
        let policy = dir + "/policy.rcl"
        try """
            policy "t" {}
            detector "flag" file "\(dir)/flag"
            lock local { path "\(dir)/lock" }
            reboot command ["/bin/true"]
            \(health)
            """.write(toFile: policy, atomically: true, encoding: .utf8)
        return (dir, policy)
    }

    /// Waits until `condition` holds, polling.
    func eventually(_ what: String, within seconds: Int = 30, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<(seconds * 10) {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("\(what) did not happen within \(seconds) s")
    }

    @Test(.timeLimit(.minutes(2))) func aPrometheusThresholdBlocksAndAllowsAsTheValueMoves() async throws {
        let errors = Text("0.5")
        let exporter = try ScriptedHTTPServer { _ in .respond(status: 200, contentType: "text/plain; version=0.0.4", body: "rc_test_errors \(errors.value)\n") }
        defer { exporter.stop() }
        let (dir, _) = try scene("")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let prometheus = try await MonitoringServer.prometheus(scraping: exporter.port, job: "app", in: dir)
        defer { prometheus.stop() }
        let (_, policy) = try scene(#"health "errors" prometheus "\#(prometheus.url)" query "max(rc_test_errors{job=\"app\"})" { ok when value < 0.01  timeout 5s }"#)
        func seen(_ value: String) async throws -> Bool {
            httpGet(port: prometheus.port, "/api/v1/query?query=rc_test_errors")?.body.contains("\"\(value)\"") == true
        }
        try await eventually("Prometheus scraping 0.5") { try await seen("0.5") }
        let blocked = try await once(policy, dir)
        #expect(blocked.status == 3, "\(blocked.stdout)\(blocked.stderr)")
        #expect(blocked.stdout.contains("0.5 < 0.01 is false"), "\(blocked.stdout)")
        errors.value = "0.002"
        try await eventually("Prometheus scraping 0.002") { try await seen("0.002") }
        let allowed = try await once(policy, dir)
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        #expect(allowed.stdout.contains("reboot"), "\(allowed.stdout)")
        // A query that returns nothing is its own outcome: `value` cannot be read, and the reason says so.
        let (_, empty) = try scene(#"health "errors" prometheus "\#(prometheus.url)" query "rc_test_absent" { ok when value < 0.01 }"#)
        let none = try await once(empty, dir)
        #expect(none.status == 3)
        #expect(none.stdout.contains("the query returned no sample"), "\(none.stdout)")
    }

    @Test(.timeLimit(.minutes(2))) func anAlertBlocksUntilItIsSilencedAndAgainWhenTheSilenceEnds() async throws {
        let (dir, _) = try scene("")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let am = try await MonitoringServer.alertmanager(in: dir)
        defer { am.stop() }
        let (_, policy) = try scene(#"health "pages" alerts "\#(am.url)" { block_on {severity: "critical"} }"#)
        #expect(try await once(policy, dir).status == 0, "no alert yet")
        let now = Date()
        let iso = ISO8601DateFormatter()
        let (status, _) = try await am.post(
            "/api/v2/alerts",
            json: #"[{"labels": {"alertname": "ErrorsHigh", "severity": "critical"}, "startsAt": "\#(iso.string(from: now))", "endsAt": "\#(iso.string(from: now.addingTimeInterval(600)))"}, {"labels": {"alertname": "DiskLow", "severity": "warning"}}]"#)
        #expect(status == 200)
        func state() -> String { httpGet(port: am.port, "/api/v2/alerts?filter=alertname%3D%22ErrorsHigh%22")?.body ?? "" }
        try await eventually("the alert being active") { state().contains(#""state":"active""#) }
        let blocked = try await once(policy, dir)
        #expect(blocked.status == 3, "\(blocked.stdout)")
        #expect(blocked.stdout.contains(#"1 active alert matches {severity: "critical"}: "ErrorsHigh""#), "\(blocked.stdout)")
        // A silence of a few seconds: the gate opens, and closes again once the silence has expired.
        let (silenced, body) = try await am.post(
            "/api/v2/silences",
            json: #"{"matchers": [{"name": "alertname", "value": "ErrorsHigh", "isRegex": false}], "startsAt": "\#(iso.string(from: Date()))", "endsAt": "\#(iso.string(from: Date().addingTimeInterval(4)))", "createdBy": "test", "comment": "maintenance"}"#)
        #expect(silenced == 200, "\(body)")
        try await eventually("the alert being suppressed") { state().contains(#""state":"suppressed""#) }
        let allowed = try await once(policy, dir)
        #expect(allowed.status == 0, "\(allowed.stdout)")
        try await eventually("the silence expiring") { state().contains(#""state":"active""#) }
        let again = try await once(policy, dir)
        #expect(again.status == 3, "\(again.stdout)")
    }
}

/// A value the exporter reads while the test changes it.
final class Text: @unchecked Sendable {
    private let lock = NSLock()
    private var current: String

    init(_ value: String) { current = value }

    var value: String {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }
}
