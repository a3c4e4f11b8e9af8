#if canImport(Glibc)
import Glibc
#endif

var pass = 0
while true {
    pass &+= 1
    print("pass \(pass)")
    sleep(5)
}
