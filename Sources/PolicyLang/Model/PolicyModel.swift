/// A built-in detector.
public enum BuiltinDetector: String, Sendable, CaseIterable {
    /// `/var/run/reboot-required` (Debian, Ubuntu).
    case debian
    /// `needs-restarting -r` (RHEL, Fedora, Alma, Rocky).
    case rhel
    /// `/run/reboot-needed` or `zypper needs-rebooting` (SUSE).
    case suse
    /// `needrestart -b` kernel status.
    case needrestart
    /// The running kernel is older than the newest installed one.
    case kernel
}

/// What a detector looks at.
public enum DetectorSource: Sendable {
    /// Fires when the file exists.
    case file(path: String)
    /// Runs argv; fires when `rebootWhen` holds, is clear when `okWhen` holds, and is an error otherwise.
    case command(argv: [String], rebootWhen: Expr, okWhen: Expr?)
    case builtin(BuiltinDetector)
}

/// A checked detector.
public struct DetectorSpec: Sendable {
    public var name: String
    public var source: DetectorSource
    /// Milliseconds.
    public var timeout: Int64
    public var span: Span
}

/// Whether a window lets reboots through or holds them back.
public enum WindowEffect: String, Sendable {
    case allow, deny
}

/// A stretch of the week in local wall-clock minutes, Monday 00:00 = 0. `end` may exceed 10 080 when
/// the interval crosses the week end; `end > start` always.
public struct WeeklyInterval: Sendable, Hashable {
    public var start: Int
    public var end: Int

    /// Creates an interval.
    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    /// Minutes in a week.
    public static let week = 7 * 1440

    /// Whether the local minute of the week `m` (0 ..< 10 080) falls inside.
    public func contains(minuteOfWeek m: Int) -> Bool {
        (m >= start && m < end) || (m + WeeklyInterval.week >= start && m + WeeklyInterval.week < end)
    }
}

/// A checked maintenance window.
public struct WindowSpec: Sendable {
    public var name: String
    public var effect: WindowEffect
    /// When the window is open.
    public var schedule: WindowSchedule
    /// The weekly stretches of a weekly window (empty for a monthly or dated one).
    public var intervals: [WeeklyInterval] {
        if case .weekly(let intervals) = schedule { return intervals }
        return []
    }
    /// IANA time zone identifier the intervals are in.
    public var timeZone: String
    /// The window as written, e.g. `Fri 18:00 .. Mon 08:00`.
    public var text: String
    public var span: Span
}

/// When a health check runs.
public enum HealthPhase: String, Sendable, CaseIterable {
    case preLock = "pre_lock"
    case postLock = "post_lock"
    case postBoot = "post_boot"

    /// The value of `RC_PHASE` and of the `phase` fact.
    public var environmentValue: String {
        switch self {
        case .preLock: "pre-lock"
        case .postLock: "post-lock"
        case .postBoot: "post-boot"
        }
    }
}

/// What a health gate measures other than a script's exit: an HTTP endpoint, a Prometheus query or Alertmanager's
/// active alerts.
public struct HealthProbe: Sendable {
    /// The kinds of measuring health check.
    public enum Kind: String, Sendable, CaseIterable {
        /// `http "URL" { ok when status == 200 and json.x < 5 }`: a GET, its status and JSON body.
        case http
        /// `prometheus "URL" query "…" { ok when value < 0.01 }`: an instant query (`/api/v1/query`).
        case prometheus
        /// `alerts "URL" { block_on {severity: "critical"} }`: Alertmanager's `/api/v2/alerts`.
        case alerts

        /// The values a test's `given` gives a check of this kind, named as its `ok when` reads them.
        public var measuredValues: [String] {
            switch self {
            case .http: ["status", "json"]
            case .prometheus: ["value", "result", "empty"]
            case .alerts: ["alerts"]
            }
        }
    }

    public var kind: Kind
    /// The endpoint: the URL an http check GETs, the base URL of Prometheus or Alertmanager.
    public var url: String
    /// The PromQL of a prometheus check.
    public var query: String?
    /// `ok when`: the condition on the measured values (http and prometheus).
    public var condition: Expr?
    /// `block_on`: labels an active alert must all carry to block (alerts).
    public var blockOn: [String: String] = [:]
    /// A header sent with the request, its value read from `tokenEnv` or `tokenFile` when the check runs (a token).
    public var header: String?
    public var tokenEnv: String?
    public var tokenFile: String?
    /// A PEM file of the certificate authorities to trust for an https endpoint, instead of the system's.
    public var caFile: String?
    /// The largest response body read, in bytes; a longer one fails the check.
    public static let maxBody = 1 << 20
    /// The most redirects followed; more fail the check.
    public static let maxRedirects = 3

    /// Creates a probe.
    public init(kind: Kind, url: String) {
        self.kind = kind
        self.url = url
    }
}

/// A checked health gate.
public struct HealthSpec: Sendable {
    public var name: String
    /// The script and its arguments; empty for a check that measures (`probe`).
    public var argv: [String]
    /// Milliseconds.
    public var timeout: Int64
    public var phases: [HealthPhase]
    /// Extra variables of the script's environment (`env { "NAME": "value" }`): they replace rc's own variables of
    /// the same name, except the ones rc sets for each run (`reservedEnvironment`), which the checker refuses.
    public var environment: [String: String] = [:]
    public var span: Span
    /// What the check measures when it is not a script.
    public var probe: HealthProbe? = nil
    /// `health "name" http`, `prometheus`, `alerts` or `script`: how the trace names the check.
    public var kindName: String { probe?.kind.rawValue ?? "health" }

    /// `RC_HEALTH_<NAME>_VALUE`, the variable that gives health scripts what this check measured: the name
    /// upper-cased, every character other than an ASCII letter or digit an underscore (`web-lag.p99` gives
    /// `RC_HEALTH_WEB_LAG_P99_VALUE`).
    public static func valueVariable(_ check: String) -> String {
        let name = check.uppercased().unicodeScalars.map { s -> Character in
            ("A"..."Z").contains(s) || ("0"..."9").contains(s) ? Character(s) : "_"
        }
        return "RC_HEALTH_" + String(name) + "_VALUE"
    }

    /// Variables rc sets for each run of a health check; a policy's `env` may not set them.
    public static let reservedEnvironment: Set<String> = [
        "PATH", "RC_PHASE", "RC_NODE_NAME", "RC_POLICY", "RC_DRY_RUN", "RC_LOCK_ENABLED", "RC_LOCK_HELD", "RC_LOCK_ATTEMPTS", "RC_SKIP_LOCK",
        "RC_SKIP_HEALTH", "RC_RUN_ID",
    ]
}

/// TLS settings for etcd.
public struct TLSSpec: Sendable, Hashable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var insecureSkipVerify: Bool
    public var serverName: String?

    /// Creates TLS settings.
    public init(caFile: String?, certFile: String?, keyFile: String?, insecureSkipVerify: Bool, serverName: String?) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecureSkipVerify = insecureSkipVerify
        self.serverName = serverName
    }
}

/// A semaphore on etcd.
public struct EtcdLockSpec: Sendable, Hashable {
    public var endpoints: [String]
    public var tls: TLSSpec?
    /// The key prefix under which rc keeps its keys.
    public var prefix: String
    /// Milliseconds.
    public var ttl: Int64
    public var slots: Int
    public var group: String
    /// Milliseconds a slot stays held across a reboot before it frees itself.
    public var maxRebootDuration: Int64
    public var user: String?
    public var passwordFile: String?
    /// The key of clusterrebootd's lock (an etcd `concurrency.Mutex`, as `etcdctl lock` takes it) while a fleet
    /// moves from clusterrebootd to rc: its holder counts as one slot, and an rc node takes it for its reboot.
    public var legacyMutex: String?
}

/// How reboots are serialised.
public enum LockSpec: Sendable, Hashable {
    /// An flock on a file on this host.
    case local(path: String?)
    case etcd(EtcdLockSpec)
}

/// A kill switch.
public enum KillSwitchSpec: Sendable, Hashable {
    case file(path: String)
    /// An etcd key; `nil` means `<prefix>/kill_switch`.
    case etcd(key: String?)
}

/// Daemon and cluster settings.
public struct ClusterSettings: Sendable {
    /// Milliseconds between passes.
    public var checkInterval: Int64 = 300_000
    public var backoffMin: Int64 = 10_000
    public var backoffMax: Int64 = 300_000
    /// Minimum time between two reboots in the cluster.
    public var cooldown: Int64 = 0
    public var fallbackNodes: [String] = []
    /// How often node state is published.
    public var publishInterval: Int64 = 30_000
    /// Milliseconds after its last report at which a member that stopped reporting leaves the fleet; `nil`: it
    /// stays a member (counted, not healthy) until `rc fleet forget`.
    public var forgetAfter: Int64?
    /// Where `publish_interval` and `forget_after` were given, if they were (settings that need `lock etcd`).
    public var publishIntervalSpan: Span?
    public var forgetAfterSpan: Span?

    public init() {}
}

/// Metrics endpoint settings.
/// What a webhook is told of.
public enum NotifyEvent: String, Sendable, CaseIterable, Hashable {
    /// A pass was blocked, for a reason other than the last one's.
    case blocked
    /// This node took a lock slot.
    case lockAcquired = "lock_acquired"
    /// Right before the reboot command.
    case rebooting
    /// Back after the reboot, the post-boot gate passed.
    case rebooted
    /// The slot was given back without a reboot.
    case released
    /// A pass failed (the lock or fleet could not be read, the reboot command failed).
    case error
}

/// `notify webhook "URL" { … }`: a POST of each event, in the background.
public struct NotifySpec: Sendable, Hashable {
    public var url: String
    public var events: [NotifyEvent]
    /// Milliseconds per try.
    public var timeout: Int64
    /// Tries after the first, with backoff.
    public var retries: Int
    /// A header sent with each POST, its value read from an environment variable or a file (a token).
    public var header: String?
    public var tokenEnv: String?
    public var tokenFile: String?
}

public struct MetricsSpec: Sendable {
    public var enabled: Bool
    /// `host:port` of `/metrics`, `/healthz` and `/readyz`.
    public var listen: String
    /// Milliseconds after which `/healthz` calls a pass, or a loop without one, stuck (nil: the daemon's default).
    public var stuckAfter: Int64?
    public var stuckAfterSpan: Span?

    /// The bound `/healthz` uses: `stuck_after`, else the longer of 10 minutes and three times the longest sleep.
    public static func stuckAfter(_ spec: MetricsSpec?, _ cluster: ClusterSettings) -> Int64 {
        spec?.stuckAfter ?? max(600_000, 3 * max(cluster.checkInterval + cluster.checkInterval / 10, cluster.backoffMax))
    }
}

/// A checked rule: it denies when any of its conditions holds.
public struct RuleSpec: Sendable {
    public var name: String
    public var conditions: [Expr]
    public var description: String?
    public var span: Span
}

/// A fact set by a test's `given`.
public enum GivenFact: Sendable {
    case fact(FactKey, Value)
    case detector(name: String, state: DetectorState)
    case health(name: String, ok: Bool, output: String?)
    /// `health "errors" value 0.034`, `health "lag" status 200 json {…}`: values a measuring check saw.
    case healthValues(name: String, values: [FactKey: Value])
    /// `health "pages" alerts ["HighErrorRate"]`: the active alerts an alerts check found matching `block_on`
    /// (neither silenced nor inhibited); `alerts []` is none.
    case healthAlerts(name: String, alerts: [String])
}

/// The state of a detector as a test gives it.
public enum DetectorState: Sendable, Hashable {
    case fired
    case clear
    case error(String)
}

/// What a test expects.
public enum ExpectedOutcome: Sendable, Hashable {
    case reboot
    case noReboot
    case blocked(by: BlockReason, name: String?)
}

/// What can block a reboot.
public enum BlockReason: String, Sendable, CaseIterable, Hashable {
    case killSwitch = "kill_switch"
    case window
    case rule
    case health
    case lock
    case detectorError = "detector_error"

    /// The exit code of DESIGN.md for this reason.
    public var exitCode: Int32 {
        switch self {
        case .killSwitch: 5
        case .window: 7
        case .rule: 8
        case .health: 3
        case .lock: 4
        case .detectorError: 6
        }
    }
}

/// A checked test.
public struct TestSpec: Sendable {
    public var name: String
    public var given: [(GivenFact, Span)]
    public var expected: ExpectedOutcome
    public var span: Span
}

/// A policy that passed the checker: everything resolved, defaulted and typed.
public struct CheckedPolicy: Sendable {
    public var file: SourceFile
    public var name: String
    public var appliesTo: Expr?
    public var description: String?
    /// `policy { node_name "…" }`: the node a per-node policy is for, which the daemon runs as unless told
    /// otherwise (`--node-name`, `RC_NODE_NAME`).
    public var nodeName: String? = nil
    public var detectors: [DetectorSpec]
    public var timeZone: String
    public var windows: [WindowSpec]
    public var health: [HealthSpec]
    public var lock: LockSpec
    public var killSwitches: [KillSwitchSpec]
    /// argv; each element may hold `${…}` interpolations.
    public var rebootCommand: [StringLiteral]
    public var cluster: ClusterSettings
    public var dryRun: Bool
    public var metrics: MetricsSpec?
    public var notifications: [NotifySpec] = []
    /// Milliseconds the decision log keeps an entry (`policy { retain }`, 30 days by default).
    public var retainDecisions: Int64 = 30 * 86_400_000
    public var rules: [RuleSpec]
    public var tests: [TestSpec]
    /// Side tables keyed by expression id.
    public var tables: ExpressionTables

    /// The key of `kill_switch etcd` without a key: `<prefix>/kill_switch` of the etcd lock.
    public var defaultKillSwitchKey: String {
        if case .etcd(let spec) = lock { return spec.prefix + "/kill_switch" }
        return "/rc/kill_switch"
    }

    /// How a kill switch is named in reasons and facts: `file /etc/rc/disable`, `etcd key /rc/kill_switch`.
    public func text(of killSwitch: KillSwitchSpec) -> String {
        switch killSwitch {
        case .file(let path): "file \(path)"
        case .etcd(let key): "etcd key \(key ?? defaultKillSwitchKey)"
        }
    }
}

/// What the checker learned about each expression, keyed by `Expr.id`.
public struct ExpressionTables: Sendable {
    /// The type of each expression.
    public var types: [RCType?]
    /// The fact each fact reference resolves to.
    public var facts: [FactKey?]
    /// The compiled regex of each regex literal.
    public var regexes: [Int: CompiledRegex]

    init(count: Int) {
        types = Array(repeating: nil, count: count)
        facts = Array(repeating: nil, count: count)
        regexes = [:]
    }
}

/// The default reboot command.
public let defaultRebootCommand = ["/sbin/shutdown", "-r", "now", "rc: coordinated reboot"]

/// The name under which `cluster { cooldown … }` blocks, like a rule.
public let cooldownRuleName = "cluster cooldown"
