// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "rc",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rc", targets: ["rc"]),
        .library(name: "PolicyLang", targets: ["PolicyLang"]),
        .library(name: "Evaluator", targets: ["Evaluator"]),
        .library(name: "Executors", targets: ["Executors"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CPCRE2",
            path: "Sources/CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .target(name: "PolicyLang", dependencies: ["CPCRE2"]),
        .target(name: "Evaluator", dependencies: ["PolicyLang"]),
        .target(
            name: "Executors",
            dependencies: [
                "PolicyLang", "Evaluator", .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "rc",
            dependencies: [
                "PolicyLang", "Evaluator", "Executors",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/CLI"
        ),
        .executableTarget(
            name: "rc-bench-decide",
            dependencies: ["PolicyLang", "Evaluator"],
            path: "Benchmarks/Decide"
        ),
        .executableTarget(
            name: "rc-bench",
            dependencies: ["PolicyLang", "Evaluator", "Executors", "RCTestSupport", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/RCBench"
        ),
        .testTarget(
            name: "PolicyLangTests",
            dependencies: ["PolicyLang", "RCTestSupport", .product(name: "PropertyBased", package: "swift-property-based")],
            exclude: ["Golden"]
        ),
        .testTarget(name: "EvaluatorTests", dependencies: ["Evaluator", "RCTestSupport"], exclude: ["Lint"]),
        .target(name: "RCTestSupport", path: "Tests/Support"),
        .testTarget(name: "ExecutorsTests", dependencies: ["Executors", "PolicyLang", "RCTestSupport"], exclude: ["Golden"]),
        .testTarget(name: "CLITests", dependencies: ["rc", "PolicyLang", "Executors", "RCTestSupport"], exclude: ["Explain"]),
    ]
)
