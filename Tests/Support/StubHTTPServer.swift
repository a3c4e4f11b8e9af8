import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP server on 127.0.0.1 that answers every request with one fixed response (a member that cannot serve:
/// `503` with etcd's gateway error body, say), on a thread of its own until it is deallocated.
public final class StubHTTPServer: @unchecked Sendable {
    public let port: Int
    public var endpoint: String { "http://127.0.0.1:\(port)" }
    private let fd: Int32
    private let lock = NSLock()
    private var requests = 0
    private var closed = false

    /// How many requests it has answered.
    public var answered: Int { lock.withLock { requests } }

    /// Listens and answers `status` with `body` (JSON).
    public init(status: Int, reason: String, body: String) throws {
        guard let (fd, port) = loopbackListener(backlog: 16) else { throw EtcdHarness.HarnessError(description: "the stub server cannot listen") }
        self.fd = fd
        self.port = port
        let response = Array("HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
        let listener = fd
        let thread = Thread { [weak self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                // Read the request head (and whatever body came with it), then answer.
                var buffer = [UInt8](repeating: 0, count: 65536)
                var seen: [UInt8] = []
                while true {
                    let n = read(client, &buffer, buffer.count)
                    if n <= 0 { break }
                    seen += buffer.prefix(n)
                    if let text = String(bytes: seen, encoding: .utf8), let end = text.range(of: "\r\n\r\n") {
                        let head = text[..<end.lowerBound].lowercased()
                        let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }.flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                        if text.utf8.count - text.utf8.distance(from: text.startIndex, to: end.upperBound) >= length { break }
                    }
                }
                _ = response.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                close(client)
                guard let self else { return }
                self.lock.withLock { self.requests += 1 }
            }
        }
        thread.start()
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
