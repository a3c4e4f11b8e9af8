import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real etcd (Debian's `etcd-server`) on 127.0.0.1 with free ports and a temporary data directory, stopped and
/// removed afterwards.
public final class EtcdHarness: @unchecked Sendable {
    public let directory: String
    public let clientPort: Int
    public let peerPort: Int
    private var process: Process?
    public var endpoint: String { "\(scheme)://127.0.0.1:\(clientPort)" }
    public private(set) var scheme = "http"
    private var extraArguments: [String] = []

    /// Starts etcd and waits until it answers `/health`.
    public init(extraArguments: [String] = [], scheme: String = "http") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rc-etcd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        clientPort = try EtcdHarness.freePort()
        peerPort = try EtcdHarness.freePort()
        try start(extraArguments: extraArguments, scheme: scheme)
    }

    /// Starts (or restarts, on the same ports and data) etcd.
    public func start(extraArguments: [String]? = nil, scheme: String? = nil) throws {
        if let extraArguments { self.extraArguments = extraArguments }
        if let scheme { self.scheme = scheme }
        let extraArguments = self.extraArguments
        let scheme = self.scheme
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/etcd")
        p.arguments = [
            "--name", "rc-test", "--data-dir", directory + "/data",
            "--listen-client-urls", "\(scheme)://127.0.0.1:\(clientPort)", "--advertise-client-urls", "\(scheme)://127.0.0.1:\(clientPort)",
            "--listen-peer-urls", "http://127.0.0.1:\(peerPort)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)",
            "--initial-cluster", "rc-test=http://127.0.0.1:\(peerPort)", "--log-level", "error", "--logger", "zap",
        ] + extraArguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if EtcdHarness.portAnswers(clientPort) { return }
            if !p.isRunning { break }
            usleep(50_000)
        }
        throw HarnessError(description: "etcd did not start on port \(clientPort)")
    }

    public struct HarnessError: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Stops etcd (SIGTERM, then SIGKILL) without removing its data.
    public func stop() {
        guard let p = process, p.isRunning else { return }
        p.terminate()
        for _ in 0..<100 where p.isRunning { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// Stops etcd in its tracks (SIGSTOP): it answers nothing and its leases' time goes on.
    public func pause() {
        if let p = process, p.isRunning { kill(p.processIdentifier, SIGSTOP) }
    }

    /// Lets a paused etcd go on (SIGCONT).
    public func resume() {
        if let p = process, p.isRunning { kill(p.processIdentifier, SIGCONT) }
    }

    /// Stops etcd and removes its data: the next `start` is a new, empty cluster.
    public func wipe() {
        stop()
        try? FileManager.default.removeItem(atPath: directory + "/data")
    }

    deinit {
        resume()
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HarnessError(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public static func portAnswers(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
