import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import PolicyLang

/// How the daemon's loop is doing, for `/healthz` and `/readyz`: a pass that runs longer than `stuckAfter`, or no
/// pass beginning for that long, is stuck.
public final class LoopProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var passStarted: Int64?
    private var lastProgress: Int64
    private var passes = 0
    /// Milliseconds.
    public let stuckAfter: Int64

    /// Progress measured from now.
    public init(stuckAfter: Int64) {
        self.stuckAfter = stuckAfter
        lastProgress = monotonicMilliseconds()
    }

    public func passBegins() { lock.withLock { (passStarted, lastProgress) = (monotonicMilliseconds(), monotonicMilliseconds()) } }

    public func passEnds() {
        lock.withLock {
            passStarted = nil
            lastProgress = monotonicMilliseconds()
            passes += 1
        }
    }

    /// Nil while the loop makes progress, else why it is stuck.
    public var stuck: String? {
        lock.withLock {
            let now = monotonicMilliseconds()
            if let passStarted, now - passStarted > stuckAfter { return "a pass has been running for \(formatDuration(milliseconds: (now - passStarted) / 1000 * 1000))" }
            if passStarted == nil, now - lastProgress > stuckAfter { return "no pass for \(formatDuration(milliseconds: (now - lastProgress) / 1000 * 1000))" }
            return nil
        }
    }

    /// Whether a pass has ended since the daemon started.
    public var ready: Bool { lock.withLock { passes > 0 } }
}

/// The daemon's HTTP endpoint (`metrics { listen }` or `--metrics-listen`): `/metrics` (Prometheus text), `/healthz`
/// (200 while the loop makes progress, 503 when a pass is stuck), `/readyz` (200 once a pass has ended).
public final class OpsServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    /// The address it listens on (with the port the system chose for port 0).
    public let address: String

    /// Why the server cannot start: the address as given and what the system said.
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Listens on `listen` (`host:port`).
    public init(listen: String, metrics: RCMetrics, progress: LoopProgress) throws(StartError) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw StartError(description: "invalid listen address \(listen): expected host:port")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(OpsHandler(metrics: metrics, progress: progress))
                }
            }
        do {
            channel = try bootstrap.bind(host: host.isEmpty ? "0.0.0.0" : host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw StartError(description: "cannot listen on \(listen) for metrics: \(error)")
        }
        self.group = group
        address = channel.localAddress.map { "\(host):\($0.port ?? port)" } ?? listen
    }

    /// Stops listening.
    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

final class OpsHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let metrics: RCMetrics
    let progress: LoopProgress
    private var path = ""
    private var method = HTTPMethod.GET

    init(metrics: RCMetrics, progress: LoopProgress) {
        self.metrics = metrics
        self.progress = progress
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            (path, method) = (String(head.uri.split(separator: "?", maxSplits: 1).first ?? ""), head.method)
        case .body:
            break
        case .end:
            let (status, type, body): (HTTPResponseStatus, String, [UInt8])
            switch (method, path) {
            case (.GET, "/metrics"):
                (status, type, body) = (.ok, "text/plain; version=0.0.4; charset=utf-8", metrics.exposition())
            case (.GET, "/healthz"):
                if let stuck = progress.stuck { (status, type, body) = (.serviceUnavailable, "text/plain", Array("stuck: \(stuck)\n".utf8)) } else {
                    (status, type, body) = (.ok, "text/plain", Array("ok\n".utf8))
                }
            case (.GET, "/readyz"):
                (status, type, body) = progress.ready ? (.ok, "text/plain", Array("ready\n".utf8)) : (.serviceUnavailable, "text/plain", Array("no pass has ended yet\n".utf8))
            case (_, "/metrics"), (_, "/healthz"), (_, "/readyz"):
                (status, type, body) = (.methodNotAllowed, "text/plain", Array("only GET\n".utf8))
            default:
                (status, type, body) = (.notFound, "text/plain", Array("not found: try /metrics, /healthz or /readyz\n".utf8))
            }
            var headers = HTTPHeaders([("Content-Type", type), ("Content-Length", String(body.count))])
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        }
    }
}
