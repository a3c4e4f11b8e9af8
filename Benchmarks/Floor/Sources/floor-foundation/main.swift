import Foundation

let zone = TimeZone(identifier: "Europe/Berlin")!
var pass = 0
while true {
    pass &+= 1
    let data = try JSONSerialization.data(withJSONObject: ["pass": pass, "offset": zone.secondsFromGMT(for: Date())])
    print(String(decoding: data, as: UTF8.self), FileManager.default.fileExists(atPath: "/var/run/reboot-required"))
    Thread.sleep(forTimeInterval: 5)
}
