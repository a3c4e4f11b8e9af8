import ArgumentParser
import Evaluator
import Executors
import Foundation
import Logging
import PolicyLang

/// `rc lock status|release`: the reboot lock of a policy.
struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Show or free the reboot lock of a policy.",
        subcommands: [LockStatusCommand.self, LockReleaseCommand.self]
    )
}

/// `rc lock status`
struct LockStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List the holders of the lock with their age and lease time left.",
        discussion: "Exit status: 0, 4 when the lock cannot be read (etcd unreachable), 2 for an invalid policy."
    )

    @OptionGroup var node: NodeOptions

    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    typealias Row = (node: String, pid: Int32, since: String, phase: String, ttl: Int64?)
    struct Holders {
        var slots: Int
        var location: String
        var rows: [Row]
    }

    static func holders(_ backends: Backends, _ policy: PreparedPolicy, node: String) async throws(LockUnavailable) -> Holders {
        if let etcd = backends.lock as? EtcdLock, case .etcd(let spec) = policy.policy.lock {
            var rows: [Row] = []
            for (info, kv) in try await etcd.holders().holders {
                let ttl: Int64? = kv.lease == 0 ? nil : try? await etcd.client.timeToLive(kv.lease)
                rows.append((info.node, info.pid, info.acquiredAt, info.phase, ttl))
            }
            return Holders(slots: spec.slots, location: "etcd \(spec.prefix)/locks/\(spec.group)", rows: rows)
        }
        let rows: [Row] = (try await backends.lock.status(node: node).holders ?? []).map {
            ($0.node, Int32($0.pid ?? 0), $0.since?.description ?? "", "", nil)
        }
        return Holders(slots: 1, location: "local \((backends.lock as? LocalLock)?.path ?? "")", rows: rows)
    }

    func run() async throws {
        let policy = try node.load()
        var logger = node.logger()
        logger.logLevel = .warning
        let backends = try node.backends(for: policy, logger: logger)
        let now = SystemClock().now()
        let read: Result<Holders, LockUnavailable>
        do {
            read = .success(try await Self.holders(backends, policy, node: node.node))
        } catch {
            read = .failure(error)
        }
        await backends.shutdown()
        guard case .success(let found) = read else {
            if case .failure(let error) = read { printError("error: \(error.description)") }
            throw ExitCode(BlockReason.lock.exitCode)
        }
        let (slots, location, rows) = (found.slots, found.location, found.rows)
        func age(_ since: String) -> String {
            guard case .success(let i) = Instant.parse(since) else { return "?" }
            return formatDuration(milliseconds: max(0, (now.epochMilliseconds - i.epochMilliseconds) / 1000 * 1000))
        }
        switch format {
        case .text:
            print("lock \(location): \(rows.count) of \(slots) slot\(slots == 1 ? "" : "s") held")
            for r in rows {
                var line = "  \(r.node)  pid \(r.pid)  since \(r.since) (\(age(r.since)) ago)"
                if !r.phase.isEmpty { line += "  \(r.phase)" }
                if let ttl = r.ttl { line += ttl >= 0 ? "  lease \(ttl)s left" : "  lease expired" }
                print(line)
            }
        case .json:
            let json = JSON.object([
                ("lock", .string(location)), ("slots", .int(Int64(slots))),
                (
                    "holders",
                    .array(
                        rows.map { r in
                            .object([
                                ("node", .string(r.node)), ("pid", .int(Int64(r.pid))), ("since", .string(r.since)), ("age", .string(age(r.since))),
                                ("phase", .string(r.phase)), ("lease_ttl_seconds", r.ttl.map { .int($0) } ?? .null),
                            ])
                        })
                ),
            ])
            print(json.serialized(indent: 2))
        }
    }
}

/// `rc lock release`
struct LockReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Free the lock slot of a node (a stuck slot).",
        discussion: """
            Deletes the node's holder key and slot key and revokes their lease (etcd). A local lock is an flock that the kernel frees \
            when its holder exits, so it cannot be taken away; the command says which process holds it. \
            Exit status: 0, 1 nothing to release, 4 when etcd cannot be reached.
            """
    )

    @OptionGroup var options: NodeOptions

    @Option(name: .customLong("node"), help: "The node whose slot to free.")
    var holder: String

    static func release(_ etcd: EtcdLock, _ node: String) async throws(LockUnavailable) -> Bool {
        guard try await etcd.holders().holders.contains(where: { $0.0.node == node }) else { return false }
        try await etcd.release(node: node)
        return true
    }

    func run() async throws {
        let policy = try options.load()
        let logger = options.logger()
        let backends = try options.backends(for: policy, logger: logger)
        guard let etcd = backends.lock as? EtcdLock else {
            let holders = (try? await backends.lock.status(node: holder).holders) ?? []
            await backends.shutdown()
            if let h = holders.first {
                printError("error: the local lock is held by \(h.node) (pid \(h.pid ?? 0)); it is freed when that process exits")
            } else {
                printError("error: the local lock is free")
            }
            throw ExitCode(ExitStatus.runtimeError)
        }
        let outcome: Result<Bool, LockUnavailable>
        do {
            outcome = .success(try await Self.release(etcd, holder))
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .failure(let error):
            await backends.shutdown()
            printError("error: \(error.description)")
            throw ExitCode(BlockReason.lock.exitCode)
        case .success(false):
            await backends.shutdown()
            printError("error: node \(quoteString(holder)) holds no slot")
            throw ExitCode(ExitStatus.runtimeError)
        case .success(true):
            break
        }
        await backends.shutdown()
        logger.notice("released the lock slot of node \(quoteString(holder)) by hand")
        print("released the slot of \(holder)")
    }
}
