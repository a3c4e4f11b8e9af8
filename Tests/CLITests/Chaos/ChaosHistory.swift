import Foundation

/// What happened during a chaos run, as the driver saw it and the reboot script logged it: the only input of the
/// checker. Times are wall-clock milliseconds since 1970 (the reboot script logs `date +%s%3N`, the driver reads
/// `Date()`), so the two sources share one clock.
struct ChaosEvent: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// The driver started the node's daemon.
        case daemonUp
        /// The node's daemon is gone: killed by the driver, stopped by a (simulated) reboot, or crashed.
        case daemonDown(DownCause)
        /// SIGSTOP / SIGCONT of the node's daemon.
        case stopped, continued
        /// The reboot script began / finished (it logs these itself).
        case rebootStart, rebootEnd
        /// The node's health script turned failing / passing (the driver flipped the file it reads).
        case healthFailing, healthPassing
        /// The node needs a reboot (the driver created its detector's flag).
        case needsReboot
        /// An etcd member stopped / started again (`member` is its index; 0 in the single-member case).
        case etcdDown(member: Int, leader: Bool), etcdUp(member: Int)
        /// The fault phase is over: from here the fleet is left alone to settle.
        case faultsEnd
        /// What `rc lock status` listed as holders once the fleet had settled.
        case settledHolders([String])
    }

    enum DownCause: Equatable, Sendable {
        /// kill -9 by the fault schedule; the phase the node was seen in.
        case killed(phase: String)
        /// The simulated reboot took the node down (the daemon got SIGTERM, or SIGKILL while stopped).
        case reboot
        /// The driver stopped the fleet at the end of the run.
        case endOfRun
        /// Exited without being told to: status and reason, and the last lines of its log.
        case crashed(String)
    }

    var time: Int64
    var node: String?
    var kind: Kind
    /// Free text for the report (a fault's parameters).
    var note: String = ""

    /// The event as the history file shows it.
    var text: String {
        switch kind {
        case .daemonUp: "daemon up"
        case .daemonDown(.killed(let phase)): "daemon killed (kill -9) \(phase)"
        case .daemonDown(.reboot): "daemon down for the reboot"
        case .daemonDown(.endOfRun): "daemon stopped at the end of the run"
        case .daemonDown(.crashed(let how)): "daemon exited by itself: \(how)"
        case .stopped: "daemon stopped (SIGSTOP)"
        case .continued: "daemon continued (SIGCONT)"
        case .rebootStart: "reboot command starts"
        case .rebootEnd: "reboot command ends"
        case .healthFailing: "health script fails"
        case .healthPassing: "health script passes"
        case .needsReboot: "needs a reboot (flag set)"
        case .etcdDown(let m, let leader): "etcd member m\(m) down" + (leader ? " (the leader)" : "")
        case .etcdUp(let m): "etcd member m\(m) started again"
        case .faultsEnd: "faults over; settling"
        case .settledHolders(let holders): "settled; lock holders: [\(holders.joined(separator: ", "))]"
        }
    }

    init(_ time: Int64, _ node: String?, _ kind: Kind, note: String = "") {
        self.time = time
        self.node = node
        self.kind = kind
        self.note = note
    }
}

/// The settings a run was made with, which the checker needs to judge it.
struct ChaosSetup: Sendable {
    var seed: UInt64
    var nodes: [String]
    var slots: Int
    /// The policy's rule: `deny when cluster.healthy < threshold`.
    var threshold: Int
    /// Detection lag allowed: a node counts as certainly unhealthy only this long after it went down or unhealthy
    /// (3 × publish_interval + check_interval).
    var toleranceMs: Int64
    /// How long after the faults stop every node that needs a reboot must have had it.
    var settleBoundMs: Int64
    /// Etcd members (1: a single member whose stop means no etcd at all; 3: a cluster that keeps quorum).
    var etcdMembers: Int
    /// The run's start, for relative times in messages.
    var start: Int64
}

/// A whole run's history.
struct ChaosHistory: Sendable {
    var setup: ChaosSetup
    var events: [ChaosEvent]

    /// The events in time order (stable for equal times).
    var sorted: [ChaosEvent] {
        events.enumerated().sorted { $0.element.time == $1.element.time ? $0.offset < $1.offset : $0.element.time < $1.element.time }.map(\.element)
    }

    /// `+12.345 s (10:41:07.345)`: the time relative to the run's start, and the wall clock.
    func when(_ t: Int64) -> String {
        let relative = String(format: "+%.3f s", Double(t - setup.start) / 1000)
        let date = Date(timeIntervalSince1970: Double(t) / 1000)
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss.SSS"
        f.timeZone = TimeZone(identifier: "UTC")
        return "\(relative) (\(f.string(from: date)) UTC)"
    }

    /// One line per event, for the history file kept with each run.
    var text: String {
        sorted.map { e in
            let t = String(format: "%9.3f", Double(e.time - setup.start) / 1000)
            return "\(t) \(e.node ?? "-") \(e.text)" + (e.note.isEmpty ? "" : "  [\(e.note)]")
        }.joined(separator: "\n") + "\n"
    }
}

/// SplitMix64: a small seeded generator, so a seed gives the same fault schedule every time.
struct ChaosRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `range` (one draw, whatever the range).
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }

    /// A uniform duration in milliseconds in `range`.
    mutating func ms(_ range: ClosedRange<Int64>) -> Int64 { range.lowerBound + Int64(next() % UInt64(range.upperBound - range.lowerBound + 1)) }

    /// True with probability `p` (one draw).
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
}
