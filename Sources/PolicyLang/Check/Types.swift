/// The types of the policy language.
public indirect enum RCType: Hashable, Sendable, CustomStringConvertible {
    case bool
    case int
    /// A decimal number (`0.01`, a Prometheus sample); an int fits where a number is expected.
    case number
    case percent
    case duration
    case timeOfDay
    case weekday
    case instant
    case string
    case regex
    case list(RCType)
    case map(RCType)
    /// A group of facts such as `node`; only its fields have values.
    case record(String)
    /// A part of a JSON response body (`json.replication.lag_seconds`): its shape is known only when the check runs,
    /// so it fits anything at check time and a wrong shape is a health failure naming the path.
    case json
    /// The element type of an empty list; fits anything.
    case any
    /// The type of an expression that already has an error; fits anything, so errors do not cascade.
    case error

    public var description: String {
        switch self {
        case .bool: "bool"
        case .int: "int"
        case .number: "number"
        case .percent: "percent"
        case .duration: "duration"
        case .timeOfDay: "time of day"
        case .weekday: "weekday"
        case .instant: "instant"
        case .string: "string"
        case .regex: "regex"
        case .list(let e): "list<\(e)>"
        case .map(let v): "map<string, \(v)>"
        case .record(let name): "`\(name)` (a group of facts)"
        case .json: "json"
        case .any: "any"
        case .error: "<error>"
        }
    }

    /// Whether a value of this type fits where `other` is expected.
    public func fits(_ other: RCType) -> Bool {
        switch (self, other) {
        case (.error, _), (_, .error), (.any, _), (_, .any), (.json, _), (_, .json): true
        case (.int, .number): true
        case (.list(let a), .list(let b)), (.map(let a), .map(let b)): a.fits(b)
        default: self == other
        }
    }

    /// The more specific of two fitting types (`list<any>` and `list<int>` give `list<int>`).
    func unified(with other: RCType) -> RCType {
        switch (self, other) {
        case (.error, _), (_, .error): .error
        case (.any, let t), (let t, .any): t
        case (.int, .number), (.number, .int): .number
        case (.list(let a), .list(let b)): .list(a.unified(with: b))
        case (.map(let a), .map(let b)): .map(a.unified(with: b))
        default: self
        }
    }

    /// Whether a JSON body can hold a value of this type (numbers, strings, bools, lists, objects).
    var isInJSON: Bool {
        switch self {
        case .int, .number, .string, .bool, .list, .map, .json, .any, .error: true
        default: false
        }
    }

    var isOrdered: Bool {
        switch self {
        case .int, .number, .percent, .duration, .instant, .timeOfDay, .string, .error, .any, .json: true
        default: false
        }
    }
}

/// Every fact an expression can read. The checker resolves fact paths to keys so evaluation needs no lookups.
public enum FactKey: String, Sendable, CaseIterable, Hashable {
    case now
    case phase
    case killSwitch = "kill_switch"
    case nodeName = "node.name"
    case nodeLabels = "node.labels"
    case nodeUptime = "node.uptime"
    case clusterSize = "cluster.size"
    case clusterHealthy = "cluster.healthy"
    case clusterFallbackHealthy = "cluster.fallback_healthy"
    case clusterLastReboot = "cluster.last_reboot"
    case lockHeld = "lock.held"
    case lockAvailable = "lock.available"
    case lockSlots = "lock.slots"
    case lockHolders = "lock.holders"
    /// `exit` inside a command detector's `reboot_when`/`ok_when`.
    case exitCode = "exit"
    /// `stdout` inside a command detector's `reboot_when`/`ok_when`.
    case stdout
    /// `status` inside an http health check's `ok when`: the HTTP status code.
    case healthStatus = "status"
    /// `json` inside an http health check's `ok when`: the response body as JSON.
    case healthJSON = "json"
    /// `value` inside a prometheus health check's `ok when`: the scalar, or the one sample of a vector.
    case healthValue = "value"
    /// `result` inside a prometheus health check's `ok when`: the samples of a vector.
    case healthResult = "result"
    /// `empty` inside a prometheus health check's `ok when`: the query returned no sample.
    case healthEmpty = "empty"
    /// `sample` inside `all(result, …)`, `any(result, …)`: one sample's value.
    case sample
    /// `labels` inside `all(result, …)`, `any(result, …)`: one sample's labels.
    case sampleLabels = "labels"

    /// The type of the fact's value.
    public var type: RCType {
        switch self {
        case .now, .clusterLastReboot: .instant
        case .phase, .nodeName, .stdout: .string
        case .healthJSON: .json
        case .healthValue, .sample: .number
        case .healthResult: .list(.number)
        case .healthEmpty: .bool
        case .sampleLabels: .map(.string)
        case .healthStatus: .int
        case .killSwitch, .lockHeld, .lockAvailable: .bool
        case .nodeLabels: .map(.string)
        case .nodeUptime: .duration
        case .clusterSize, .clusterHealthy, .clusterFallbackHealthy, .lockSlots, .lockHolders, .exitCode: .int
        }
    }

    /// The dotted path, split.
    public var path: [String] { rawValue.split(separator: ".").map(String.init) }

    /// What the fact means, for docs and hover text.
    public var summary: String {
        switch self {
        case .now: "the time of the decision"
        case .phase: "the phase being decided: \"pre-lock\", \"post-lock\" or \"post-boot\""
        case .killSwitch: "whether a kill switch is active"
        case .nodeName: "this node's name"
        case .nodeLabels: "this node's labels"
        case .nodeUptime: "how long this node has been up"
        case .clusterSize: "how many nodes publish their state"
        case .clusterHealthy: "how many of them are healthy"
        case .clusterFallbackHealthy: "how many fallback nodes are healthy"
        case .clusterLastReboot: "when any node of the cluster last rebooted"
        case .lockHeld: "whether this node holds a lock slot"
        case .lockAvailable: "whether a lock slot is free"
        case .lockSlots: "how many lock slots there are"
        case .lockHolders: "how many nodes hold a slot"
        case .exitCode: "the exit code of the detector command"
        case .stdout: "the standard output of the detector command"
        case .healthStatus: "the HTTP status code of the health check's response"
        case .healthJSON: "the health check's response body, as JSON"
        case .healthValue: "the value of the health check's Prometheus query"
        case .healthResult: "the samples the health check's Prometheus query returned"
        case .healthEmpty: "whether the health check's Prometheus query returned no sample"
        case .sample: "one sample's value, inside `all`, `any`"
        case .sampleLabels: "one sample's labels, inside `all`, `any`"
        }
    }

    /// Whether the fact exists only inside a detector's or a health check's own condition, not in rules.
    public var isLocal: Bool {
        switch self {
        case .exitCode, .stdout, .healthStatus, .healthJSON, .healthValue, .healthResult, .healthEmpty, .sample, .sampleLabels: true
        default: false
        }
    }
}

/// Which names an expression may use.
public enum ExpressionScope: Sendable {
    /// Conditions of rules and `applies_to`: every node and cluster fact.
    case facts
    /// A command detector's `reboot_when`/`ok_when`: `exit` and `stdout` only.
    case detectorResult
    /// An http health check's `ok when`: `status` and `json`.
    case httpResult
    /// A prometheus health check's `ok when`: `value`, `result` and `empty`.
    case queryResult
    /// Settings: constants only.
    case constant

    /// The root names visible in the scope.
    var roots: [String] {
        switch self {
        case .facts: ["now", "phase", "kill_switch", "node", "cluster", "lock"]
        case .detectorResult: ["exit", "stdout"]
        case .httpResult: ["status", "json"]
        case .queryResult: ["value", "result", "empty"]
        case .constant: []
        }
    }
}

/// The functions expressions may call.
public enum BuiltinFunction: String, Sendable, CaseIterable {
    case max, min, len
    /// `count(list)`: the number of elements (as `len`).
    case count
    /// `all(list, condition)`, `any(list, condition)`: bounded quantifiers; the condition reads each element as
    /// `sample` (and a Prometheus sample's labels as `labels`).
    case all, any
}
