// Foundation for a named time zone only: its offset now, per pass.
import Foundation
#if canImport(Glibc)
import Glibc
#endif
let zone = TimeZone(identifier: "Europe/Berlin")!
var pass = 0
while true {
    pass &+= 1
    print(pass, zone.secondsFromGMT(for: Date()))
    sleep(5)
}
