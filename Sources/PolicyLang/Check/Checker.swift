import class Foundation.NSLock
import struct Foundation.TimeZone

/// The result of checking one file.
public struct CheckResult: Sendable {
    /// The checked policy, when the file has no errors.
    public var policy: CheckedPolicy?
    /// Syntax and check diagnostics, in source order.
    public var diagnostics: [Diagnostic]
    /// The syntax tree (also when there are errors).
    public var tree: SyntaxTree

    /// Whether any diagnostic is an error.
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// Resolves names, checks types and settings, and builds a ``CheckedPolicy``. Never changes the AST.
public struct Checker {
    var tables: ExpressionTables
    /// How many `all`/`any` conditions enclose the expression being checked (`sample` and `labels` exist inside).
    var quantifierDepth = 0
    private var diagnostics = DiagnosticBag()
    private let tree: SyntaxTree
    var file: SourceFile { tree.file }
    let interpolatableFacts = ["node.name", "phase", "policy.name"]

    /// The current instant, when the caller has one (`rc check`): then a one-off window that is over is reported.
    /// Checking stays a function of its inputs; without `now` no diagnostic depends on the date.
    let now: Int64?

    /// Parses and checks a file; `now` (epoch milliseconds) enables the diagnostics that depend on the date.
    public static func check(_ file: SourceFile, now: Int64? = nil) -> CheckResult {
        check(Parser.parse(file), now: now)
    }

    /// Checks a parsed file; `now` (epoch milliseconds) enables the diagnostics that depend on the date.
    public static func check(_ tree: SyntaxTree, now: Int64? = nil) -> CheckResult {
        var checker = Checker(tree: tree, now: now)
        let policy = checker.run()
        var all = tree.diagnosticBag
        all.add(contentsOf: checker.diagnostics)
        return CheckResult(policy: all.hasErrors ? nil : policy, diagnostics: all.items, tree: tree)
    }

    private init(tree: SyntaxTree, now: Int64?) {
        self.tree = tree
        self.now = now
        self.tables = ExpressionTables(count: tree.exprCount)
    }

    mutating func report(_ diagnostic: Diagnostic) { diagnostics.add(diagnostic) }

    // MARK: - Declarations

    private mutating func run() -> CheckedPolicy {
        let syntaxErrors = tree.diagnosticBag.hasErrors
        var policyName: (String, Span)?
        var appliesTo: Expr?
        var description: String?
        var nodeName: (String, Span)?
        var detectors: [DetectorSpec] = []
        var timeZone: (String, Span)?
        var windowDecls: [(WindowDecl, Span)] = []
        var health: [HealthSpec] = []
        var healthTimeoutSpans: [String: Span] = [:]
        var lock: (LockSpec, Span, Span?)?
        var killSwitches: [(KillSwitchSpec, Span)] = []
        var reboot: ([StringLiteral], Span)?
        var cluster: (ClusterSettings, Span)?
        var metrics: (MetricsSpec, Span)?
        var notifications: [NotifySpec] = []
        var retain: Int64 = 30 * 86_400_000
        var dryRun: (Bool, Span)?
        var rules: [RuleSpec] = []
        var tests: [TestDecl] = []
        var names: [String: [String: Span]] = [:]

        func once<T>(_ existing: (T, Span)?, _ what: String, _ span: Span, into diagnostics: inout DiagnosticBag) -> Bool {
            if let existing {
                diagnostics.add(.duplicateDeclaration(span, what: what, first: existing.1))
                return false
            }
            return true
        }

        func unique(_ kind: String, _ name: StringLiteral, into diagnostics: inout DiagnosticBag) -> Bool {
            let value = name.value
            if let first = names[kind]?[value] {
                diagnostics.add(.duplicateName(name.span, kind: kind, name: value, first: first))
                return false
            }
            names[kind, default: [:]][value] = name.span
            return true
        }

        for decl in tree.decls {
            switch decl.kind {
            case .policy(let name, let body):
                guard once(policyName, "policy", decl.keyword.span, into: &diagnostics) else { continue }
                policyName = (name.value, decl.keyword.span)
                checkInterpolations(name, known: [])
                let f = fields(body, allowed: ["applies_to", "description", "node_name", "retain"], context: "the policy block", missingAt: decl.span)
                nodeName = stringField(f["node_name"])
                if let field = f["retain"] { retain = durationField(field, default: retain) }
                if let field = f["applies_to"], let expr = single(field) {
                    expectType(expr, .bool, in: .facts)
                    appliesTo = expr
                }
                description = stringField(f["description"])?.0
            case .detector(let name, let kind, let argument, let body):
                if let spec = checkDetector(name, kind, argument, body, decl), unique("detector", name, into: &diagnostics) {
                    detectors.append(spec)
                }
            case .timezone(let name):
                guard once(timeZone, "timezone", decl.keyword.span, into: &diagnostics) else { continue }
                if checkTimeZone(name) { timeZone = (name.value, decl.keyword.span) }
            case .window(let window):
                if unique("window", window.name, into: &diagnostics) { windowDecls.append((window, decl.span)) }
            case .health(let name, let script, let body):
                if let (spec, timeoutSpan) = checkHealth(name, script, body, decl), unique("health check", name, into: &diagnostics) {
                    health.append(spec)
                    healthTimeoutSpans[spec.name] = timeoutSpan
                }
            case .healthProbe(let name, let kind, let target, let query, let body):
                if let (spec, timeoutSpan) = checkHealthProbe(name, kind, target, query, body, decl), unique("health check", name, into: &diagnostics) {
                    health.append(spec)
                    healthTimeoutSpans[spec.name] = timeoutSpan
                }
            case .lock(let kind, let body):
                guard once(lock.map { ($0.0, $0.1) }, "lock", decl.keyword.span, into: &diagnostics) else { continue }
                if let (spec, ttlSpan) = checkLock(kind, body, decl) { lock = (spec, decl.keyword.span, ttlSpan) }
            case .killSwitch(let kind, let argument):
                guard let spec = checkKillSwitch(kind, argument, decl) else { continue }
                if let first = killSwitches.first(where: { sameKind($0.0, spec) }) {
                    report(.duplicateDeclaration(decl.keyword.span, what: "kill_switch \(kind.name)", first: first.1))
                } else {
                    killSwitches.append((spec, decl.keyword.span))
                }
            case .reboot(let command):
                guard once(reboot, "reboot", decl.keyword.span, into: &diagnostics) else { continue }
                if let argv = checkRebootCommand(command) { reboot = (argv, decl.keyword.span) }
            case .settings(let keyword, let body):
                if keyword.name == "cluster" {
                    guard once(cluster, "cluster", keyword.span, into: &diagnostics) else { continue }
                    cluster = (checkCluster(body, decl), keyword.span)
                } else {
                    guard once(metrics, "metrics", keyword.span, into: &diagnostics) else { continue }
                    metrics = (checkMetrics(body, decl), keyword.span)
                }
            case .notify(let kind, let target, let body):
                if let spec = checkNotify(kind, target, body, decl) { notifications.append(spec) }
            case .dryRun(let value):
                guard once(dryRun, "dry_run", decl.keyword.span, into: &diagnostics) else { continue }
                if case .bool(let b)? = constant(value, .bool, help: "write `dry_run true` or `dry_run false`") {
                    dryRun = (b, decl.keyword.span)
                }
            case .rule(let name, let body):
                if let rule = checkRule(name, body, decl), unique("rule", name, into: &diagnostics) { rules.append(rule) }
            case .test(let test):
                if unique("test", test.name, into: &diagnostics) { tests.append(test) }
            }
        }

        let zone = timeZone?.0 ?? "UTC"
        var windows: [WindowSpec] = []
        for (window, span) in windowDecls {
            if let spec = checkWindow(window, span, defaultZone: zone) { windows.append(spec) }
        }

        if case .etcd(let etcd)? = lock?.0, let ttlSpan = lock?.2,
            let longest = health.max(by: { $0.timeout < $1.timeout }), longest.timeout >= etcd.ttl
        {
            report(.ttlTooShort(ttlSpan, ttl: etcd.ttl, health: longest.name, timeout: longest.timeout, healthSpan: healthTimeoutSpans[longest.name] ?? longest.span))
        }

        // Two measuring checks whose values would reach scripts under one variable: one would hide the other.
        var variables: [String: String] = [:]
        for check in health where check.probe != nil {
            let variable = HealthSpec.valueVariable(check.name)
            if let first = variables[variable] {
                let spans = names["health check"] ?? [:]
                report(.healthVariableClash(spans[check.name] ?? check.span, check.name, first: first, firstSpan: spans[first] ?? check.span, variable: variable))
            } else {
                variables[variable] = check.name
            }
        }

        if !syntaxErrors {
            if policyName == nil { report(.missingPolicy(.at(0))) }
            // A detector declared with an error has its own diagnostic: the policy is not without detectors.
            let declaresDetectors = tree.decls.contains { if case .detector = $0.kind { true } else { false } }
            if !declaresDetectors, let span = policyName?.1 { report(.noDetectors(span)) }
        }

        // `cluster { cooldown … }` acts as a rule of its own name, which tests may expect.
        let ruleNames = rules.map(\.name) + ((cluster?.0.cooldown ?? 0) > 0 ? [cooldownRuleName] : [])
        var known = KnownNames(detectors: detectors.map(\.name), windows: windows.map(\.name), rules: ruleNames, health: health.map(\.name))
        for check in health { known.healthKinds[check.name] = check.probe?.kind }
        var checkedTests: [TestSpec] = []
        for test in tests {
            if let spec = checkTest(test, known: known, reportReferences: !syntaxErrors) { checkedTests.append(spec) }
        }

        // Settings that would be accepted and then do nothing are refused.
        if lock.map({ if case .etcd = $0.0 { false } else { true } }) ?? true, let etcdSwitch = killSwitches.first(where: { if case .etcd = $0.0 { true } else { false } }) {
            report(
                .invalidValue(
                    etcdSwitch.1, "`kill_switch etcd` needs `lock etcd`", label: "no etcd to read it from",
                    help: "with a local lock write `kill_switch file \"/etc/rc/disable\"`; to stop a whole fleet, coordinate it with `lock etcd { … }`"))
        }
        if lock.map({ if case .etcd = $0.0 { false } else { true } }) ?? true, let (settings, _) = cluster {
            // With a lock on this host nothing is published and there are no members to forget.
            for (name, set) in [("publish_interval", settings.publishIntervalSpan), ("forget_after", settings.forgetAfterSpan)] {
                if let span = set {
                    report(
                        .invalidValue(
                            span, "`\(name)` needs `lock etcd`", label: "a local lock publishes nothing",
                            help: "remove it, or coordinate the fleet with `lock etcd { … }`"))
                }
            }
        }
        if let (spec, _) = metrics, let stuck = spec.stuckAfter, let span = spec.stuckAfterSpan {
            // Between passes the loop sleeps up to 1.1 × check_interval, or a backoff: /healthz must not call that stuck.
            let settings = cluster?.0 ?? ClusterSettings()
            let longestSleep = max(settings.checkInterval + settings.checkInterval / 10, settings.backoffMax)
            if stuck <= longestSleep {
                report(
                    .invalidValue(
                        span, "`stuck_after` must be longer than the daemon sleeps between passes", label: "this is \(formatDuration(milliseconds: stuck))",
                        help: "the loop may sleep \(formatDuration(milliseconds: longestSleep)) (check_interval + 10 % jitter, or the longest backoff); write more, e.g. `stuck_after \(formatDuration(milliseconds: 2 * longestSleep))`"))
            }
        }

        let rebootCommand = reboot?.0 ?? defaultRebootCommand.map { StringLiteral(parts: [.text($0)], span: .at(0)) }
        var checked = CheckedPolicy(
            file: file, name: policyName?.0 ?? "", appliesTo: appliesTo, description: description, detectors: detectors,
            timeZone: zone, windows: windows, health: health, lock: lock?.0 ?? .local(path: nil),
            killSwitches: killSwitches.map(\.0), rebootCommand: rebootCommand, cluster: cluster?.0 ?? ClusterSettings(),
            dryRun: dryRun?.0 ?? false, metrics: metrics?.0, notifications: notifications, rules: rules, tests: checkedTests, tables: tables)
        checked.nodeName = nodeName?.0
        checked.retainDecisions = retain
        return checked
    }

    private func sameKind(_ a: KillSwitchSpec, _ b: KillSwitchSpec) -> Bool {
        switch (a, b) {
        case (.file, .file), (.etcd, .etcd): true
        default: false
        }
    }

    // MARK: - Detectors

    private mutating func checkDetector(_ name: StringLiteral, _ kind: Identifier, _ argument: Expr?, _ body: Block?, _ decl: Decl)
        -> DetectorSpec?
    {
        checkInterpolations(name, known: [])
        guard let kindName = DetectorKindName(rawValue: kind.name) else { return nil }
        let context = "a \(kind.name) detector"
        switch kindName {
        case .file:
            _ = fields(body, allowed: [], context: context, missingAt: decl.span)
            guard let argument, case .string(let path)? = constant(argument, .string) else { return nil }
            guard path.hasPrefix("/") else {
                report(.relativePath(argument.span, path, what: "a file detector's path"))
                return nil
            }
            return DetectorSpec(name: name.value, source: .file(path: path), timeout: 0, span: decl.span)
        case .command:
            let f = fields(
                body, allowed: ["reboot_when", "ok_when", "timeout"], required: [("reboot_when", "reboot_when exit == 1")],
                context: context, missingAt: decl.keyword.span.union(argument?.span ?? kind.span))
            guard let argument, let argv = stringList(argument) else { return nil }
            guard let first = argv.first else {
                report(.invalidValue(argument.span, "a command needs at least the program", label: "empty command", help: "write e.g. `[\"/usr/bin/needs-restarting\", \"-r\"]`"))
                return nil
            }
            if !first.0.hasPrefix("/") {
                report(.relativePath(first.1, first.0, what: "a detector's program"))
            }
            let timeout = durationField(f["timeout"], default: 10_000)
            var rebootWhen: Expr?
            if let field = f["reboot_when"], let expr = single(field) {
                expectType(expr, .bool, in: .detectorResult)
                rebootWhen = expr
            }
            var okWhen: Expr?
            if let field = f["ok_when"], let expr = single(field) {
                expectType(expr, .bool, in: .detectorResult)
                okWhen = expr
            }
            guard let rebootWhen else { return nil }
            return DetectorSpec(
                name: name.value, source: .command(argv: argv.map(\.0), rebootWhen: rebootWhen, okWhen: okWhen), timeout: timeout,
                span: decl.span)
        default:
            let builtin = BuiltinDetector(rawValue: kind.name)!
            let f = fields(body, allowed: ["timeout"], context: context, missingAt: decl.span)
            let timeout = durationField(f["timeout"], default: 30_000)
            return DetectorSpec(name: name.value, source: .builtin(builtin), timeout: timeout, span: decl.span)
        }
    }

    // MARK: - Time zones and windows

    private mutating func checkTimeZone(_ name: StringLiteral) -> Bool {
        let value = name.value
        if TimeZoneDatabase.isKnown(value) { return true }
        report(.unknownTimeZone(name.span, value, suggestion: TimeZoneDatabase.suggestion(for: value)))
        return false
    }

    private mutating func checkWindow(_ window: WindowDecl, _ span: Span, defaultZone: String) -> WindowSpec? {
        var zone = defaultZone
        if let tz = window.timeZone {
            guard checkTimeZone(tz) else { return nil }
            zone = tz.value
        }
        let effect: WindowEffect = window.effect.name == "allow" ? .allow : .deny
        let textEnd = window.end?.span.end ?? window.days.span.end
        let text = file.text(Span(window.days.span.start, textEnd))
        var days: [Weekday] = []
        var singleStartDay: Weekday?
        switch window.days {
        case .monthlyWeekday, .monthDays, .dated:
            guard let schedule = calendarSchedule(window, zone: zone) else { return nil }
            return WindowSpec(name: window.name.value, effect: effect, schedule: schedule, timeZone: zone, text: text, span: span)
        case .daily:
            days = Weekday.allCases
        case .days(let ranges):
            for range in ranges {
                guard let from = range.from.day else { return nil }
                if let to = range.to {
                    guard let toDay = to.day else { return nil }
                    var d = from.rawValue
                    while true {
                        days.append(Weekday(rawValue: d)!)
                        if d == toDay.rawValue { break }
                        d = (d + 1) % 7
                    }
                } else {
                    days.append(from)
                }
            }
            if ranges.count == 1, ranges[0].to == nil { singleStartDay = ranges[0].from.day }
        }
        var intervals: [WeeklyInterval] = []
        let week = WeeklyInterval.week
        if let start = window.start, let end = window.end {
            if start.minutes == 1440 {
                report(.invalidValue(start.span, "a window cannot start at 24:00", label: "start at 00:00 of the next day instead"))
                return nil
            }
            if let endDayRef = window.endDay {
                guard let endDay = endDayRef.day else { return nil }
                guard let startDay = singleStartDay else {
                    report(.endDayWithManyStartDays(window.days.span.union(endDayRef.word.span)))
                    return nil
                }
                let s = startDay.rawValue * 1440 + start.minutes
                var e = endDay.rawValue * 1440 + end.minutes
                if e == s {
                    report(.emptyWindow(start.span.union(end.span), "it starts and ends at the same moment"))
                    return nil
                }
                if e < s { e += week }
                intervals.append(WeeklyInterval(start: s, end: e))
            } else {
                if start.minutes == end.minutes {
                    report(.emptyWindow(start.span.union(end.span), "it starts and ends at the same time"))
                    return nil
                }
                for day in days {
                    let s = day.rawValue * 1440 + start.minutes
                    var e = day.rawValue * 1440 + end.minutes
                    if e <= s { e += 1440 }
                    intervals.append(WeeklyInterval(start: s, end: e))
                }
            }
        } else {
            for day in days { intervals.append(WeeklyInterval(start: day.rawValue * 1440, end: day.rawValue * 1440 + 1440)) }
        }
        return WindowSpec(name: window.name.value, effect: effect, schedule: .weekly(intervals), timeZone: zone, text: text, span: span)
    }

    // MARK: - Health, lock, kill switch, reboot, settings

    private mutating func checkHealth(_ name: StringLiteral, _ script: Expr, _ body: Block?, _ decl: Decl) -> (HealthSpec, Span)? {
        let f = fields(body, allowed: ["timeout", "run", "env"], context: "a health check", missingAt: decl.span)
        var argv: [String] = []
        let scriptType = typeOf(script, in: .constant)
        switch scriptType {
        case .string:
            guard case .string(let path)? = fold(script) else { return nil }
            argv = [path]
        case .list:
            guard let list = stringList(script) else { return nil }
            argv = list.map(\.0)
        case .error:
            return nil
        default:
            report(.typeMismatch(script.span, expected: "a path or an argv list", found: scriptType))
            return nil
        }
        guard let program = argv.first else {
            report(.invalidValue(script.span, "a health check needs a script", label: "empty", help: "write `script \"/usr/local/bin/check.sh\"`"))
            return nil
        }
        if !program.hasPrefix("/") {
            report(.relativePath(script.span, program, what: "a health script"))
            return nil
        }
        let timeout = durationField(f["timeout"], default: 30_000)
        let phases = healthPhases(f["run"])
        let timeoutSpan = f["timeout"]?.span ?? decl.span
        var spec = HealthSpec(name: name.value, argv: argv, timeout: timeout, phases: phases, span: decl.span)
        if let field = f["env"] {
            // `env { NAME "value" … }`: one field a variable.
            if case .block(let block) = field.value {
                var seen: [String: Field] = [:]
                for variable in block.fields {
                    let key = variable.name.name
                    if let first = seen[key] {
                        report(.duplicateField(variable.name.span, key, first: first.name.span))
                        continue
                    }
                    seen[key] = variable
                    guard let (text, _) = stringField(variable) else { continue }
                    if HealthSpec.reservedEnvironment.contains(key) {
                        report(.invalidValue(variable.name.span, "`env` cannot set \(key): rc sets it for each run", label: "set by rc", help: "remove \(key) from `env`"))
                    } else {
                        spec.environment[key] = text
                    }
                }
            } else {
                report(.invalidValue(field.span, "`env` takes a block of variables", label: "not a block", help: "write `env { RC_LOCK_KEY \"/cluster/lock\" }`"))
            }
        }
        return (spec, timeoutSpan)
    }

    private mutating func checkLock(_ kind: Identifier, _ body: Block?, _ decl: Decl) -> (LockSpec, Span?)? {
        switch kind.name {
        case "local":
            let f = fields(body, allowed: ["path"], context: "a local lock", missingAt: decl.span)
            return (.local(path: absolutePathField(f["path"], what: "the lock file")), nil)
        case "etcd":
            let allowed = ["endpoints", "tls", "key", "ttl", "slots", "group", "max_reboot_duration", "user", "password_file", "legacy_mutex"]
            let f = fields(
                body, allowed: allowed, required: [("endpoints", "endpoints [\"https://10.0.0.10:2379\"]")], context: "an etcd lock",
                missingAt: decl.keyword.span.union(kind.span))
            var endpoints: [String] = []
            if let list = stringListField(f["endpoints"]) {
                if list.isEmpty, let field = f["endpoints"] {
                    report(.invalidValue(field.span, "an etcd lock needs at least one endpoint", label: "empty list"))
                }
                for (endpoint, span) in list {
                    guard let scheme = endpointScheme(endpoint) else {
                        report(
                            .invalidValue(
                                span, "invalid etcd endpoint \(quoteString(endpoint))", label: "expected scheme://host:port",
                                help: "write e.g. \"https://10.0.0.10:2379\""))
                        continue
                    }
                    if scheme == "http" { report(.plaintextEtcd(span, endpoint)) }
                    endpoints.append(endpoint)
                }
            }
            var tls: TLSSpec?
            if let field = f["tls"] {
                if case .block(let block) = field.value {
                    let t = fields(block, allowed: ["ca", "cert", "key", "insecure_skip_verify", "server_name"], context: "the tls block", missingAt: field.span)
                    let skip = boolField(t["insecure_skip_verify"], default: false)
                    if let name = t["server_name"] {
                        report(
                            .invalidValue(
                                name.span, "`server_name` is not supported: rc verifies each endpoint's certificate against the endpoint's own host name",
                                label: "this would not be used", help: "write the endpoints with the name their certificates carry (a DNS name or an /etc/hosts entry) and remove `server_name`"))
                    }
                    if skip, let s = t["insecure_skip_verify"] { report(.insecureSkipVerify(s.span)) }
                    tls = TLSSpec(
                        caFile: absolutePathField(t["ca"], what: "the CA file"), certFile: absolutePathField(t["cert"], what: "the certificate file"),
                        keyFile: absolutePathField(t["key"], what: "the key file"), insecureSkipVerify: skip, serverName: stringField(t["server_name"])?.0)
                    if (tls?.certFile == nil) != (tls?.keyFile == nil), t["cert"] != nil || t["key"] != nil {
                        let which = t["cert"] == nil ? "cert" : "key"
                        report(.missingField(block.span, which, context: "a client certificate", example: "\(which) \"/etc/rc/node.\(which == "cert" ? "crt" : "key")\""))
                    }
                } else {
                    report(.invalidValue(field.span, "`tls` takes a block", label: "not a block", help: "write `tls { ca \"/etc/ssl/ca.crt\" }`"))
                }
            }
            var prefix = "/rc"
            if let (key, span) = stringField(f["key"]) {
                if key.hasPrefix("/") { prefix = key } else { report(.invalidValue(span, "the etcd key prefix must start with `/`", label: "no leading slash")) }
            }
            let ttl = durationField(f["ttl"], default: 60_000)
            var slots = 1
            if let field = f["slots"], let expr = single(field), case .int(let n)? = constant(expr, .int) {
                if n < 1 || n > 10_000 {
                    report(.invalidValue(expr.span, "`slots` must be between 1 and 10000", label: "this is \(n)"))
                } else {
                    slots = Int(n)
                }
            }
            let group = stringField(f["group"])?.0 ?? "default"
            let maxReboot = durationField(f["max_reboot_duration"], default: 1_800_000)
            var legacyMutex: String?
            if let (key, span) = stringField(f["legacy_mutex"]) {
                let trimmed = key.hasSuffix("/") ? String(key.dropLast()) : key
                if !key.hasPrefix("/") || trimmed.count < 2 {
                    report(
                        .invalidValue(
                            span, "the clusterrebootd lock key must be an absolute etcd key", label: key.hasPrefix("/") ? "no key after `/`" : "no leading slash",
                            help: "write the key clusterrebootd locks: `/<etcd_namespace>/<lock_key>`, e.g. \"/clusterrebootd/lock\""))
                } else if trimmed == prefix || prefix.hasPrefix(trimmed + "/")
                    || (trimmed.hasPrefix(prefix + "/")
                        && ["members", "alive", "locks", "epoch", "last_reboot", "kill_switch"].contains(trimmed.dropFirst(prefix.count + 1).split(separator: "/").first.map(String.init) ?? ""))
                {
                    report(
                        .invalidValue(
                            span, "the clusterrebootd lock key must lie outside rc's own keys under \(quoteString(prefix))", label: "overlaps rc's keys",
                            help: "rc keeps members/, alive/, locks/, epoch, last_reboot and kill_switch under its `key`; name clusterrebootd's lock key as clusterrebootd has it"))
                } else {
                    legacyMutex = trimmed
                }
            }
            let spec = EtcdLockSpec(
                endpoints: endpoints, tls: tls, prefix: prefix, ttl: ttl, slots: slots, group: group, maxRebootDuration: maxReboot,
                user: stringField(f["user"])?.0, passwordFile: absolutePathField(f["password_file"], what: "the password file"), legacyMutex: legacyMutex)
            return (.etcd(spec), f["ttl"]?.span ?? decl.keyword.span.union(kind.span))
        default:
            report(
                .invalidValue(
                    kind.span, "unknown lock `\(kind.name)`", label: "not a lock kind",
                    help: Diagnostic.didYouMean(closestMatch(kind.name, in: ["etcd", "local"])) ?? "write `lock etcd { … }` or `lock local`"))
            return nil
        }
    }

    private func endpointScheme(_ endpoint: String) -> String? {
        for scheme in ["https", "http"] {
            let prefix = scheme + "://"
            guard endpoint.hasPrefix(prefix) else { continue }
            let rest = endpoint.dropFirst(prefix.count)
            guard let colon = rest.lastIndex(of: ":"), !rest[..<colon].isEmpty, let port = Int(rest[rest.index(after: colon)...]),
                (1...65535).contains(port)
            else { return nil }
            return scheme
        }
        return nil
    }

    private mutating func checkKillSwitch(_ kind: Identifier, _ argument: StringLiteral?, _ decl: Decl) -> KillSwitchSpec? {
        switch kind.name {
        case "file":
            guard let argument else {
                report(.missingField(decl.span, "path", context: "a file kill switch", example: "kill_switch file \"/etc/rc/disable\""))
                return nil
            }
            checkInterpolations(argument, known: [])
            guard argument.value.hasPrefix("/") else {
                report(.relativePath(argument.span, argument.value, what: "the kill switch file"))
                return nil
            }
            return .file(path: argument.value)
        case "etcd":
            if let argument {
                checkInterpolations(argument, known: [])
                guard argument.value.hasPrefix("/") else {
                    report(.invalidValue(argument.span, "an etcd key must start with `/`", label: "no leading slash"))
                    return nil
                }
            }
            return .etcd(key: argument?.value)
        default:
            report(
                .invalidValue(
                    kind.span, "unknown kill switch `\(kind.name)`", label: "not a kill switch kind",
                    help: Diagnostic.didYouMean(closestMatch(kind.name, in: ["file", "etcd"])) ?? "write `kill_switch file \"/etc/rc/disable\"` or `kill_switch etcd`"))
            return nil
        }
    }

    private mutating func checkRebootCommand(_ command: Expr) -> [StringLiteral]? {
        guard case .list(let items) = command.kind else {
            let t = typeOf(command, in: .constant)
            if t != .error { report(.typeMismatch(command.span, expected: "an argv list", found: t, help: "write `reboot command [\"/sbin/shutdown\", \"-r\", \"now\"]`")) }
            return nil
        }
        tables.types[command.id] = .list(.string)
        var argv: [StringLiteral] = []
        for item in items {
            guard case .string(let literal) = item.kind else {
                let it = typeOf(item, in: .constant)
                if it != .error { report(.typeMismatch(item.span, expected: "a string", found: it)) }
                return nil
            }
            tables.types[item.id] = .string
            checkInterpolations(literal, known: interpolatableFacts)
            argv.append(literal)
        }
        guard let first = argv.first else {
            report(.invalidValue(command.span, "the reboot command is empty", label: "empty list", help: "write `[\"/sbin/shutdown\", \"-r\", \"now\"]`"))
            return nil
        }
        if !first.value.hasPrefix("/") { report(.relativePath(first.span, first.value, what: "the reboot program")) }
        return argv
    }

    private mutating func checkCluster(_ body: Block, _ decl: Decl) -> ClusterSettings {
        let f = fields(
            body, allowed: ["check_interval", "backoff", "cooldown", "fallback_nodes", "publish_interval", "forget_after"], context: "the cluster block",
            missingAt: decl.span)
        var settings = ClusterSettings()
        settings.checkInterval = durationField(f["check_interval"], default: settings.checkInterval)
        settings.cooldown = durationField(f["cooldown"], default: 0, positive: false)
        settings.publishInterval = durationField(f["publish_interval"], default: settings.publishInterval)
        settings.publishIntervalSpan = f["publish_interval"]?.span
        settings.forgetAfterSpan = f["forget_after"]?.span
        if let field = f["forget_after"] {
            let after = durationField(field, default: 0)
            if after > 0, after < 3 * settings.publishInterval {
                report(.invalidValue(field.span, "`forget_after` must be at least three publish intervals", label: "this is \(formatDuration(milliseconds: after))", help: "a member is stale after three publish intervals (\(formatDuration(milliseconds: 3 * settings.publishInterval))); forget it much later, for example `forget_after 7d`"))
            } else if after > 0 {
                settings.forgetAfter = after
            }
        }
        if let field = f["backoff"] {
            if case .range(let low, let high) = field.value {
                if case .duration(let a)? = constant(low, .duration), case .duration(let b)? = constant(high, .duration) {
                    if a <= 0 {
                        report(.invalidValue(low.span, "backoff must be longer than zero", label: "this is \(formatDuration(milliseconds: a))"))
                    } else if b < a {
                        report(.invalidValue(low.span.union(high.span), "backoff range is reversed", label: "the maximum is shorter than the minimum", help: "write `backoff \(formatDuration(milliseconds: b)) .. \(formatDuration(milliseconds: a))`"))
                    } else {
                        settings.backoffMin = a
                        settings.backoffMax = b
                    }
                }
            } else {
                report(.invalidValue(field.span, "`backoff` takes a range", label: "not a range", help: "write `backoff 10s .. 5m`"))
            }
        }
        if let list = stringListField(f["fallback_nodes"]) { settings.fallbackNodes = list.map(\.0) }
        return settings
    }

    private mutating func checkNotify(_ kind: Identifier, _ target: StringLiteral, _ body: Block?, _ decl: Decl) -> NotifySpec? {
        guard kind.name == "webhook" else {
            report(.invalidValue(kind.span, "unknown notification `\(kind.name)`", label: "not a notification kind", help: "write `notify webhook \"https://…\" { events blocked, rebooting }`"))
            return nil
        }
        let url = target.value
        if !(url.hasPrefix("https://") || url.hasPrefix("http://")) || url.split(separator: "/").count < 2 {
            report(.invalidValue(target.span, "invalid webhook URL \(quoteString(url))", label: "expected http:// or https://", help: "write e.g. \"https://hooks.example.com/rc\""))
        }
        let (body, refusedSource) = refuseHeaderSourceWords(body)
        let f = fields(body, allowed: ["events", "timeout", "retries", "header", "token_env", "token_file"], context: "a webhook", missingAt: decl.span)
        var events = NotifyEvent.allCases
        if let field = f["events"] {
            events = []
            if case .exprs(let items) = field.value {
                for item in items {
                    if case .name(let word) = item.kind, let event = NotifyEvent(rawValue: word) {
                        if !events.contains(event) { events.append(event) }
                    } else {
                        report(
                            .invalidValue(
                                item.span, "unknown event `\(file.text(item.span))`", label: "not an event",
                                help: Diagnostic.didYouMean(closestMatch(file.text(item.span), in: NotifyEvent.allCases.map(\.rawValue)))
                                    ?? "the events are \(NotifyEvent.allCases.map(\.rawValue).joined(separator: ", "))"))
                    }
                }
            } else {
                report(.invalidValue(field.span, "`events` takes a list of events", label: "not a list of events", help: "write `events blocked, rebooting, rebooted`"))
            }
        }
        let timeout = durationField(f["timeout"], default: 5_000)
        var retries = 3
        if let field = f["retries"], let expr = single(field), case .int(let n)? = constant(expr, .int) {
            if n < 0 || n > 10 { report(.invalidValue(expr.span, "`retries` must be between 0 and 10", label: "this is \(n)")) } else { retries = Int(n) }
        }
        let token = headerToken(f, owner: "a webhook", envExample: "RC_WEBHOOK_TOKEN", fileExample: "/etc/rc/webhook.token", refused: refusedSource)
        return NotifySpec(url: url, events: events, timeout: timeout, retries: retries, header: token?.header, tokenEnv: token?.env, tokenFile: token?.file)
    }

    private mutating func checkMetrics(_ body: Block, _ decl: Decl) -> MetricsSpec {
        let f = fields(body, allowed: ["enabled", "listen", "stuck_after"], context: "the metrics block", missingAt: decl.span)
        var listen = "127.0.0.1:9464"
        if let (address, span) = stringField(f["listen"]) {
            if let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) {
                listen = address
            } else {
                report(.invalidValue(span, "invalid listen address \(quoteString(address))", label: "expected host:port", help: "write e.g. \"127.0.0.1:9464\""))
            }
        }
        let stuck = f["stuck_after"].map { durationField($0, default: 0) }
        return MetricsSpec(enabled: boolField(f["enabled"], default: true), listen: listen, stuckAfter: stuck, stuckAfterSpan: f["stuck_after"]?.span)
    }

    // MARK: - Rules and tests

    private mutating func checkRule(_ name: StringLiteral, _ body: Block, _ decl: Decl) -> RuleSpec? {
        checkInterpolations(name, known: [])
        let f = fields(
            body, allowed: ["deny when", "description"], required: [("deny when", "deny when cluster.healthy < 3")],
            repeatable: ["deny when"], context: "a rule", missingAt: decl.span)
        var conditions: [Expr] = []
        for field in body.fields where field.name.name == "deny when" {
            if let expr = single(field) {
                expectType(expr, .bool, in: .facts)
                conditions.append(expr)
            }
        }
        guard !conditions.isEmpty else { return nil }
        return RuleSpec(name: name.value, conditions: conditions, description: stringField(f["description"])?.0, span: decl.span)
    }

    /// Whether the facts a test gives could be a live node's: no negative count or uptime, no more healthy members
    /// than members (RC2041). Reports each impossible one.
    private mutating func checkGivenIsPossible(_ test: TestDecl) -> Bool {
        var given: [FactKey: (Value, Span)] = [:]
        for case .fact(let path, let valueExpr, _) in test.given {
            guard let key = FactKey(rawValue: path.map(\.name).joined(separator: ".")), let value = fold(valueExpr) else { continue }
            given[key] = (value, valueExpr.span)
        }
        var possible = true
        for key in [FactKey.clusterSize, .clusterHealthy, .clusterFallbackHealthy, .lockSlots, .lockHolders, .nodeUptime] {
            guard let (value, span) = given[key] else { continue }
            switch value {
            case .int(let n) where n < 0, .duration(let n) where n < 0:
                report(.negativeGiven(span, fact: key.rawValue))
                possible = false
            default: break
            }
        }
        if case (.int(let healthy), let span)? = given[.clusterHealthy], case (.int(let size), let sizeSpan)? = given[.clusterSize],
            healthy > size, size >= 0
        {
            report(.healthierThanCluster(span, healthy: healthy, size: size, sizeSpan: sizeSpan))
            possible = false
        }
        return possible
    }

    struct KnownNames {
        var detectors: [String]
        var windows: [String]
        var rules: [String]
        var health: [String]
        /// The same as sets, to look names up in a policy with many of them.
        let detectorSet: Set<String>
        let windowSet: Set<String>
        let ruleSet: Set<String>
        let healthSet: Set<String>
        /// The kind of each measuring health check (a script has none).
        var healthKinds: [String: HealthProbe.Kind] = [:]

        init(detectors: [String], windows: [String], rules: [String], health: [String]) {
            (self.detectors, self.windows, self.rules, self.health) = (detectors, windows, rules, health)
            (detectorSet, windowSet, ruleSet, healthSet) = (Set(detectors), Set(windows), Set(rules), Set(health))
        }
    }

    private mutating func checkTest(_ test: TestDecl, known: KnownNames, reportReferences: Bool) -> TestSpec? {
        var ok = true
        var given: [(GivenFact, Span)] = []
        for item in test.given {
            switch item {
            case .fact(let path, let valueExpr, let span):
                let joined = path.map(\.name).joined(separator: ".")
                let pathSpan = path.first!.span.union(path.last!.span)
                guard let key = FactKey(rawValue: joined), !key.isLocal else {
                    let facts = FactKey.allCases.filter { !$0.isLocal }.map(\.rawValue)
                    report(.unknownName(pathSpan, joined, known: facts, context: "as a fact"))
                    ok = false
                    continue
                }
                if key == .phase, case .name(let word) = valueExpr.kind, let phase = HealthPhase(rawValue: word) {
                    given.append((.fact(.phase, .string(phase.environmentValue)), span))
                    continue
                }
                guard let value = constant(valueExpr, key.type) else {
                    ok = false
                    continue
                }
                if key == .phase, case .string(let s) = value, !HealthPhase.allCases.map(\.environmentValue).contains(s) {
                    report(.invalidValue(valueExpr.span, "unknown phase \(quoteString(s))", label: "not a phase", help: "the phases are pre_lock, post_lock and post_boot"))
                    ok = false
                    continue
                }
                given.append((.fact(key, value), span))
            case .detector(let name, let state, let message, let span):
                if reportReferences, !known.detectorSet.contains(name.value) {
                    report(.unknownTestReference(name.span, kind: "detector", name: name.value, known: known.detectors))
                    ok = false
                }
                switch state.name {
                case "fired": given.append((.detector(name: name.value, state: .fired), span))
                case "clear": given.append((.detector(name: name.value, state: .clear), span))
                case "error": given.append((.detector(name: name.value, state: .error(message?.value ?? "detector failed")), span))
                default:
                    report(
                        .invalidValue(
                            state.span, "unknown detector state `\(state.name)`", label: "not a state",
                            help: Diagnostic.didYouMean(closestMatch(state.name, in: ["fired", "clear", "error"])) ?? "the states are fired, clear and error"))
                    ok = false
                }
            case .healthValues(let name, let values, let span):
                if reportReferences, !known.healthSet.contains(name.value) {
                    report(.unknownTestReference(name.span, kind: "health check", name: name.value, known: known.health))
                    ok = false
                } else if known.healthSet.contains(name.value), !givenIsMeasured(name, values, kind: known.healthKinds[name.value]) {
                    ok = false
                    continue
                }
                if known.healthKinds[name.value] == .alerts {
                    if let alerts = givenAlerts(values) {
                        given.append((.healthAlerts(name: name.value, alerts: alerts), span))
                    } else {
                        ok = false
                    }
                } else if let measured = givenHealthValues(values) {
                    given.append((.healthValues(name: name.value, values: measured), span))
                } else {
                    ok = false
                }
            case .health(let name, let state, let message, let span):
                if reportReferences, !known.healthSet.contains(name.value) {
                    report(.unknownTestReference(name.span, kind: "health check", name: name.value, known: known.health))
                    ok = false
                }
                switch state.name {
                case "ok", "passes": given.append((.health(name: name.value, ok: true, output: message?.value), span))
                case "fails", "failed": given.append((.health(name: name.value, ok: false, output: message?.value), span))
                default:
                    report(
                        .invalidValue(
                            state.span, "unknown health state `\(state.name)`", label: "not a state",
                            help: Diagnostic.didYouMean(closestMatch(state.name, in: ["ok", "fails"])) ?? "the states are ok and fails"))
                    ok = false
                }
            }
        }
        ok = checkGivenIsPossible(test) && ok
        guard let expectation = test.expectation else {
            report(.missingField(test.bodySpan, "expect", context: "a test", example: "expect blocked by window \"weekend\""))
            return nil
        }
        for extra in test.expectations.dropFirst() {
            report(.duplicateExpectation(extra.span, first: expectation.span))
            ok = false
        }
        var expected: ExpectedOutcome?
        switch expectation.outcome.name {
        case "reboot": expected = .reboot
        case "no_reboot": expected = .noReboot
        case "blocked":
            guard let by = expectation.blockedBy else { return nil }
            let reasonName = by.name == "detector" ? "detector_error" : by.name
            guard let reason = BlockReason(rawValue: reasonName) else {
                report(
                    .invalidValue(
                        by.span, "unknown block reason `\(by.name)`", label: "not a reason",
                        help: Diagnostic.didYouMean(closestMatch(by.name, in: ["kill_switch", "window", "rule", "health", "lock", "detector"]))
                            ?? "the reasons are kill_switch, window, rule, health, lock and detector"))
                return nil
            }
            let target = expectation.name?.value
            if reportReferences, let name = expectation.name {
                let (kind, names, set): (String, [String]?, Set<String>) =
                    switch reason {
                    case .window: ("window", known.windows, known.windowSet)
                    case .rule: ("rule", known.rules, known.ruleSet)
                    case .health: ("health check", known.health, known.healthSet)
                    case .detectorError: ("detector", known.detectors, known.detectorSet)
                    case .killSwitch, .lock: ("", nil, [])
                    }
                if let names, !set.contains(name.value) {
                    report(.unknownTestReference(name.span, kind: kind, name: name.value, known: names))
                    ok = false
                } else if names == nil {
                    report(.invalidValue(name.span, "`blocked by \(by.name)` takes no name", label: "unexpected name", help: "write `expect blocked by \(by.name)`"))
                    ok = false
                }
            }
            expected = .blocked(by: reason, name: target)
        default:
            report(
                .invalidValue(
                    expectation.outcome.span, "unknown outcome `\(expectation.outcome.name)`", label: "not an outcome",
                    help: Diagnostic.didYouMean(closestMatch(expectation.outcome.name, in: ["reboot", "no_reboot", "blocked"]))
                        ?? "write `expect reboot`, `expect no_reboot` or `expect blocked by …`"))
            return nil
        }
        guard ok, let expected else { return nil }
        return TestSpec(name: test.name.value, given: given, expected: expected, span: test.name.span)
    }
}

/// The system's time zone database, asked through Foundation and cached.
///
/// A name is known when Foundation loads a zone for it: every name of the IANA database (canonical names,
/// links such as `Asia/Calcutta`, `Etc/…`, `CET`, `EST5EDT`). `TimeZone.knownTimeZoneIdentifiers` is not the test:
/// it is ICU's list of canonical IDs and lacks many database names (`Asia/Kolkata`, `Etc/UTC`, `CET`). Two kinds
/// of names that ICU loads but the database does not have are refused: offsets written as names (`GMT+5`,
/// `UTC+01:00`, whose sign is the opposite of the database's `Etc/GMT+5`) and ICU's three-letter abbreviations
/// (`IST`, `PST`, `CST`), which are ambiguous.
enum TimeZoneDatabase {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: Bool] = [:]

    /// ICU's legacy three-letter IDs that are not names in the IANA database (`EST`, `MST` and `HST` are).
    static let abbreviations: Set<String> = [
        "ACT", "AET", "AGT", "ART", "AST", "BET", "BST", "CAT", "CNT", "CST", "CTT", "EAT", "ECT", "IET", "IST", "JST", "MIT",
        "NET", "NST", "PLT", "PNT", "PRT", "PST", "SST", "VST",
    ]

    /// Names of the database that ICU's list of canonical IDs lacks, offered in "did you mean".
    static let extraNames = [
        "UTC", "Etc/UTC", "Asia/Kolkata", "CET", "EET", "MET", "WET", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT",
    ]

    static func isKnown(_ identifier: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if let known = cache[identifier] { return known }
        let known = !identifier.isEmpty && identifier.utf8.count <= 64 && !isOffsetName(identifier)
            && !abbreviations.contains(identifier) && !identifier.hasPrefix("SystemV/") && TimeZone(identifier: identifier) != nil
        if cache.count < 4096 { cache[identifier] = known }
        return known
    }

    /// `GMT+5`, `UTC-03:30`: an offset, not a database name (`GMT+0` and `GMT-0` are database names for UTC).
    static func isOffsetName(_ identifier: String) -> Bool {
        guard identifier != "GMT+0", identifier != "GMT-0" else { return false }
        for prefix in ["GMT", "UTC", "UT"] where identifier.hasPrefix(prefix) {
            let rest = identifier.utf8.dropFirst(prefix.utf8.count)
            if let sign = rest.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { return true }
        }
        return false
    }

    static func suggestion(for identifier: String) -> String? {
        guard identifier.utf8.count <= 64 else { return nil }
        let all = TimeZone.knownTimeZoneIdentifiers + extraNames
        if let exact = all.first(where: { $0.lowercased() == identifier.lowercased() }) { return exact }
        if let city = all.first(where: { $0.split(separator: "/").last.map(String.init)?.lowercased() == identifier.lowercased().replacingOccurrences(of: " ", with: "_") }) {
            return city
        }
        return closestMatch(identifier, in: all)
    }
}
