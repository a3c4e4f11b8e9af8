import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Debian's Prometheus or Alertmanager on loopback, on a free port with a temporary configuration and data
/// directory, started and awaited without blocking a thread of the test pool; stopped by `stop()`.
public final class MonitoringServer: @unchecked Sendable {
    public let port: Int
    public var url: String { "http://127.0.0.1:\(port)" }
    let process = Process()

    private init(program: String, arguments: (Int) -> [String], log: String) async throws {
        port = try EtcdHarness.freePort()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments(port)
        process.standardOutput = FileHandle.nullDevice
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log) ?? FileHandle.nullDevice
        try process.run()
        for _ in 0..<300 {
            if httpGet(port: port, "/-/ready")?.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        stop()
        throw EtcdHarness.HarnessError(description: "\(program) did not become ready on port \(port); see \(log)")
    }

    /// Prometheus scraping `target` (host:port) every second as job `job`.
    public static func prometheus(scraping target: Int, job: String, in dir: String) async throws -> MonitoringServer {
        let config = dir + "/prometheus.yml"
        try """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: \(job)
                static_configs:
                  - targets: ["127.0.0.1:\(target)"]

            """.write(toFile: config, atomically: true, encoding: .utf8)
        return try await MonitoringServer(
            program: "/usr/bin/prometheus",
            arguments: { ["--config.file=\(config)", "--storage.tsdb.path=\(dir)/prometheus-data", "--web.listen-address=127.0.0.1:\($0)"] },
            log: dir + "/prometheus.log")
    }

    /// Alertmanager alone (no cluster), routing every alert to a receiver that sends nothing.
    public static func alertmanager(in dir: String) async throws -> MonitoringServer {
        let config = dir + "/alertmanager.yml"
        try "route:\n  receiver: none\nreceivers:\n  - name: none\n".write(toFile: config, atomically: true, encoding: .utf8)
        return try await MonitoringServer(
            program: "/usr/bin/prometheus-alertmanager",
            arguments: {
                ["--config.file=\(config)", "--storage.path=\(dir)/alertmanager-data", "--web.listen-address=127.0.0.1:\($0)", "--cluster.listen-address="]
            },
            log: dir + "/alertmanager.log")
    }

    /// A POST of JSON; the status and body.
    public func post(_ path: String, json: String) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url + path)!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(json.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
