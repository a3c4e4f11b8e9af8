import Executors
import Foundation
import PolicyLang
import Testing

/// `rc import`: golden conversions (`*.yaml` → `*.rcl` or `*.diagnostics.txt`), regenerated with `RC_UPDATE_GOLDEN=1`.
@Suite struct ImporterTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let cases = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()

    private func load(_ name: String) throws -> SourceFile {
        let url = Self.directory.appendingPathComponent(name)
        return SourceFile(path: "Tests/ExecutorsTests/Golden/\(name)", bytes: Array(try Data(contentsOf: url)))
    }

    @Test(arguments: cases)
    func golden(_ name: String) throws {
        let source = try load(name)
        let output = ClusterRebootdImporter.convert(source)
        var actual: String
        let expectedURL: URL
        if let policy = output.policy {
            let checked = Checker.check(SourceFile(path: "imported.rcl", text: policy))
            #expect(!checked.hasErrors, "imported policy does not check: \(checked.diagnostics.map(\.message))")
            actual = Formatter.format(checked.tree)
            expectedURL = Self.directory.appendingPathComponent(name.replacingOccurrences(of: ".yaml", with: ".rcl"))
            #expect(name.hasPrefix("RC4") == false, "\(name) should fail to import")
        } else {
            actual = DiagnosticRenderer().text([FileDiagnostics(file: source, diagnostics: output.diagnostics)]) + "\n"
            expectedURL = Self.directory.appendingPathComponent(name.replacingOccurrences(of: ".yaml", with: ".diagnostics.txt"))
            #expect(name.hasPrefix(String(output.diagnostics.first?.code.rawValue ?? "none")), "\(name) gives \(output.diagnostics.map(\.code))")
        }
        if ProcessInfo.processInfo.environment["RC_UPDATE_GOLDEN"] == "1" {
            try actual.write(to: expectedURL, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(actual == expected)
    }

    @Test func fullConfigurationKeepsEveryField() throws {
        let output = ClusterRebootdImporter.convert(try load("full-config.yaml"))
        let policy = try #require(output.policy)
        let checked = try #require(Checker.check(SourceFile(path: "i.rcl", text: policy)).policy)
        #expect(checked.name == "node-a")
        #expect(checked.dryRun == false)
        #expect(checked.detectors.map(\.name) == ["debian-reboot-required", "rpm-needs-restarting", "command:/usr/local/bin/check-reboot"])
        #expect(checked.health.first?.timeout == 45_000)
        #expect(checked.cluster.checkInterval == 300_000)
        #expect(checked.cluster.backoffMin == 5_000 && checked.cluster.backoffMax == 60_000)
        #expect(checked.cluster.cooldown == 900_000)
        #expect(checked.cluster.publishInterval == 20_000)
        #expect(checked.cluster.fallbackNodes == ["control-plane-a", "control-plane-b"])
        #expect(checked.killSwitches == [.file(path: "/etc/reboot-coordinator/disable")])
        guard case .etcd(let etcd) = checked.lock else {
            Issue.record("expected an etcd lock")
            return
        }
        #expect(etcd.endpoints == ["https://10.0.0.10:2379", "https://10.0.0.11:2379"])
        #expect(etcd.prefix == "/prod/reboot-coordinator" && etcd.group == "lock" && etcd.ttl == 120_000)
        #expect(etcd.tls == TLSSpec(caFile: "/etc/ssl/etcd/ca.crt", certFile: "/etc/ssl/etcd/node.crt", keyFile: "/etc/ssl/etcd/node.key", insecureSkipVerify: false, serverName: nil))
        #expect(checked.rebootCommand.map(\.value) == ["/sbin/shutdown", "-r", "now", "coordinated reboot for ${node.name}"])
        #expect(checked.rules.map(\.name) == ["no unhealthy node", "min healthy fraction", "min healthy absolute", "only fallback nodes left"])
        #expect(checked.windows.map(\.name) == ["deny-1", "deny-2", "allow-1", "allow-2"])
        #expect(checked.windows.allSatisfy { $0.timeZone == "UTC" })
        // "Fri 18:00-Mon 08:00" is one span over the week end; "Tue-Thu 22:00-04:00" three spans across midnight.
        #expect(checked.windows[0].intervals == [WeeklyInterval(start: 4 * 1440 + 1080, end: 7 * 1440 + 480)])
        #expect(checked.windows[2].intervals.count == 3)
        // rc run serves metrics where clusterrebootd did, and the health script is told where (RC_METRICS_ENDPOINT).
        #expect(checked.metrics?.enabled == true && checked.metrics?.listen == "0.0.0.0:9090")
        #expect(checked.health.first?.environment["RC_METRICS_ENDPOINT"] == "0.0.0.0:9090")
        // rc and clusterrebootd exclude each other on clusterrebootd's mutex while both run (its applyNamespace).
        #expect(etcd.legacyMutex == "/prod/reboot-coordinator/prod/reboot-coordinator/lock")
    }

    @Test func noEndpointsGivesALocalLock() throws {
        let policy = try #require(ClusterRebootdImporter.convert(try load("minimal-local.yaml")).policy)
        let checked = try #require(Checker.check(SourceFile(path: "i.rcl", text: policy)).policy)
        guard case .local = checked.lock else {
            Issue.record("expected a local lock")
            return
        }
    }

    @Test func errorsAreLocatedAtTheirLine() throws {
        let source = try load("RC4002-unknown-field.yaml")
        let output = ClusterRebootdImporter.convert(source)
        #expect(output.policy == nil)
        let d = try #require(output.diagnostics.first)
        #expect(source.location(of: d.span.start) == SourceLocation(line: 5, column: 1))
        #expect(d.help == "did you mean `lock_ttl_sec`?")
    }
}
