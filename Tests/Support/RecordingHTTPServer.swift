import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP server on 127.0.0.1 that records every request (head and body) and answers 200, or, with `hang`, reads
/// the request and never answers: a webhook receiver that works, or one that hangs.
public final class RecordingHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var head: String
        public var body: String
    }

    public let port: Int
    public var url: String { "http://127.0.0.1:\(port)/hook" }
    private let fd: Int32
    private let lock = NSLock()
    private var recorded: [Request] = []
    private var held: [Int32] = []

    /// The requests so far, in the order they arrived.
    public var requests: [Request] { lock.withLock { recorded } }

    public init(hang: Bool = false) throws {
        guard let (fd, port) = loopbackListener() else { throw EtcdHarness.HarnessError(description: "the recording server cannot listen") }
        self.fd = fd
        self.port = port
        let listener = fd
        Thread { [weak self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                guard let self else {
                    close(client)
                    return
                }
                Thread { self.serve(client, hang: hang) }.start()
            }
        }.start()
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        for client in held { close(client) }
    }

    /// Requests on one connection (keep-alive), each recorded and answered 200 unless hanging.
    private func serve(_ client: Int32, hang: Bool) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var pending: [UInt8] = []
        while true {
            guard let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) else {
                let n = read(client, &buffer, buffer.count)
                if n <= 0 { break }
                pending += buffer.prefix(n)
                continue
            }
            let head = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
            let length =
                head.lowercased().split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
            while pending.count - end.upperBound < length {
                let n = read(client, &buffer, buffer.count)
                if n <= 0 { break }
                pending += buffer.prefix(n)
            }
            let stop = min(pending.count, end.upperBound + length)
            let body = String(decoding: pending[end.upperBound..<stop], as: UTF8.self)
            pending = Array(pending[stop...])
            lock.withLock { recorded.append(Request(head: head, body: body)) }
            if hang {
                // Keep the connection open and never answer.
                lock.withLock { held.append(client) }
                return
            }
            let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)
            _ = response.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
        }
        close(client)
    }
}
