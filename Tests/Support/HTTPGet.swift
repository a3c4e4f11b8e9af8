import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain HTTP/1.1 GET to 127.0.0.1 (the daemon's metrics endpoint, Prometheus's API): the status and the body, or
/// nil when nothing answers.
public func httpGet(port: Int, _ path: String) -> (status: Int, body: String)? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    let connected = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    guard connected else { return nil }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else { return nil }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        response += buffer.prefix(n)
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let end = text.range(of: "\r\n\r\n"), let status = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
    var body = String(text[end.upperBound...])
    if text[..<end.lowerBound].lowercased().contains("transfer-encoding: chunked") { body = dechunk(body) }
    return (status, body)
}

/// The body of a chunked response.
func dechunk(_ body: String) -> String {
    var rest = Substring(body)
    var out = ""
    while let line = rest.range(of: "\r\n") {
        guard let size = Int(rest[..<line.lowerBound].trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
        let start = line.upperBound
        let utf8 = rest.utf8
        guard let stop = utf8.index(start, offsetBy: size, limitedBy: utf8.endIndex) else { break }
        out += String(rest[start..<stop])
        rest = rest[stop...].dropFirst(2)
    }
    return out
}
