// swift-tools-version: 6.1
// The smallest programs on rc's stack, for the idle-memory floor in docs/performance.md (`make floor`). Each runs
// one pass every 5 s until killed. Not part of rc: a package of its own so that `make test` does not build it.
import PackageDescription

let package = Package(
    name: "floor",
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // The standard library only: print, sleep.
        .executableTarget(name: "floor-stdlib"),
        // FoundationEssentials only: JSONEncoder, Date, a file check.
        .executableTarget(name: "floor-essentials"),
        // Foundation for a named time zone only (ICU's time zone rules).
        .executableTarget(name: "floor-timezone"),
        // Foundation for JSONSerialization only.
        .executableTarget(name: "floor-jsonserialization"),
        // Foundation: a time zone, JSON, a file check.
        .executableTarget(name: "floor-foundation"),
        // AsyncHTTPClient (FoundationEssentials only): one POST to etcd's JSON gateway per pass.
        .executableTarget(
            name: "floor-http",
            dependencies: [.product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Logging", package: "swift-log")]),
        // Both: the POST, with the body made and read by Foundation's JSONSerialization, and a time zone.
        .executableTarget(
            name: "floor-http-foundation",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
    ]
)
