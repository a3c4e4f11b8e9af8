import PolicyLang

/// What is known about a node and its cluster at the moment of a decision.
///
/// Every field is optional: a missing fact takes the documented default of `FactDefaults` and is reported as
/// *assumed* in the decision, so a reader of `rc explain` sees which answers rest on guesses.
public struct Facts: Sendable, Hashable {
    public var now: Instant?
    /// `pre-lock`, `post-lock` or `post-boot`.
    public var phase: HealthPhase?
    public var nodeName: String?
    public var nodeLabels: [String: String]?
    /// Milliseconds.
    public var nodeUptime: Int64?
    public var killSwitch: Bool?
    /// The kill switches found active, as ``CheckedPolicy/text(of:)`` names them (`file /etc/rc/disable`), when the
    /// executor or the facts file says which; the reason names those rather than every switch the policy has.
    public var activeKillSwitches: [String]?
    /// Detector results by detector name.
    public var detectors: [String: DetectorObservation]
    /// Health check results by check name.
    public var health: [String: HealthObservation]
    public var lock: LockFacts
    public var cluster: ClusterFacts

    /// Creates facts; everything left out is assumed.
    public init(
        now: Instant? = nil, phase: HealthPhase? = nil, nodeName: String? = nil, nodeLabels: [String: String]? = nil,
        nodeUptime: Int64? = nil, killSwitch: Bool? = nil, detectors: [String: DetectorObservation] = [:],
        health: [String: HealthObservation] = [:], lock: LockFacts = LockFacts(), cluster: ClusterFacts = ClusterFacts()
    ) {
        self.now = now
        self.phase = phase
        self.nodeName = nodeName
        self.nodeLabels = nodeLabels
        self.nodeUptime = nodeUptime
        self.killSwitch = killSwitch
        self.detectors = detectors
        self.health = health
        self.lock = lock
        self.cluster = cluster
    }
}

/// The result of running one detector.
public struct DetectorObservation: Sendable, Hashable {
    public var state: DetectorState
    /// What the detector printed or found (bounded by the executor), for the trace.
    public var output: String?

    /// Creates an observation.
    public init(_ state: DetectorState, output: String? = nil) {
        self.state = state
        self.output = output
    }
}

/// The result of running one health check.
public struct HealthObservation: Sendable, Hashable {
    /// Whether the check passed. For a check that measures, the policy's `ok when` decides from `measurement`
    /// when there is one; `ok` then only repeats what the executor judged.
    public var ok: Bool
    public var exitCode: Int?
    public var output: String?
    /// Milliseconds.
    public var duration: Int64?
    /// What an http, prometheus or alerts check measured; `nil` for a script, or when nothing could be measured
    /// (an unreachable endpoint: `ok` is false and `output` says why).
    public var measurement: HealthMeasurement?

    /// Creates an observation.
    public init(ok: Bool, exitCode: Int? = nil, output: String? = nil, duration: Int64? = nil, measurement: HealthMeasurement? = nil) {
        self.ok = ok
        self.exitCode = exitCode
        self.output = output
        self.duration = duration
        self.measurement = measurement
    }
}

/// The values a measuring health check saw, which its `ok when` compares.
public struct HealthMeasurement: Sendable, Hashable {
    /// http: the status code.
    public var status: Int64?
    /// http: the body as JSON (objects are maps, arrays lists, numbers ints or numbers); `nil` with `bodyError`.
    public var json: Value?
    /// http: why the body is not JSON (empty, not JSON, too long).
    public var bodyError: String?
    /// prometheus: a scalar result, or a value given as such (`given { health "errors" value 0.034 }`).
    public var value: Double?
    /// prometheus: the samples of a vector result.
    public var samples: [HealthSample]?
    /// prometheus: the query's error (`bad_data: parse error …`): the query ran, and failed.
    public var queryError: String?
    /// alerts: the active alerts that match `block_on` and are neither silenced nor inhibited, by name.
    public var blockingAlerts: [String]?

    /// Creates a measurement.
    public init(
        status: Int64? = nil, json: Value? = nil, bodyError: String? = nil, value: Double? = nil, samples: [HealthSample]? = nil,
        queryError: String? = nil, blockingAlerts: [String]? = nil
    ) {
        self.status = status
        self.json = json
        self.bodyError = bodyError
        self.value = value
        self.samples = samples
        self.queryError = queryError
        self.blockingAlerts = blockingAlerts
    }

    /// The one number that stands for the measurement in metrics and in health scripts' environment: the value
    /// (or the one sample), else the number of samples when there are several, else the number of blocking alerts,
    /// else the status code; `nil` when the query failed or returned no sample (nothing was measured).
    public var number: Double? {
        if let value { return value }
        if queryError != nil { return nil }
        if let samples { return samples.isEmpty ? nil : samples.count == 1 ? samples[0].value : Double(samples.count) }
        if let blockingAlerts { return Double(blockingAlerts.count) }
        return status.map(Double.init)
    }
}

/// One sample of a Prometheus vector.
public struct HealthSample: Sendable, Hashable {
    public var value: Double
    public var labels: [String: String]

    /// Creates a sample.
    public init(value: Double, labels: [String: String] = [:]) {
        self.value = value
        self.labels = labels
    }
}

/// One node holding a lock slot.
public struct LockHolder: Sendable, Hashable {
    public var node: String
    public var pid: Int?
    public var since: Instant?

    /// Creates a holder.
    public init(node: String, pid: Int? = nil, since: Instant? = nil) {
        self.node = node
        self.pid = pid
        self.since = since
    }
}

/// What the lock backend reports.
public struct LockFacts: Sendable, Hashable {
    public var held: Bool?
    public var available: Bool?
    public var slots: Int64?
    /// The nodes holding a slot, when the backend lists them.
    public var holders: [LockHolder]?
    /// How many nodes hold a slot, when only the number is known; `lock.holders` reads this, else `holders.count`.
    public var holderCount: Int64?
    /// The first nodes waiting in line for a slot, first in line first, when the backend keeps a line (etcd).
    public var waiting: [String]?
    /// How many nodes wait in line, when more wait than `waiting` lists.
    public var waitingCount: Int64?

    /// Creates lock facts.
    public init(
        held: Bool? = nil, available: Bool? = nil, slots: Int64? = nil, holders: [LockHolder]? = nil, holderCount: Int64? = nil,
        waiting: [String]? = nil, waitingCount: Int64? = nil
    ) {
        self.held = held
        self.available = available
        self.slots = slots
        self.holders = holders
        self.holderCount = holderCount
        self.waiting = waiting
        self.waitingCount = waitingCount
    }

    /// The number of holders, if known.
    public var count: Int64? { holderCount ?? holders.map { Int64($0.count) } }
}

/// What the published cluster state says.
public struct ClusterFacts: Sendable, Hashable {
    public var size: Int64?
    public var healthy: Int64?
    public var fallbackHealthy: Int64?
    public var lastReboot: Instant?

    /// Creates cluster facts.
    public init(size: Int64? = nil, healthy: Int64? = nil, fallbackHealthy: Int64? = nil, lastReboot: Instant? = nil) {
        self.size = size
        self.healthy = healthy
        self.fallbackHealthy = fallbackHealthy
        self.lastReboot = lastReboot
    }
}

/// The values assumed for facts that were not given, chosen so that an assumption never makes a reboot more
/// likely than the truth would, except where the fact belongs to a step that the executors always measure.
public enum FactDefaults {
    /// `now`: the Unix epoch. `rc explain` and `rc simulate` give the current time instead; `rc test` refuses a
    /// test that needs the time and does not give it.
    public static let now = Instant(epochMilliseconds: 0)
    public static let killSwitch = false
    public static let nodeName = ""
    /// A node of unknown uptime is taken as just booted, so soak rules hold.
    public static let nodeUptime: Int64 = 0
    /// A cluster nobody reported on: this node alone, healthy.
    public static let clusterSize: Int64 = 1
    public static let clusterHealthy: Int64 = 1
    public static let clusterFallbackHealthy: Int64 = 0
    /// Never rebooted: the epoch.
    public static let lastReboot = Instant(epochMilliseconds: 0)
}

extension Facts {
    /// The facts a policy test gives. Unknown names were rejected by the checker.
    public init(given: [(GivenFact, Span)]) {
        self.init()
        for (fact, _) in given {
            switch fact {
            case .detector(let name, let state):
                detectors[name] = DetectorObservation(state)
            case .health(let name, let ok, let output):
                health[name] = HealthObservation(ok: ok, exitCode: ok ? 0 : 1, output: output)
            case .healthValues(let name, let values):
                health[name] = HealthObservation(ok: true, measurement: HealthMeasurement(values))
            case .healthAlerts(let name, let alerts):
                health[name] = HealthObservation(ok: alerts.isEmpty, measurement: HealthMeasurement(blockingAlerts: alerts))
            case .fact(let key, let value):
                set(key, value)
            }
        }
    }

    /// Sets one fact from a language value of the fact's type (other types are ignored; the checker and the
    /// facts-file reader check them first).
    public mutating func set(_ key: FactKey, _ value: Value) {
        switch (key, value) {
        case (.now, .instant(let i)): now = i
        case (.phase, .string(let s)): phase = HealthPhase.allCases.first { $0.environmentValue == s }
        case (.killSwitch, .bool(let b)): killSwitch = b
        case (.nodeName, .string(let s)): nodeName = s
        case (.nodeLabels, .map(let m)):
            nodeLabels = m.compactMapValues { if case .string(let s) = $0 { s } else { nil } }
        case (.nodeUptime, .duration(let d)): nodeUptime = d
        case (.clusterSize, .int(let n)): cluster.size = n
        case (.clusterHealthy, .int(let n)): cluster.healthy = n
        case (.clusterFallbackHealthy, .int(let n)): cluster.fallbackHealthy = n
        case (.clusterLastReboot, .instant(let i)): cluster.lastReboot = i
        case (.lockHeld, .bool(let b)): lock.held = b
        case (.lockAvailable, .bool(let b)): lock.available = b
        case (.lockSlots, .int(let n)): lock.slots = n
        case (.lockHolders, .int(let n)): lock.holderCount = n
        default: break
        }
    }

    /// Whether the fact was given (rather than assumed).
    public func isGiven(_ key: FactKey) -> Bool {
        switch key {
        case .now: now != nil
        case .phase: phase != nil
        case .killSwitch: killSwitch != nil
        case .nodeName: nodeName != nil
        case .nodeLabels: nodeLabels != nil
        case .nodeUptime: nodeUptime != nil
        case .clusterSize: cluster.size != nil
        case .clusterHealthy: cluster.healthy != nil
        case .clusterFallbackHealthy: cluster.fallbackHealthy != nil
        case .clusterLastReboot: cluster.lastReboot != nil
        case .lockHeld: lock.held != nil
        case .lockAvailable: lock.available != nil
        case .lockSlots: lock.slots != nil
        case .lockHolders: lock.count != nil
        case .exitCode, .stdout, .healthStatus, .healthJSON, .healthValue, .healthResult, .healthEmpty, .sample, .sampleLabels: true
        }
    }
}

extension HealthMeasurement {
    /// A measurement from the values of a test's `given` or a facts file: `status`, `json`, `value`, `result` (a
    /// list of numbers) and `empty`.
    public init(_ values: [FactKey: Value]) {
        self.init()
        if case .int(let n)? = values[.healthStatus] { status = n }
        json = values[.healthJSON]
        if let v = values[.healthValue]?.decimal { value = v }
        if case .list(let items)? = values[.healthResult] { samples = items.compactMap { $0.decimal.map { HealthSample(value: $0) } } }
        if case .bool(true)? = values[.healthEmpty], samples == nil, value == nil { samples = [] }
    }
}
