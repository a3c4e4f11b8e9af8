import ArgumentParser
import Evaluator
import Executors
import Foundation
import Logging
import PolicyLang

/// `rc lock status|release|reset`: the reboot lock of a policy.
struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Show, free or reset the reboot lock of a policy.",
        subcommands: [LockStatusCommand.self, LockReleaseCommand.self, LockResetCommand.self]
    )
}

/// `rc lock status`
struct LockStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List the holders of the lock with their age and lease time left, and the nodes waiting in line.",
        discussion: """
            On etcd, nodes that found the lock full wait in line (first come, first served) and are listed in that \
            order with the time left on the lease of their place. \
            Exit status: 0, 4 when the lock cannot be read (etcd unreachable), 2 for an invalid policy.
            """
    )

    @OptionGroup var node: NodeOptions

    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    typealias Row = (node: String, pid: Int32, since: String, phase: String, ttl: Int64?)
    struct Holders {
        var slots: Int
        var location: String
        var rows: [Row]
        /// The nodes waiting in line, first in line first, with the seconds left on the lease of their place.
        var waiting: [(node: String, ttl: Int64?)] = []
    }

    static func holders(_ backends: Backends, _ policy: PreparedPolicy, node: String) async throws(LockUnavailable) -> Holders {
        if let etcd = backends.lock as? EtcdLock, case .etcd(let spec) = policy.policy.lock {
            func ttl(_ lease: Int64) async -> Int64? { lease == 0 ? nil : try? await etcd.client.timeToLive(lease) }
            var rows: [Row] = []
            for (info, kv) in try await etcd.holders().holders {
                rows.append((info.node, info.pid, info.acquiredAt, info.phase, await ttl(kv.lease)))
            }
            var waiting: [(node: String, ttl: Int64?)] = []
            for (node, lease) in try await etcd.queue() { waiting.append((node, await ttl(lease))) }
            return Holders(slots: spec.slots, location: "etcd \(spec.prefix)/locks/\(spec.group)", rows: rows, waiting: waiting)
        }
        let rows: [Row] = (try await backends.lock.status(node: node).holders ?? []).map {
            ($0.node, Int32($0.pid ?? 0), $0.since?.description ?? "", "", nil)
        }
        return Holders(slots: 1, location: "local \((backends.lock as? LocalLock)?.path ?? "")", rows: rows)
    }

    func run() async throws {
        let policy = try node.load(forNode: false)
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
        let (slots, location, rows, waiting) = (found.slots, found.location, found.rows, found.waiting)
        func lease(_ ttl: Int64?) -> String { ttl.map { $0 >= 0 ? "  lease \($0)s left" : "  lease expired" } ?? "" }
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
                print(line + lease(r.ttl))
            }
            if !waiting.isEmpty {
                print("\(waiting.count) waiting in line:")
                for (i, w) in waiting.enumerated() { print("  \(i + 1). \(w.node)\(lease(w.ttl))") }
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
                (
                    "waiting",
                    .array(
                        waiting.enumerated().map { i, w in
                            .object([("node", .string(w.node)), ("position", .int(Int64(i + 1))), ("lease_ttl_seconds", w.ttl.map { .int($0) } ?? .null)])
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
        try await etcd.forceRelease(node: node)
        return true
    }

    func run() async throws {
        let policy = try options.load(forNode: false)
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

/// `rc lock reset`
struct LockResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Confirm the etcd store as it is now, after it was wiped, restored or replaced.",
        discussion: """
            Every daemon remembers the etcd store it saw (its epoch key and the highest revision, in \
            STATE_DIR/etcd-store.json). When the store goes back (its epoch key gone or changed, its revision below \
            what a node saw: a wiped data directory, a restore from an older snapshot, a new cluster), the locks it \
            held are gone with it, and a node still rebooting may be in none of them: every node is blocked by the lock \
            until an operator confirms the store. Check first that no node is rebooting (`rc fleet status`), then run \
            this once: it writes a new epoch, which every node takes as the store it knows. \
            Exit status: 0, 4 when etcd cannot be reached, 1 for a local lock (nothing to reset).
            """
    )

    @OptionGroup var options: NodeOptions

    func run() async throws {
        let policy = try options.load(forNode: false)
        let logger = options.logger()
        let backends = try options.backends(for: policy, logger: logger)
        guard let fleet = backends.fleet as? EtcdFleet else {
            await backends.shutdown()
            printError("error: a local lock keeps no store to reset")
            throw ExitCode(ExitStatus.runtimeError)
        }
        do {
            try await fleet.reset(at: SystemClock().now())
        } catch {
            await backends.shutdown()
            printError("error: \(error.description)")
            throw ExitCode(BlockReason.lock.exitCode)
        }
        await backends.shutdown()
        logger.notice("reset the etcd store's epoch by hand")
        print("the etcd store is confirmed as it is now; every node takes it at its next pass")
    }
}
