// Foundation for JSONSerialization only: one object per pass.
import Foundation
#if canImport(Glibc)
import Glibc
#endif
var pass = 0
while true {
    pass &+= 1
    let data = try JSONSerialization.data(withJSONObject: ["pass": pass])
    print(String(decoding: data, as: UTF8.self))
    sleep(5)
}
