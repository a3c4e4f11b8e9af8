import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP server on 127.0.0.1 whose answer to each request a test decides, and may change while it runs: an
/// endpoint that serves JSON, an exporter whose value moves, or one that misbehaves (redirects in a cycle, sends an
/// endless body, never answers). Serves on a thread of its own until `stop()`.
public final class ScriptedHTTPServer: @unchecked Sendable {
    /// What the server does with one request.
    public enum Answer: Sendable {
        case respond(status: Int, contentType: String, body: String)
        /// `302` to this path of the same server.
        case redirect(to: String)
        /// A `200` whose body is this many bytes of `x`, streamed.
        case endless(bytes: Int)
        /// Reads the request and never answers.
        case hang
    }

    public let port: Int
    public var url: String { "http://127.0.0.1:\(port)" }
    private let fd: Int32
    private let lock = NSLock()
    private var answer: @Sendable (String) -> Answer
    private var held: [Int32] = []
    private var paths: [String] = []
    private var stopped = false

    /// The request paths so far (with their queries), in order.
    public var requested: [String] { lock.withLock { paths } }

    /// Listens; `answer` decides each request by its path.
    public init(_ answer: @escaping @Sendable (String) -> Answer) throws {
        guard let (fd, port) = loopbackListener() else { throw EtcdHarness.HarnessError(description: "the scripted server cannot listen") }
        self.fd = fd
        self.port = port
        self.answer = answer
        let listener = fd
        Thread { [weak self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                guard let self else { return }
                Thread { self.serve(client) }.start()
            }
        }.start()
    }

    /// Answers from now on with `answer`.
    public func answer(_ answer: @escaping @Sendable (String) -> Answer) {
        lock.withLock { self.answer = answer }
    }

    private func serve(_ client: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16384)
        var seen: [UInt8] = []
        while !String(decoding: seen, as: UTF8.self).contains("\r\n\r\n") {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 {
                close(client)
                return
            }
            seen += buffer.prefix(n)
        }
        let head = String(decoding: seen, as: UTF8.self)
        let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
        let decide = lock.withLock { () -> (String) -> Answer in
            paths.append(path)
            return answer
        }
        func send(_ text: String) -> Bool {
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBytes { write(client, $0.baseAddress, $0.count) } == bytes.count
        }
        switch decide(path) {
        case .respond(let status, let type, let body):
            _ = send("HTTP/1.1 \(status) X\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        case .redirect(let to):
            _ = send("HTTP/1.1 302 Found\r\nLocation: \(url)\(to)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        case .endless(let bytes):
            guard send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(bytes)\r\nConnection: close\r\n\r\n") else { break }
            let chunk = String(repeating: "x", count: 65536)
            var sent = 0
            while sent < bytes, send(chunk) { sent += chunk.utf8.count }
        case .hang:
            lock.withLock { held.append(client) }
            return
        }
        close(client)
    }

    /// Stops listening and closes the connections it holds.
    public func stop() {
        guard lock.withLock({ () -> Bool in
            defer { stopped = true }
            return !stopped
        }) else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        for client in lock.withLock({ held }) { close(client) }
    }

    deinit { stop() }
}
