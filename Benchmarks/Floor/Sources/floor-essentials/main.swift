// FoundationEssentials only: a JSONEncoder, the date and a file check per pass.
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
struct P: Codable { var pass: Int; var at: Date }
var pass = 0
while true {
    pass &+= 1
    let data = try JSONEncoder().encode(P(pass: pass, at: Date()))
    print(String(decoding: data, as: UTF8.self), FileManager.default.fileExists(atPath: "/var/run/reboot-required"))
    sleep(5)
}
