import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP proxy on 127.0.0.1 in front of one upstream (a real etcd's gateway) that holds chosen requests back
/// before it forwards them: an etcd that answers one kind of request slowly. One request per connection (it asks the
/// upstream to close, which etcd's answer passes on to the client), each on a thread of its own.
public final class DelayingProxy: @unchecked Sendable {
    public let port: Int
    public var endpoint: String { "http://127.0.0.1:\(port)" }
    private let fd: Int32
    private let lock = NSLock()
    private var held = 0

    /// How many requests it held back.
    public var delayed: Int { lock.withLock { held } }

    /// Listens and forwards to `127.0.0.1:upstreamPort`; `delay(path, body)` says how many milliseconds to hold a
    /// request back (0: none).
    public init(upstreamPort: Int, delay: @escaping @Sendable (String, String) -> Int) throws {
        guard let (fd, port) = loopbackListener() else { throw EtcdHarness.HarnessError(description: "the proxy cannot listen") }
        self.fd = fd
        self.port = port
        let listener = fd
        let thread = Thread { [weak self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                guard let proxy = self else {
                    close(client)
                    return
                }
                Thread { proxy.serve(client, upstreamPort: upstreamPort, delay: delay) }.start()
            }
        }
        thread.start()
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    /// One request: read it whole, hold it back, forward it with `Connection: close`, pass the answer on.
    private func serve(_ client: Int32, upstreamPort: Int, delay: @Sendable (String, String) -> Int) {
        defer { close(client) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var request: [UInt8] = []
        var head = ""
        var body = ""
        while true {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { return }
            request += buffer.prefix(n)
            guard let end = request.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
            head = String(decoding: request[..<end.lowerBound], as: UTF8.self)
            let length =
                head.lowercased().split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
            if request.count - end.upperBound >= length {
                body = String(decoding: request[end.upperBound...], as: UTF8.self)
                break
            }
        }
        let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        let wait = delay(path, body)
        if wait > 0 {
            lock.withLock { held += 1 }
            usleep(useconds_t(wait) * 1000)
        }
        // The head without its own Connection header, asking the upstream to close after answering.
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).filter { !$0.lowercased().hasPrefix("connection:") }
        lines.append("Connection: close")
        let forward = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + Array(body.utf8)
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(upstream) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(upstreamPort).bigEndian)
        let connected = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected, forward.withUnsafeBytes({ write(upstream, $0.baseAddress, $0.count) }) == forward.count else { return }
        while true {
            let n = read(upstream, &buffer, buffer.count)
            if n <= 0 { return }
            guard buffer.withUnsafeBytes({ write(client, $0.baseAddress, n) }) == n else { return }
        }
    }
}
