import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

// As floor-http, with the request made and the answer read by JSONSerialization, and a time zone.
let client = HTTPClient(eventLoopGroupProvider: .singleton)
let logger = Logger(label: "floor")
let zone = TimeZone(identifier: "Europe/Berlin")!
var pass = 0
while true {
    pass &+= 1
    var request = HTTPClientRequest(url: CommandLine.arguments[1] + "/v3/kv/range")
    request.method = .POST
    let offset = zone.secondsFromGMT(for: Date())
    request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["key": "YQ==", "serializable": offset > 0])))
    do {
        let response = try await client.execute(request, timeout: .seconds(2))
        let body = try await response.body.collect(upTo: 1 << 20)
        let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        logger.info("pass \(pass): \(response.status.code), \(json?.count ?? 0) fields")
    } catch {
        logger.info("pass \(pass): \(error)")
    }
    try await Task.sleep(for: .seconds(5))
}
