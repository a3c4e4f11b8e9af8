import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A cluster of real etcd members (Debian's `etcd-server`) on 127.0.0.1, each with free ports and its own temporary
/// data directory: one member can be killed (SIGKILL) and started again on the same ports and data, the current
/// leader found and killed. Every member is stopped and the data removed on deinit.
public final class EtcdCluster: @unchecked Sendable {
    public struct Member: Sendable {
        public let name: String
        public let clientPort: Int
        public let peerPort: Int
        public let dataDirectory: String
        public var endpoint: String { "http://127.0.0.1:\(clientPort)" }
    }

    public let directory: String
    public let members: [Member]
    private var processes: [Process?]
    private let token: String

    /// The client URLs of every member, in member order.
    public var endpoints: [String] { members.map(\.endpoint) }

    /// Starts `size` members and waits until they answer and have elected a leader.
    public init(size: Int = 3, timeout: Double = 30) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rc-etcd-cluster-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        token = "rc-test-" + UUID().uuidString
        var members: [Member] = []
        var taken: Set<Int> = []
        for i in 0..<size {
            var ports: [Int] = []
            while ports.count < 2 {
                let port = try EtcdHarness.freePort()
                if taken.insert(port).inserted { ports.append(port) }
            }
            members.append(Member(name: "m\(i)", clientPort: ports[0], peerPort: ports[1], dataDirectory: directory + "/m\(i)"))
        }
        self.members = members
        processes = Array(repeating: nil, count: size)
        for i in 0..<size { try launch(i) }
        guard waitUntilReady(timeout: timeout) else {
            stopAll()
            throw EtcdHarness.HarnessError(description: "the etcd cluster on \(endpoints) did not elect a leader in \(Int(timeout)) s")
        }
    }

    private func launch(_ index: Int) throws {
        let m = members[index]
        let cluster = members.map { "\($0.name)=http://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/etcd")
        // The initial-cluster settings only matter on the first start: a restart on the same data dir rejoins.
        p.arguments = [
            "--name", m.name, "--data-dir", m.dataDirectory,
            "--listen-client-urls", m.endpoint, "--advertise-client-urls", m.endpoint,
            "--listen-peer-urls", "http://127.0.0.1:\(m.peerPort)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(m.peerPort)",
            "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", token,
            "--log-level", "error", "--logger", "zap",
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        processes[index] = p
    }

    /// Whether member `index` runs.
    public func isRunning(_ index: Int) -> Bool { processes[index]?.isRunning ?? false }

    /// The member indexes that run.
    public var running: [Int] { members.indices.filter(isRunning) }

    /// Kills member `index` with SIGKILL (its data stays).
    public func kill9(_ index: Int) {
        guard let p = processes[index] else { return }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        processes[index] = nil
    }

    /// Starts member `index` again on its ports and data, and waits until its client port answers.
    public func restart(_ index: Int, timeout: Double = 20) throws {
        if isRunning(index) { return }
        try launch(index)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if EtcdHarness.portAnswers(members[index].clientPort) { return }
            if !(processes[index]?.isRunning ?? false) { break }
            usleep(50_000)
        }
        throw EtcdHarness.HarnessError(description: "etcd member \(members[index].name) did not start again on port \(members[index].clientPort)")
    }

    /// What one member says of itself: its id and the leader it knows (`/v3/maintenance/status`).
    public struct Status: Sendable, Equatable {
        public var memberID: String
        public var leader: String
    }

    /// The status of member `index`, or `nil` when it does not answer within `timeout` seconds.
    public func status(_ index: Int, timeout: Double = 1) -> Status? {
        guard isRunning(index),
            let body = EtcdCluster.post(port: members[index].clientPort, path: "/v3/maintenance/status", body: "{}", timeout: timeout),
            let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any],
            let header = json["header"] as? [String: Any], let id = header["member_id"] as? String,
            let leader = json["leader"] as? String, leader != "0"
        else { return nil }
        return Status(memberID: id, leader: leader)
    }

    /// The index of the member that the running members agree is the leader, if any.
    public func leader() -> Int? {
        var ids: [String: Int] = [:]
        var leaders: Set<String> = []
        for i in running {
            guard let s = status(i) else { continue }
            ids[s.memberID] = i
            leaders.insert(s.leader)
        }
        guard leaders.count == 1, let leader = leaders.first else { return nil }
        return ids[leader]
    }

    /// Finds the leader (waiting up to `timeout` seconds for one) and kills it with SIGKILL; returns its index.
    @discardableResult
    public func killLeader(timeout: Double = 10) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let index = leader() {
                kill9(index)
                return index
            }
            usleep(100_000)
        }
        return nil
    }

    /// Waits until every running member answers and they agree on a leader.
    @discardableResult
    public func waitUntilReady(timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let up = running
            if !up.isEmpty, up.allSatisfy({ status($0) != nil }), leader() != nil { return true }
            usleep(100_000)
        }
        return false
    }

    /// Stops every member (SIGKILL: the data is thrown away anyway).
    public func stopAll() {
        for i in processes.indices { kill9(i) }
    }

    deinit {
        stopAll()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A bare HTTP/1.1 POST to 127.0.0.1:`port` with a deadline; the response body, or `nil` on any failure.
    static func post(port: Int, path: String, body: String, timeout: Double) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return nil }
        let request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return nil }
            sent += n
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 200"), let split = text.range(of: "\r\n\r\n") else { return nil }
        let rest = String(text[split.upperBound...])
        // The gateway may answer chunked: the JSON object is between the first `{` and the last `}`.
        guard let open = rest.firstIndex(of: "{"), let close = rest.lastIndex(of: "}") else { return nil }
        return String(rest[open...close])
    }
}
