import Foundation

/// A chaos run's settings, all drawn from its seed (so `RC_CHAOS_SEED` alone replays one): the seed's lowest bit
/// chooses the slots (1 or 2), the next one etcd (a single member, or a cluster of 3).
struct ChaosConfig: Sendable, CustomStringConvertible {
    var seed: UInt64
    /// How long faults are injected; then the fleet settles without any.
    var faultSeconds: Int
    var nodeCount = 6

    var slots: Int { seed & 1 == 0 ? 1 : 2 }
    var etcdMembers: Int { (seed >> 1) & 1 == 0 ? 1 : 3 }
    /// The quorum rule of the policy. With 1 slot, an absolute count: one node reboots while up to two others are
    /// unhealthy. With 2 slots, a share of the fleet: 80 % of 6 members is 4.8, rounded up to 5, so the second reboot
    /// starts only when nothing else is unhealthy (it sees 5 of 6 healthy, itself included), which still lets two run
    /// at once. The share also tests that the fleet keeps its size when members stop reporting: if they dropped out,
    /// 80 % of a smaller fleet would let reboots through that 80 % of 6 denies.
    var rule: String { slots == 1 ? "cluster.healthy < 4" : "cluster.healthy < 80% of cluster.size" }
    /// The fewest healthy members (of all `nodeCount`) for which the rule lets a reboot through.
    var threshold: Int { slots == 1 ? 4 : (nodeCount * 80 + 99) / 100 }
    /// The policy's timing (kept in one place: the policy text and the checker's tolerance both come from it).
    static let checkIntervalMs: Int64 = 1000
    static let publishIntervalMs: Int64 = 1000
    static let ttlMs: Int64 = 3000
    static let maxRebootDurationMs: Int64 = 15_000
    /// How long the simulated reboot command runs before the node goes down.
    static let rebootCommandMs: Int64 = 1500
    /// 3 × publish_interval + check_interval: the detection lag the checker allows.
    static let toleranceMs = 3 * publishIntervalMs + checkIntervalMs
    /// After the faults: a slot left on a reboot lease may take max_reboot_duration to free, then each reboot takes
    /// about the reboot command, the boot (at most 4 s) and the post-boot pass; 10 s each, `slots` at a time, and 20 s
    /// more for the lease and slack.
    var settleBoundMs: Int64 { Self.maxRebootDurationMs + 5_000 + 10_000 * Int64((nodeCount + slots - 1) / slots) }

    var nodes: [String] { (1...nodeCount).map { "node-\($0)" } }

    var description: String {
        "seed \(seed) (slots \(slots), rule \(rule), \(etcdMembers == 1 ? "a single etcd member" : "a 3-member etcd cluster"), \(nodeCount) nodes, \(faultSeconds) s of faults)"
    }

    /// The seed `base` with its configuration bits set to `slots` and `etcdMembers`.
    static func seed(_ base: UInt64, slots: Int, etcdMembers: Int) -> UInt64 {
        (base & ~3) | (slots == 2 ? 1 : 0) | (etcdMembers == 3 ? 2 : 0)
    }

    /// A seed as printed (decimal) or in hex with `0x`.
    static func parseSeed(_ text: String) -> UInt64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("0x") { return UInt64(t.dropFirst(2), radix: 16) }
        return UInt64(t)
    }

    /// A fresh random seed.
    static func randomSeed() -> UInt64 { UInt64.random(in: 1...(UInt64(1) << 53)) }
}

/// Where a node was when a fault hit it, told from the reboot script's events, the health script's marker and the
/// daemon's log.
enum ChaosPhase: String, Sendable, CaseIterable {
    case waiting = "waiting for a slot"
    case holding = "holding a slot"
    case health = "in the health check under the lock"
    case rebootCommand = "in the reboot command"
    case afterBoot = "right after boot"
    case idle = "idle"
    case any = "any"
}

/// One fault of the schedule. `gapMs` is the wait after the previous fault was injected; `pick` chooses the target
/// among the eligible nodes or members when it is injected (one draw whatever their number, so the rest of the
/// schedule does not depend on what the fleet was doing).
struct ChaosFault: Sendable, CustomStringConvertible {
    enum Kind: Sendable {
        /// kill -9 of a daemon, preferably one in `phase` (waiting up to a few seconds for one), started again
        /// `downMs` later.
        case kill(phase: ChaosPhase, downMs: Int64)
        /// kill -9 of two daemons at once (a rack losing power), both started again `downMs` later.
        case killTwo(downMs: Int64)
        /// SIGSTOP of a daemon (preferably one holding a slot), SIGCONT `ms` later: longer than the lease.
        case stop(preferHolding: Bool, ms: Int64)
        /// Two daemons go silent (SIGSTOP), `leadMs` later etcd goes down (the single member stopped, or the
        /// cluster's leader killed) for `downMs`, and the two are continued `afterMs` after etcd is back: etcd renews
        /// every lease when it restarts or elects a leader, so this tests that members which stopped reporting
        /// before do not look alive again. A node that needs no reboot is given one as etcd comes back.
        case silentAcrossEtcd(leadMs: Int64, downMs: Int64, afterMs: Int64)
        /// The health scripts of two nodes fail for `ms`.
        case unhealthy(ms: Int64)
        /// etcd: the single member stopped, or one member of the cluster (`leader`: the current leader) killed with
        /// SIGKILL; started again `downMs` later.
        case etcd(leader: Bool, members: Int, downMs: Int64)
    }

    var gapMs: Int64
    var kind: Kind
    var pick: UInt64
    var pick2: UInt64

    var name: String {
        switch kind {
        case .kill: "kill -9"
        case .killTwo: "kill -9 two"
        case .stop: "SIGSTOP"
        case .unhealthy: "health failing"
        case .silentAcrossEtcd: "silent across an etcd restart"
        case .etcd(let leader, let members, _): members == 1 ? "etcd stopped" : leader ? "etcd leader killed" : "etcd member killed"
        }
    }

    var description: String {
        switch kind {
        case .kill(let phase, let down): "kill -9 a daemon \(phase.rawValue), back after \(down) ms"
        case .killTwo(let down): "kill -9 two daemons at once, back after \(down) ms"
        case .stop(let holding, let ms): "SIGSTOP a daemon\(holding ? " holding a slot" : "") for \(ms) ms"
        case .unhealthy(let ms): "two health scripts fail for \(ms) ms"
        case .silentAcrossEtcd(let lead, let down, let after):
            "SIGSTOP two daemons, \(lead) ms later etcd down for \(down) ms, SIGCONT \(after) ms after it is back"
        case .etcd(let leader, let members, let down):
            "\(members == 1 ? "stop etcd" : leader ? "kill -9 the etcd leader" : "kill -9 an etcd member") for \(down) ms"
        }
    }
}

/// The faults of a run, drawn from its seed: on average one every 2.75 s.
struct ChaosSchedule: Sendable {
    var faults: [ChaosFault]

    init(config: ChaosConfig) {
        var rng = ChaosRandom(seed: config.seed)
        var faults: [ChaosFault] = []
        var total: Int64 = 0
        let phases: [ChaosPhase] = [.waiting, .holding, .health, .rebootCommand, .afterBoot, .any]
        while true {
            let gap = rng.ms(1500...4000)
            total += gap
            if total >= Int64(config.faultSeconds) * 1000 { break }
            let roll = rng.int(0...99)
            let a = rng.next()
            let b = rng.next()
            let c = rng.next()
            var r = ChaosRandom(seed: a)
            let kind: ChaosFault.Kind
            switch roll {
            case 0..<38:
                let phase = phases[Int(b % UInt64(phases.count))]
                // A restart during the reboot command comes quickly (as a supervisor restarts a killed service),
                // while the command still runs; elsewhere the node stays down for up to 9 s (past the tolerance, so
                // that the quorum rule has to count it).
                kind = .kill(phase: phase, downMs: phase == .rebootCommand ? r.ms(100...900) : r.ms(200...9000))
            case 38..<48:
                kind = .killTwo(downMs: r.ms(4000...9000))
            case 48..<62:
                kind = .stop(preferHolding: b % 3 != 0, ms: ChaosConfig.ttlMs + r.ms(1000...6000))
            case 62..<77:
                kind = .unhealthy(ms: r.ms(5000...12000))
            case 77..<89:
                kind = .silentAcrossEtcd(leadMs: r.ms(300...1500), downMs: r.ms(2000...5000), afterMs: r.ms(3000...6000))
            default:
                kind = .etcd(leader: config.etcdMembers > 1 && b % 2 == 0, members: config.etcdMembers, downMs: r.ms(1000...6000))
            }
            faults.append(ChaosFault(gapMs: gap, kind: kind, pick: c, pick2: r.next()))
        }
        self.faults = faults
    }
}
