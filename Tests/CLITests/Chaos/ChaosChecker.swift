import Foundation

/// One broken rule, with what the message needs to find it again: the seed, the time, the nodes.
struct ChaosViolation: Equatable, Sendable, CustomStringConvertible {
    enum Rule: String, Sendable {
        /// More than `slots` nodes rebooting at once.
        case overlap = "slots"
        /// A node started a reboot while its previous one was still under way.
        case doubleReboot = "double reboot"
        /// A node started a reboot that the quorum rule denies (too few healthy members left).
        case quorum = "quorum"
        /// A node started a reboot while its own health check had been failing.
        case ownHealth = "own health"
        /// A reboot started while etcd had no quorum.
        case etcd = "etcd down"
        /// A node rebooted that did not need to.
        case unneeded = "unneeded reboot"
        /// A node that needed a reboot had none within the bound after the faults stopped.
        case late = "late"
        /// A lock slot stayed held after the fleet settled.
        case stuckSlot = "stuck slot"
        /// A daemon exited by itself.
        case crash = "crash"
    }

    var rule: Rule
    var time: Int64
    var nodes: [String]
    var message: String

    var description: String { message }
}

/// Judges a chaos run from its history alone (the driver records, the checker judges).
///
/// The rules:
/// - (a) `slots`: a reboot occupies its node from the reboot script's `start` until the driver has the node up
///   again after the script's `end` (the daemon of the booted node started). At no time do more than `slots`
///   distinct nodes occupy; and no node starts a reboot while its own previous one still occupies it.
/// - (b) `quorum`: when node X starts a reboot at time t, let U be the other nodes that are *certainly unhealthy*
///   at t. The policy's rule lets a reboot through only with `threshold` healthy members or more out of all N (a
///   member that stopped reporting still counts in the fleet's size, and as unhealthy), and X counts itself, so at
///   most N − |U| members can have looked healthy; N − |U| < threshold is a violation. X's own health check failing
///   for longer than the tolerance is one too.
///   A node is *unhealthy* while its daemon is down (killed, crashed, not started again yet), stopped (SIGSTOP),
///   rebooting (from `start` until it is up again after `end`), or while its health script fails. Detection takes
///   time (the node's last publication lives on until its lease of 3 × publish_interval ends, and a reader decides
///   on what it read up to one check_interval earlier), so a node is *certainly* unhealthy at t only when one
///   unbroken unhealthy stretch of it began at or before t − tolerance, with tolerance = 3 × publish_interval +
///   check_interval. Everything the driver records is stamped on the lenient side (a node goes down when the kill
///   has returned, comes up when its start was requested).
/// - (e) `etcd down`: no reboot starts while etcd has had no quorum (the single member stopped; two of three
///   members down) for longer than the tolerance.
/// - (g) `unneeded reboot`: a node starts a reboot only while its detector's flag is set (set by the driver,
///   removed by the reboot script just before its `end`).
/// - (c) `late`: every node that needs a reboot when the faults stop is up again after one within the settle bound;
///   once the fleet has settled, `rc lock status` lists no holder.
/// - (d) `crash`: no daemon exits unless the driver stopped it (a kill, a reboot, the end of the run).
struct ChaosChecker {
    let history: ChaosHistory

    var setup: ChaosSetup { history.setup }

    func check() -> [ChaosViolation] {
        let events = history.sorted
        var violations: [ChaosViolation] = []
        let stretches = unhealthyStretches(events)
        let occupancy = occupancies(events)
        let noQuorum = etcdOutages(events)
        let failing = healthFailing(events)
        let seed = "seed \(setup.seed)"

        // (a) and (b), (e), (g) at every reboot start.
        var needs: [String: Bool] = [:]
        var reportedOverlaps: Set<[String]> = []
        for e in events {
            guard let node = e.node else { continue }
            switch e.kind {
            case .needsReboot: needs[node] = true
            case .rebootEnd: needs[node] = false
            case .rebootStart:
                let t = e.time
                let at = history.when(t)
                // A reboot of the same node already under way (started before this one, still occupying).
                if let previous = occupancy.first(where: { $0.node == node && $0.start < t && $0.end > t }) {
                    violations.append(
                        ChaosViolation(
                            rule: .doubleReboot, time: t, nodes: [node],
                            message: "\(seed): at \(at) \(node) started a reboot while its previous one (started \(history.when(previous.start))) was still under way"))
                }
                let busy = Set(occupancy.filter { $0.start <= t && $0.end > t }.map(\.node))
                if busy.count > setup.slots {
                    let names = busy.sorted()
                    let others = names.filter { $0 != node }
                    if reportedOverlaps.insert(names).inserted {
                        violations.append(
                            ChaosViolation(
                                rule: .overlap, time: t, nodes: names,
                                message: "\(seed): at \(at) \(node) started a reboot while \(others.joined(separator: ", ")) \(others.count == 1 ? "was" : "were") rebooting: \(busy.count) at once with slots \(setup.slots)"))
                    }
                }
                if needs[node] != true {
                    violations.append(
                        ChaosViolation(rule: .unneeded, time: t, nodes: [node], message: "\(seed): at \(at) \(node) started a reboot though it did not need one (its flag was not set)"))
                }
                if let own = failing[node]?.first(where: { $0.from + setup.toleranceMs <= t && $0.contains(t) }) {
                    violations.append(
                        ChaosViolation(
                            rule: .ownHealth, time: t, nodes: [node],
                            message: "\(seed): at \(at) \(node) started a reboot while its own health check had been failing since \(history.when(own.from))"))
                }
                var certain: [(String, Stretch)] = []
                for other in setup.nodes where other != node {
                    if let s = stretches[other]?.first(where: { $0.from + setup.toleranceMs <= t && $0.contains(t) }) { certain.append((other, s)) }
                }
                let atMost = setup.nodes.count - certain.count
                if atMost < setup.threshold {
                    let list = certain.map { "\($0.0) (\($0.1.why) since \(history.when($0.1.from)))" }.joined(separator: ", ")
                    violations.append(
                        ChaosViolation(
                            rule: .quorum, time: t, nodes: [node] + certain.map(\.0),
                            message: "\(seed): at \(at) \(node) started a reboot while at most \(atMost) of \(setup.nodes.count) members were healthy (the rule denies below \(setup.threshold)): \(list) were certainly unhealthy"))
                }
                if let outage = noQuorum.first(where: { $0.from + setup.toleranceMs <= t && t < $0.to }) {
                    violations.append(
                        ChaosViolation(
                            rule: .etcd, time: t, nodes: [node],
                            message: "\(seed): at \(at) \(node) started a reboot while etcd had had no quorum since \(history.when(outage.from))"))
                }
            default: break
            }
        }

        // (c) every node that needs a reboot when the faults stop is back from one within the bound.
        if let end = events.first(where: { $0.kind == .faultsEnd })?.time {
            let bound = end + setup.settleBoundMs
            for node in setup.nodes {
                guard let need = events.last(where: { $0.node == node && $0.kind == .needsReboot && $0.time <= end })?.time else { continue }
                // The first reboot that began after the need, and when the node was up after it.
                if let back = occupancy.first(where: { $0.node == node && $0.start >= need && $0.ended }), back.end <= bound { continue }
                let started = occupancy.first { $0.node == node && $0.start >= need }
                let state = started.map { "its reboot started at \(history.when($0.start)) and it was not up again" } ?? "no reboot started"
                violations.append(
                    ChaosViolation(
                        rule: .late, time: bound, nodes: [node],
                        message: "\(seed): \(node) needed a reboot when the faults stopped at \(history.when(end)) and was not back from one by \(history.when(bound)) (bound \(setup.settleBoundMs / 1000) s): \(state)"))
            }
            for e in events {
                if case .settledHolders(let holders) = e.kind, !holders.isEmpty {
                    violations.append(
                        ChaosViolation(
                            rule: .stuckSlot, time: e.time, nodes: holders,
                            message: "\(seed): at \(history.when(e.time)), with the fleet settled (no reboot needed or under way), the lock still had holders: \(holders.joined(separator: ", "))"))
                }
            }
        }

        // (d) no daemon exits by itself.
        for e in events {
            if case .daemonDown(.crashed(let how)) = e.kind {
                violations.append(
                    ChaosViolation(rule: .crash, time: e.time, nodes: [e.node ?? "?"], message: "\(seed): at \(history.when(e.time)) the daemon of \(e.node ?? "?") exited by itself: \(how)"))
            }
        }
        return violations.sorted { $0.time < $1.time }
    }

    /// How long the quorum rule had to hold back every node: the total time at which fewer than `threshold`
    /// members were not certainly unhealthy (a measure of how hard the run pressed rule (b)).
    func quorumPressureMs() -> Int64 {
        let events = history.sorted
        let stretches = unhealthyStretches(events)
        let end = events.last?.time ?? setup.start
        // Each stretch counts from its start + tolerance until its end.
        var edges: [(Int64, Int)] = []
        for list in stretches.values {
            for s in list where s.from + setup.toleranceMs < min(s.to, end) {
                edges.append((s.from + setup.toleranceMs, 1))
                edges.append((min(s.to, end), -1))
            }
        }
        edges.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        var down = 0
        var total: Int64 = 0
        var since: Int64?
        for (t, delta) in edges {
            down += delta
            let held = setup.nodes.count - down < setup.threshold
            if held, since == nil { since = t }
            if !held, let s = since {
                total += t - s
                since = nil
            }
        }
        return total
    }

    /// An unbroken time during which a node was down or unhealthy.
    struct Stretch: Equatable {
        var from: Int64
        var to: Int64
        /// What made it unhealthy when the stretch began.
        var why: String

        func contains(_ t: Int64) -> Bool { from <= t && t < to }
    }

    /// For every node, its unhealthy stretches.
    func unhealthyStretches(_ events: [ChaosEvent]) -> [String: [Stretch]] {
        struct State {
            var up = false
            var stopped = false
            var rebooting = 0
            var awaitingBoot = false
            var failing = false
            var reasonDown = "not started"
            var unhealthy: Bool { !up || stopped || rebooting > 0 || awaitingBoot || failing }
            var why: String {
                if !up { return reasonDown }
                if rebooting > 0 || awaitingBoot { return "rebooting" }
                if stopped { return "stopped (SIGSTOP)" }
                return "health failing"
            }
        }
        var states: [String: State] = [:]
        var result: [String: [Stretch]] = [:]
        var open: [String: Stretch] = [:]
        let start = history.setup.start
        for node in setup.nodes {
            states[node] = State()
            open[node] = Stretch(from: start, to: .max, why: "not started")
        }
        for e in events {
            guard let node = e.node, var s = states[node] else { continue }
            switch e.kind {
            case .daemonUp:
                s.up = true
                s.stopped = false
                if s.awaitingBoot && s.rebooting == 0 { s.awaitingBoot = false }
            case .daemonDown(let cause):
                s.up = false
                s.stopped = false
                switch cause {
                case .killed(let phase): s.reasonDown = "daemon killed (\(phase))"
                case .reboot: s.reasonDown = "rebooting"
                case .endOfRun: s.reasonDown = "stopped at the end"
                case .crashed: s.reasonDown = "daemon crashed"
                }
            case .stopped: s.stopped = true
            case .continued: s.stopped = false
            case .rebootStart: s.rebooting += 1
            case .rebootEnd:
                s.rebooting = max(0, s.rebooting - 1)
                s.awaitingBoot = true
            case .healthFailing: s.failing = true
            case .healthPassing: s.failing = false
            default: break
            }
            if s.unhealthy && open[node] == nil {
                open[node] = Stretch(from: e.time, to: .max, why: s.why)
            } else if !s.unhealthy, var stretch = open[node] {
                stretch.to = e.time
                result[node, default: []].append(stretch)
                open[node] = nil
            }
            states[node] = s
        }
        for (node, stretch) in open { result[node, default: []].append(stretch) }
        return result
    }

    /// For every node, the times its health script failed.
    func healthFailing(_ events: [ChaosEvent]) -> [String: [Stretch]] {
        var result: [String: [Stretch]] = [:]
        var since: [String: Int64] = [:]
        for e in events {
            guard let node = e.node else { continue }
            if e.kind == .healthFailing, since[node] == nil { since[node] = e.time }
            if e.kind == .healthPassing, let s = since.removeValue(forKey: node) {
                result[node, default: []].append(Stretch(from: s, to: e.time, why: "health failing"))
            }
        }
        for (node, s) in since { result[node, default: []].append(Stretch(from: s, to: .max, why: "health failing")) }
        return result
    }

    /// A reboot from its start until its node was up again after its end (`end` is `.max` when it never was).
    struct Occupancy: Equatable {
        var node: String
        var start: Int64
        var end: Int64
        var ended: Bool { end != .max }
    }

    func occupancies(_ events: [ChaosEvent]) -> [Occupancy] {
        var result: [Occupancy] = []
        var running: [String: [Int]] = [:]  // reboots whose script has not ended
        var awaiting: [String: [Int]] = [:]  // ended, the node not up again yet
        for e in events {
            guard let node = e.node else { continue }
            switch e.kind {
            case .rebootStart:
                running[node, default: []].append(result.count)
                result.append(Occupancy(node: node, start: e.time, end: .max))
            case .rebootEnd:
                if var list = running[node], !list.isEmpty {
                    awaiting[node, default: []].append(list.removeFirst())
                    running[node] = list
                }
            case .daemonUp:
                for i in awaiting[node] ?? [] { result[i].end = e.time }
                awaiting[node] = []
            default: break
            }
        }
        return result
    }

    /// The times etcd had no quorum: the single member down, or a majority of the members down.
    func etcdOutages(_ events: [ChaosEvent]) -> [(from: Int64, to: Int64)] {
        var down: Set<Int> = []
        var result: [(from: Int64, to: Int64)] = []
        var since: Int64?
        let majority = setup.etcdMembers / 2 + 1
        for e in events {
            switch e.kind {
            case .etcdDown(let m, _): down.insert(m)
            case .etcdUp(let m): down.remove(m)
            default: continue
            }
            let lost = setup.etcdMembers - down.count < majority
            if lost, since == nil { since = e.time }
            if !lost, let s = since {
                result.append((s, e.time))
                since = nil
            }
        }
        if let since { result.append((since, .max)) }
        return result
    }
}
