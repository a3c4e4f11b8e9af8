import ArgumentParser
import Evaluator
import Executors
import Foundation
import Logging
import PolicyLang

/// `rc fleet status|forget`: the members of a policy's fleet on etcd.
struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Show the members of the fleet, or forget one.",
        subcommands: [FleetStatusCommand.self, FleetHistoryCommand.self, FleetForgetCommand.self]
    )
}

/// `rc fleet status`
struct FleetStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Every member of the fleet: healthy, unhealthy, rebooting or stale, its last report and decision, its lock slot.",
        discussion: """
            A node that has reported once stays a member until `rc fleet forget` (or the policy's \
            `cluster { forget_after }`). A member is stale when it has not reported for three publish intervals (its \
            liveness key's lease in etcd ran out: it crashed, hangs, is powered off or rebooting; or its last report is \
            older than etcd's last leader election, which renews every lease, and it has not reported since); a stale member \
            counts in cluster.size and never in cluster.healthy, and neither does a member that is rebooting. Each \
            line shows the member's state, how long ago it last reported (on its own clock), its rc version and \
            labels, whether it holds a lock slot or waits in line (and its place), and its last decision as it \
            published it; when a measuring health check (http, prometheus, alerts) blocked it, the value it measured \
            and what it needs (`needs value < 0.01, was 0.034`). Exit status: 0, 4 when etcd cannot be reached, 1 for a local lock (no fleet).
            """
    )

    @OptionGroup var node: NodeOptions

    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    struct Row {
        var member: EtcdFleet.Member
        var state: String
        var age: Int64?
        var lock: String?
        var place: Int?
    }

    func run() async throws {
        let policy = try node.load(forNode: false)
        var logger = node.logger()
        logger.logLevel = .warning
        let backends = try node.backends(for: policy, logger: logger)
        guard let fleet = backends.fleet as? EtcdFleet, let lock = backends.lock as? EtcdLock, case .etcd(let spec) = policy.policy.lock else {
            await backends.shutdown()
            printError("error: the policy's lock is local: a fleet needs `lock etcd`")
            throw ExitCode(ExitStatus.runtimeError)
        }
        let read: Result<([EtcdFleet.Member], [(HolderInfo, EtcdKeyValue)], [(node: String, lease: Int64)]), LockUnavailable>
        do {
            read = .success((try await fleet.members(), try await lock.holders().holders, try await lock.queue()))
        } catch {
            read = .failure(error)
        }
        await backends.shutdown()
        guard case .success(let (members, holders, queue)) = read else {
            if case .failure(let error) = read { printError("error: \(error.description)") }
            throw ExitCode(BlockReason.lock.exitCode)
        }
        let now = SystemClock().now()
        let rows = members.map { member -> Row in
            let state =
                !member.fresh ? "stale" : member.report?.phase == "rebooting" ? "rebooting" : member.report?.healthy == true ? "healthy" : "unhealthy"
            var age: Int64?
            if let at = member.report?.reportedAt, case .success(let i) = Instant.parse(at) { age = max(0, now.epochMilliseconds - i.epochMilliseconds) }
            let held = holders.first { $0.0.node == member.node }
            let place = queue.firstIndex { $0.node == member.node }.map { $0 + 1 }
            return Row(member: member, state: state, age: age, lock: held.map { $0.0.phase.isEmpty ? "holds a slot" : "holds a slot (\($0.0.phase))" }, place: place)
        }
        let healthy = members.filter(\.healthy).count
        let stale = members.filter { !$0.fresh }.count
        switch format {
        case .text:
            print("fleet etcd \(spec.prefix): \(members.count) member\(members.count == 1 ? "" : "s"), \(healthy) healthy, \(stale) stale")
            for row in rows {
                var parts = ["  \(row.member.node)", row.state]
                switch row.member.freshness {
                case .fresh, .expired: break
                case .silent: parts.append("(its record has not changed for three publish intervals)")
                case .unconfirmed: parts.append("(no report since etcd elected a leader, which renewed its lease)")
                }
                parts.append(row.age.map { "reported \(formatDuration(milliseconds: $0 / 1000 * 1000)) ago" } ?? "no readable report")
                if let report = row.member.report {
                    parts.append("rc \(report.version)")
                    if !report.labels.isEmpty { parts.append(report.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")) }
                }
                if let lock = row.lock { parts.append(lock) }
                if let place = row.place { parts.append("waits in line (\(ordinal(place)))") }
                if let d = row.member.report?.decision {
                    parts.append("last: " + [d.outcome, d.blockedBy.map { "by \($0)" }, d.name.map(quoteString)].compactMap { $0 }.joined(separator: " "))
                    if let reading = HealthReading.text(value: d.value, needs: d.needs) { parts.append(reading) }
                }
                print(parts.joined(separator: "  "))
            }
            print("reboots so far: rc fleet history; a node's decisions: rc log show (on the node)")
        case .json:
            let json = JSON.object([
                ("fleet", .string(spec.prefix)), ("members", .int(Int64(members.count))), ("healthy", .int(Int64(healthy))), ("stale", .int(Int64(stale))),
                (
                    "nodes",
                    .array(
                        rows.map { row in
                            let report = row.member.report
                            return .object([
                                ("node", .string(row.member.node)), ("state", .string(row.state)), ("freshness", .string(row.member.freshness.rawValue)),
                                ("last_report_age_seconds", row.age.map { .int($0 / 1000) } ?? .null),
                                ("reported_at", report.map { .string($0.reportedAt) } ?? .null), ("version", report.map { .string($0.version) } ?? .null),
                                ("labels", .object((report?.labels ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) })),
                                ("holds_slot", .bool(row.lock != nil)), ("waiting_position", row.place.map { .int(Int64($0)) } ?? .null),
                                (
                                    "decision",
                                    report?.decision.map { d in
                                        .object([
                                            ("outcome", .string(d.outcome)), ("blocked_by", d.blockedBy.map { .string($0) } ?? .null),
                                            ("name", d.name.map { .string($0) } ?? .null), ("reason", d.reason.map { .string($0) } ?? .null),
                                            ("value", d.value.map(JSON.double) ?? .null), ("needs", .optional(d.needs)), ("at", .string(d.at)),
                                        ])
                                    } ?? .null
                                ),
                            ])
                        })
                ),
            ])
            print(json.serialized(indent: 2))
        }
    }
}

/// `rc fleet forget`
struct FleetForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Remove a node from the fleet (a node that was decommissioned).",
        discussion: """
            A member that stopped reporting stays in the fleet, counted in cluster.size and not healthy, so that a \
            fleet never looks healthier than it is. Once a node is gone for good, forget it; a node that reports \
            again joins again. Exit status: 0, 1 when the node is no member, 4 when etcd cannot be reached.
            """
    )

    @OptionGroup var options: NodeOptions

    @Argument(help: "The node to forget.")
    var member: String

    func run() async throws {
        let policy = try options.load(forNode: false)
        let logger = options.logger()
        let backends = try options.backends(for: policy, logger: logger)
        guard let fleet = backends.fleet as? EtcdFleet else {
            await backends.shutdown()
            printError("error: the policy's lock is local: a fleet needs `lock etcd`")
            throw ExitCode(ExitStatus.runtimeError)
        }
        let outcome: Result<Bool, LockUnavailable>
        do {
            outcome = .success(try await fleet.forget(node: member))
        } catch {
            outcome = .failure(error)
        }
        await backends.shutdown()
        switch outcome {
        case .failure(let error):
            printError("error: \(error.description)")
            throw ExitCode(BlockReason.lock.exitCode)
        case .success(false):
            printError("error: \(quoteString(member)) is no member of the fleet")
            throw ExitCode(ExitStatus.runtimeError)
        case .success(true):
            logger.notice("forgot fleet member \(quoteString(member)) by hand")
            print("forgot \(member)")
        }
    }
}

/// `rc fleet history`
struct FleetHistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "The fleet's reboots, oldest first: node, start, end, duration and how each ended.",
        discussion: """
            With `lock etcd`, every reboot is noted under <prefix>/history/ when its command begins and again when \
            it is over: `rebooted` (the node came back and its post-boot gate passed), `failed` (the reboot command \
            failed), `did not happen` (the boot id never changed), or `rebooting` while it is under way. The last \
            \(EtcdFleet.historyLimit) are kept. Each node's own decisions are in its decision log (`rc log show`). \
            Exit status: 0, 4 when etcd cannot be reached, 1 for a local lock (no fleet).
            """
    )

    @OptionGroup var node: NodeOptions

    @Option(help: "Only the last N reboots.")
    var last: Int?

    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    func validate() throws {
        if let last, last < 1 { throw ValidationError("--last takes a positive number, not \(last)") }
    }

    func run() async throws {
        let policy = try node.load(forNode: false)
        var logger = node.logger()
        logger.logLevel = .warning
        let backends = try node.backends(for: policy, logger: logger)
        guard let fleet = backends.fleet as? EtcdFleet else {
            await backends.shutdown()
            printError("error: the policy's lock is local: a fleet needs `lock etcd`")
            throw ExitCode(ExitStatus.runtimeError)
        }
        let read: Result<[RebootHistoryEntry], LockUnavailable>
        do {
            read = .success(try await fleet.historyEntries())
        } catch {
            read = .failure(error)
        }
        await backends.shutdown()
        guard case .success(let all) = read else {
            if case .failure(let error) = read { printError("error: \(error.description)") }
            throw ExitCode(BlockReason.lock.exitCode)
        }
        let entries = all.suffix(last ?? all.count)
        switch format {
        case .text:
            for e in entries {
                let took = e.duration.map { "  took " + formatDuration(milliseconds: $0 / 1000 * 1000) } ?? ""
                print("\(e.started)  \(e.node)  \(e.outcome)" + (e.finished.map { "  until \($0)" } ?? "") + took)
            }
        case .json:
            let items = entries.map { e in
                JSON.object([
                    ("node", .string(e.node)), ("started", .string(e.started)), ("finished", .optional(e.finished)),
                    ("duration_ms", e.duration.map(JSON.int) ?? .null), ("outcome", .string(e.outcome)),
                ])
            }
            print(JSON.array(items).serialized(indent: 2))
        }
    }
}
