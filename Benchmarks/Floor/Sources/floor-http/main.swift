import AsyncHTTPClient
import Logging

// POSTs a range request for the key "a" to the etcd JSON gateway at the first argument.
let client = HTTPClient(eventLoopGroupProvider: .singleton)
let logger = Logger(label: "floor")
var pass = 0
while true {
    pass &+= 1
    var request = HTTPClientRequest(url: CommandLine.arguments[1] + "/v3/kv/range")
    request.method = .POST
    request.body = .bytes(Array(#"{"key":"YQ=="}"#.utf8))
    do {
        let response = try await client.execute(request, timeout: .seconds(2))
        let body = try await response.body.collect(upTo: 1 << 20)
        logger.info("pass \(pass): \(response.status.code), \(body.readableBytes) bytes")
    } catch {
        logger.info("pass \(pass): \(error)")
    }
    try await Task.sleep(for: .seconds(5))
}
