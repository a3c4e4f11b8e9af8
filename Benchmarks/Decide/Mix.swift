import Evaluator
import Foundation
import PolicyLang

/// The reboot decision that rc, Rego, Cedar and CEL all write (Benchmarks/Peers), and a seeded mix of fact sets
/// for it: window edges on every weekday, threshold edges, random rows.
enum Mix {
    /// The decision in rc.
    static func policy(zone: String) -> String {
        """
        policy "peer" {}
        detector "apt" debian
        timezone "\(zone)"
        window deny "weekend" Fri 18:00 .. Mon 08:00
        window deny "backups" daily 02:00 .. 03:00
        window allow "night" Mon..Fri 22:00 .. 05:00
        health "gate" script "/bin/true"
        rule "keep quorum" { deny when cluster.healthy < max(3, 60% of cluster.size) }
        rule "canaries soak" { deny when node.labels["tier"] == "canary" and node.uptime < 24h }
        rule "cool down" { deny when now - cluster.last_reboot < 15m }

        """
    }

    /// One fact set, as every engine reads it.
    struct Row {
        var now: Int64
        var needed: Bool
        var killSwitch: Bool
        var healthy: Int64
        var size: Int64
        var tier: String
        var uptime: Int64
        var sinceLastReboot: Int64
        var healthOK: Bool
        var lockAvailable: Bool

        var facts: Facts {
            Facts(
                now: Instant(epochMilliseconds: now), phase: .preLock, nodeName: "node-1", nodeLabels: ["tier": tier], nodeUptime: uptime,
                killSwitch: killSwitch, detectors: ["apt": DetectorObservation(needed ? .fired : .clear)],
                health: ["gate": HealthObservation(ok: healthOK, exitCode: healthOK ? 0 : 1)],
                lock: LockFacts(held: false, available: lockAvailable, slots: 1),
                cluster: ClusterFacts(size: size, healthy: healthy, lastReboot: Instant(epochMilliseconds: now - sinceLastReboot)))
        }
    }

    /// SplitMix64, so that a seed replays the same mix.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The mix: a passing base row varied one way at a time at the edges, then random rows. Local times are in `zone`.
    static func rows(seed: UInt64, zone: String, random: Int = 600) -> [Row] {
        var g = Generator(state: seed)
        let z = TimeZone(identifier: zone)!
        // Monday 2026-11-23 00:00 local, and the weeks around both DST changes of 2027 in Europe.
        let mondays = ["2026-11-23", "2027-03-22", "2027-10-25"].map { date -> Int64 in
            let parts = date.split(separator: "-").map { Int($0)! }
            let localMidnight = Int64(CivilDate.daysFromCivil(year: parts[0], month: parts[1], day: parts[2])) * 86_400_000
            return localMidnight - Int64(z.secondsFromGMT(for: Date(timeIntervalSince1970: Double(localMidnight) / 1000))) * 1000
        }
        let base = Row(
            now: mondays[0] + Int64(1 * 1440 + 23 * 60) * 60_000, needed: true, killSwitch: false, healthy: 5, size: 5, tier: "web",
            uptime: 36 * 3_600_000, sinceLastReboot: 3_600_000, healthOK: true, lockAvailable: true)
        var rows: [Row] = []
        // Window edges: every weekday, each boundary minute and the minutes either side.
        for monday in mondays {
            for day in 0..<7 {
                for minute in [0, 120, 180, 300, 480, 1080, 1320] {
                    for delta in [-1, 0, 1] {
                        var r = base
                        r.now = monday + Int64(day * 1440 + minute + delta) * 60_000
                        rows.append(r)
                    }
                }
            }
        }
        // Threshold edges.
        for size in [1, 2, 3, 4, 5, 6, 9, 10] as [Int64] {
            let need = max(3, (size * 60 + 99) / 100)
            for healthy in [need - 1, need, need + 1] where healthy >= 0 {
                var r = base
                (r.size, r.healthy) = (size, min(healthy, size))
                rows.append(r)
            }
        }
        for uptime in [24 * 3_600_000 - 1000, 24 * 3_600_000, 24 * 3_600_000 + 1000] as [Int64] {
            for tier in ["canary", "web"] {
                var r = base
                (r.uptime, r.tier) = (uptime, tier)
                rows.append(r)
            }
        }
        for since in [15 * 60_000 - 1000, 15 * 60_000, 15 * 60_000 + 1000] as [Int64] {
            var r = base
            r.sinceLastReboot = since
            rows.append(r)
        }
        for flip in 0..<4 {
            var r = base
            switch flip {
            case 0: r.needed = false
            case 1: r.killSwitch = true
            case 2: r.healthOK = false
            default: r.lockAvailable = false
            }
            rows.append(r)
        }
        // Random rows over three weeks.
        for _ in 0..<random {
            let size = Int64.random(in: 1...12, using: &g)
            rows.append(
                Row(
                    now: mondays[Int.random(in: 0..<mondays.count, using: &g)] + Int64.random(in: 0..<(7 * 1440), using: &g) * 60_000,
                    needed: Int.random(in: 0..<10, using: &g) > 0, killSwitch: Int.random(in: 0..<20, using: &g) == 0,
                    healthy: Int64.random(in: 0...size, using: &g), size: size, tier: ["canary", "web", "db"][Int.random(in: 0..<3, using: &g)],
                    uptime: Int64.random(in: 0..<(72 * 3_600_000), using: &g), sinceLastReboot: Int64.random(in: 0..<(60 * 60_000), using: &g),
                    healthOK: Int.random(in: 0..<10, using: &g) > 0, lockAvailable: Int.random(in: 0..<10, using: &g) > 0))
        }
        return rows
    }

    /// The outcome as every engine names it: `reboot`, `no_reboot` or `blocked:KIND[:NAME]`.
    static func outcome(_ d: Decision) -> String {
        switch d.outcome {
        case .reboot: "reboot"
        case .noRebootNeeded: "no_reboot"
        case .blocked: "blocked:" + (d.blockedBy?.rawValue ?? "?") + (d.name.map { ":" + $0 } ?? "")
        }
    }
}
