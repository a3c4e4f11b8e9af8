import Evaluator
import Executors
import Foundation
import PolicyLang
import Testing

/// `rc import` reads a clusterrebootd configuration as clusterrebootd's own code does (ActiDoo/clusterrebootd). Each
/// test names the upstream file and function whose behaviour it follows.
@Suite struct ImporterUpstreamTests {
    static let header = "node_name: node-a\nreboot_required_detectors: [{type: file, path: /var/run/reboot-required}]\n"
    static let etcd = "etcd_endpoints: [\"127.0.0.1:2379\"]\nhealth_script: /usr/local/bin/health.sh\n"

    struct Imported {
        var output: ClusterRebootdImporter.Output
        var policy: CheckedPolicy?
        var text: String { output.policy ?? "" }
        var errors: [Diagnostic] { output.diagnostics.filter { $0.severity == .error } }
        var warnings: [String] { output.diagnostics.filter { $0.severity == .warning }.map(\.message) }
    }

    func importing(_ yaml: String, options: ClusterRebootdImporter.Options = .init()) -> Imported {
        let output = ClusterRebootdImporter.convert(SourceFile(path: "config.yaml", text: yaml), options: options)
        var policy: CheckedPolicy?
        if let text = output.policy {
            let checked = Checker.check(SourceFile(path: "imported.rcl", text: text))
            #expect(!checked.hasErrors, "the imported policy does not check: \(checked.diagnostics.map(\.message))\n\(text)")
            policy = checked.policy
        }
        return Imported(output: output, policy: policy)
    }

    func detectorState(_ policy: CheckedPolicy, exit: Int32) -> DetectorState? {
        PreparedPolicy(policy).commandDetectorState(policy.detectors[0].name, exitCode: exit, stdout: "")
    }

    // MARK: 1. Command detectors (pkg/detector/detector.go, commandDetector.EvaluateCommand)

    @Test(arguments: ["", "    success_exit_codes: []\n"])
    func aCommandDetectorWithoutSuccessCodesFiresOnAnyExitButZero(_ codes: String) throws {
        let yaml = "node_name: a\nreboot_required_detectors:\n  - type: command\n    cmd: [/usr/bin/check]\n" + codes
        let policy = try #require(importing(yaml).policy)
        #expect(detectorState(policy, exit: 0) == .clear)
        #expect(detectorState(policy, exit: 1) == .fired)
        #expect(detectorState(policy, exit: 100) == .fired)
    }

    @Test func listedSuccessCodesFireOnThoseAndAreClearOnAnyOther() throws {
        let yaml = "node_name: a\nreboot_required_detectors:\n  - type: command\n    cmd: [/usr/bin/check]\n    success_exit_codes: [1, 2, 1]\n"
        let policy = try #require(importing(yaml).policy)
        #expect(detectorState(policy, exit: 1) == .fired && detectorState(policy, exit: 2) == .fired)
        #expect(detectorState(policy, exit: 0) == .clear && detectorState(policy, exit: 3) == .clear)
    }

    // MARK: 2. and 3. The cluster gate (pkg/orchestrator/runner.go, Runner.evaluateClusterPolicies)

    @Test func anyUnhealthyNodeBlocksEvenWithoutClusterPolicies() throws {
        let imported = importing(Self.header + Self.etcd)
        let policy = try #require(imported.policy)
        #expect(policy.rules.map(\.name) == ["no unhealthy node"])
        #expect(imported.text.contains("deny when cluster.healthy < cluster.size"))
    }

    @Test func onlyFallbackNodesLeftBlocksWhenEveryHealthyNodeIsAFallbackNode() throws {
        let yaml = Self.header + Self.etcd + "cluster_policies:\n  forbid_if_only_fallback_left: true\n  fallback_nodes: [\" cp-a \", cp-b, \"\"]\n"
        let imported = importing(yaml)
        let policy = try #require(imported.policy)
        // Names are trimmed and empty ones dropped, as clusterrebootd builds its fallback set.
        #expect(policy.cluster.fallbackNodes == ["cp-a", "cp-b"])
        #expect(policy.rules.map(\.name) == ["no unhealthy node", "only fallback nodes left"])
        #expect(imported.text.contains("deny when cluster.healthy > 0 and cluster.healthy == cluster.fallback_healthy"))
    }

    @Test func forbiddingWithoutFallbackNodesHasNoEffectAndImports() throws {
        let imported = importing(Self.header + Self.etcd + "cluster_policies: {forbid_if_only_fallback_left: true}\n")
        #expect(imported.policy?.rules.map(\.name) == ["no unhealthy node"])
        #expect(imported.warnings.contains { $0.contains("without `fallback_nodes` has no effect") })
    }

    /// clusterrebootd's threshold is `ceil(fraction × size)` in floating point; rc's is exact. Where they part (0.67
    /// at 1500 nodes: 1005.0000000000001 rounds up to 1006), the import writes clusterrebootd's threshold.
    @Test func theFractionThresholdIsClusterrebootdsAtEverySize() throws {
        let imported = importing(Self.header + Self.etcd + "cluster_policies: {min_healthy_fraction: 0.67}\n")
        let policy = try #require(imported.policy)
        #expect(imported.text.contains("deny when cluster.size == 1500 and cluster.healthy < 1006"))
        for size in [1, 3, 10, 1499, 1500, 2900, 3001, 10_000] {
            let required = Int((0.67 * Double(size)).rounded(.up))
            for healthy in [required - 1, required] {
                #expect(fractionBlocks(policy, size: size, healthy: healthy) == (healthy < required), "size \(size), healthy \(healthy)")
            }
        }
    }

    /// Decides a policy holding only the fraction rule, so no other rule answers first.
    func fractionBlocks(_ policy: CheckedPolicy, size: Int, healthy: Int) -> Bool {
        var only = policy
        only.rules = policy.rules.filter { $0.name == "min healthy fraction" }
        let facts = Facts(
            detectors: [policy.detectors[0].name: DetectorObservation(.fired)], cluster: ClusterFacts(size: Int64(size), healthy: Int64(healthy), fallbackHealthy: 0))
        return PreparedPolicy(only).decide(facts).name == "min healthy fraction"
    }

    // MARK: 4. Time zone (Go's time.Local: zoneinfo_unix.go, initLocal)

    @Test func windowsAreReadInTheHostsLocalZone() throws {
        try withZoneFiles { dir in
            let zone = try ImportTimeZone.host(environment: [:], localtime: dir + "/localtime", zoneinfo: [dir + "/zoneinfo/"]).get()
            #expect(zone == ImportTimeZone(name: "Europe/Berlin", source: dir + "/localtime"))
            let imported = importing(Self.header + "windows: {deny: [\"Fri 18:00-Mon 08:00\"]}\n", options: .init(timeZone: .success(zone)))
            #expect(imported.policy?.windows.allSatisfy { $0.timeZone == "Europe/Berlin" } == true)
            #expect(imported.text.contains("here \"Europe/Berlin\", the local zone of the host that ran rc import (\(dir)/localtime)"))
        }
    }

    @Test func theTZVariableWinsAsInGo() throws {
        try withZoneFiles { dir in
            let roots = [dir + "/zoneinfo/"]
            let local = dir + "/localtime"
            #expect(try ImportTimeZone.host(environment: ["TZ": "America/New_York"], localtime: local, zoneinfo: roots).get().name == "America/New_York")
            #expect(try ImportTimeZone.host(environment: ["TZ": ":America/New_York"], localtime: local, zoneinfo: roots).get().name == "America/New_York")
            #expect(try ImportTimeZone.host(environment: ["TZ": ""], localtime: local, zoneinfo: roots).get().name == "UTC")
            #expect(try ImportTimeZone.host(environment: ["TZ": local], localtime: local, zoneinfo: roots).get().name == "Europe/Berlin")
            // Go falls back to UTC for a name it cannot load; the import says so.
            let unknown = try ImportTimeZone.host(environment: ["TZ": "CET-1CEST"], localtime: local, zoneinfo: roots).get()
            #expect(unknown.name == "UTC" && unknown.note != nil)
            #expect(try ImportTimeZone.host(environment: [:], localtime: dir + "/none", zoneinfo: roots).get().name == "UTC")
        }
    }

    @Test func aZoneFileThatNamesNoZoneIsAnErrorThatAsksForTimezone() throws {
        try withZoneFiles { dir in
            try Data("TZif-copy".utf8).write(to: URL(fileURLWithPath: dir + "/copied"))
            let result = ImportTimeZone.host(environment: ["TZ": dir + "/copied"], localtime: dir + "/localtime", timezoneFile: dir + "/no-timezone", zoneinfo: [dir + "/zoneinfo/"])
            guard case .failure(let why) = result else {
                Issue.record("expected a failure")
                return
            }
            #expect(why.description.contains("--timezone"))
            let imported = importing(Self.header + "windows: {deny: [\"* 23:00-06:00\"]}\n", options: .init(timeZone: result))
            #expect(imported.output.policy == nil)
            #expect(imported.errors.first?.message.contains("the windows need a time zone") == true)
        }
    }

    @Test func aHostZoneRcDoesNotKnowIsAnErrorThatAsksForTimezone() throws {
        let zone = ImportTimeZone(name: "GMT+5", source: "TZ=GMT+5")
        let imported = importing(Self.header + "windows: {deny: [\"* 23:00-06:00\"]}\n", options: .init(timeZone: .success(zone)))
        #expect(imported.output.policy == nil)
        #expect(imported.errors.first?.help == "pass --timezone ZONE, the zone of the fleet's hosts")
    }

    @Test func timezoneGivenOnTheCommandLineIsSaidSo() throws {
        let imported = importing(Self.header + "windows: {deny: [\"* 23:00-06:00\"]}\n", options: .init(timeZone: .success(.given("America/New_York"))))
        #expect(imported.policy?.timeZone == "America/New_York")
        #expect(imported.text.contains("given with --timezone"))
    }

    /// A zoneinfo tree with two zone files and `localtime` linked to one, in a temporary directory.
    func withZoneFiles(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-zone-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for zone in ["Europe/Berlin", "America/New_York"] {
            let path = dir + "/zoneinfo/" + zone
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data("TZif2 \(zone)".utf8).write(to: URL(fileURLWithPath: path))
        }
        try FileManager.default.createSymbolicLink(atPath: dir + "/localtime", withDestinationPath: dir + "/zoneinfo/Europe/Berlin")
        try body(dir)
    }

    // MARK: 5. Defaults (pkg/config/config.go, Config.applyDefaults)

    @Test func clusterrebootdsDefaultsAreWrittenOut() throws {
        let imported = importing(Self.header + Self.etcd)
        let policy = try #require(imported.policy)
        #expect(policy.killSwitches == [.file(path: "/etc/clusterrebootd/disable")])
        #expect(policy.cluster.checkInterval == 60_000)
        #expect(policy.cluster.publishInterval == 15_000)
        #expect(policy.cluster.backoffMin == 5_000 && policy.cluster.backoffMax == 60_000)
        #expect(policy.rebootCommand.map(\.value) == ["/sbin/shutdown", "-r", "now", "coordinated kernel reboot"])
        #expect(policy.health.first?.timeout == 30_000)
        guard case .etcd(let lock) = policy.lock else {
            Issue.record("expected an etcd lock")
            return
        }
        #expect(lock.ttl == 90_000 && lock.prefix == "/cluster/clusterrebootd" && lock.group == "lock")
    }

    @Test(arguments: ["health_timeout_sec", "health_publish_interval_sec", "check_interval_sec", "backoff_min_sec", "backoff_max_sec", "lock_ttl_sec"])
    func zeroMeansTheDefault(_ field: String) throws {
        let withZero = try #require(importing(Self.header + Self.etcd + "\(field): 0\n").policy)
        let without = try #require(importing(Self.header + Self.etcd).policy)
        #expect(withZero.cluster.checkInterval == without.cluster.checkInterval)
        #expect(withZero.cluster.publishInterval == without.cluster.publishInterval)
        #expect(withZero.cluster.backoffMin == without.cluster.backoffMin && withZero.cluster.backoffMax == without.cluster.backoffMax)
        #expect(withZero.health.first?.timeout == without.health.first?.timeout)
    }

    // MARK: 6. What clusterrebootd accepts imports (pkg/config/config.go, decode and Validate)

    @Test func upstreamsOwnPackagingTemplateImportsOnceNodeAndDetectorAreFilledIn() throws {
        // packaging/config.yaml with node_name and a detector filled in, as its comments ask.
        let yaml = """
            dry_run: true
            node_name: "node-a"
            reboot_required_detectors: [{type: file, path: /var/run/reboot-required}]
            health_script: ""
            health_timeout_sec: 45
            health_publish_interval_sec: 15
            check_interval_sec: 300
            backoff_min_sec: 5
            backoff_max_sec: 60
            kill_switch_file: /etc/clusterrebootd/disable
            etcd_endpoints: []
            etcd_namespace: ""
            lock_key: ""
            lock_ttl_sec: 120
            etcd_tls:
              enabled: false
              ca_file: ""
              cert_file: ""
              key_file: ""
              insecure_skip_verify: false
            reboot_command: [/sbin/shutdown, -r, now, "coordinated reboot for ${RC_NODE_NAME}"]
            cluster_policies:
              min_healthy_fraction: null
              min_healthy_absolute: null
              forbid_if_only_fallback_left: false
              fallback_nodes: []
            windows: {deny: [], allow: []}
            metrics: {enabled: false, listen: 127.0.0.1:9090}

            """
        let imported = importing(yaml)
        #expect(imported.errors.isEmpty, "\(imported.errors.map(\.message))")
        #expect(imported.policy?.dryRun == true)
        #expect(imported.policy?.rebootCommand.map(\.value) == ["/sbin/shutdown", "-r", "now", "coordinated reboot for ${node.name}"])
    }

    @Test func nullSectionsAreLeftOut() throws {
        let imported = importing(Self.header + Self.etcd + "cluster_policies: null\nwindows: ~\netcd_tls: null\nmetrics: null\n")
        #expect(imported.errors.isEmpty)
        #expect(imported.policy?.windows.isEmpty == true)
    }

    @Test func anEmptyRebootCommandIsTheDefault() throws {
        let policy = try #require(importing(Self.header + "reboot_command: []\n").policy)
        #expect(policy.rebootCommand.map(\.value) == ["/sbin/shutdown", "-r", "now", "coordinated kernel reboot"])
    }

    /// pkg/orchestrator/runner.go, expandWithEnv (Go's os.Expand over BaseEnvironment, then the process environment).
    @Test func variablesInTheRebootCommandAreExpandedAsClusterrebootdDid() throws {
        let yaml = Self.header + Self.etcd + #"reboot_command: [/sbin/shutdown, -r, now, "$RC_NODE_NAME via ${RC_LOCK_KEY} $RC_DRY_RUN $HOME ${NOPE}$ 5$ $$"]"# + "\n"
        let imported = importing(yaml, options: .init(environment: ["HOME": "/root", "$": "ignored"]))
        let policy = try #require(imported.policy)
        #expect(policy.rebootCommand.last?.value == "${node.name} via /cluster/clusterrebootd/lock false /root $ 5$ ignored")
        #expect(imported.warnings.filter { $0.contains("clusterrebootd read it from its own environment") }.count == 3)
    }

    @Test func programsFoundThroughPATHAreResolvedNowWithAWarning() throws {
        let yaml = "node_name: a\nreboot_required_detectors: [{type: command, cmd: [sh, -c, \"exit 1\"]}]\nreboot_command: [true]\n"
        let imported = importing(yaml, options: .init(environment: ["PATH": "/nonexistent:/bin:/usr/bin"]))
        let policy = try #require(imported.policy)
        #expect(policy.rebootCommand.first?.value == "/bin/true")
        guard case .command(let argv, _, _) = policy.detectors[0].source else {
            Issue.record("expected a command detector")
            return
        }
        #expect(argv.first == "/bin/sh")
        #expect(imported.warnings.filter { $0.contains("is found through PATH") }.count == 2)
        let missing = importing("node_name: a\nreboot_required_detectors: [{type: command, cmd: [no-such-program-rc]}]\n", options: .init(environment: ["PATH": "/bin"]))
        #expect(missing.output.policy == nil)
        #expect(missing.errors.first?.message.contains("is not in PATH") == true)
    }

    @Test func relativePathsAreReadFromTheWorkingDirectory() throws {
        let yaml = "node_name: a\nreboot_required_detectors: [{type: file, path: var/run/reboot-required}]\nkill_switch_file: etc/stop\n"
        let imported = importing(yaml)
        let policy = try #require(imported.policy)
        guard case .file(let path) = policy.detectors[0].source else {
            Issue.record("expected a file detector")
            return
        }
        #expect(path == "/var/run/reboot-required")
        #expect(policy.killSwitches == [.file(path: "/etc/stop")])
        #expect(imported.warnings.filter { $0.contains("is relative") }.count == 2)
    }

    @Test func aFloatInAnIntegerFieldIsCutAsGoDoes() throws {
        let imported = importing(Self.header + Self.etcd + "check_interval_sec: 90.7\nhealth_timeout_sec: 45.0\n")
        let policy = try #require(imported.policy)
        #expect(policy.cluster.checkInterval == 90_000)
        #expect(policy.health.first?.timeout == 45_000)
        #expect(imported.warnings.contains { $0.contains("clusterrebootd reads 90") })
    }

    @Test func fieldsOfTheOtherDetectorTypeAreIgnoredAsUpstreamDoes() throws {
        let imported = importing("node_name: a\nreboot_required_detectors: [{type: file, path: /run/x, timeout_sec: 5}]\n")
        #expect(imported.policy?.detectors.count == 1)
        #expect(imported.warnings.contains { $0.contains("applies to command detectors only") })
    }

    // MARK: 7. What clusterrebootd refuses (pkg/config/config.go, Validate; pkg/health/script.go, NewScriptRunner)

    @Test(arguments: ["", "node_name: \"  \"\n"])
    func noNodeNameIsRefused(_ line: String) throws {
        let imported = importing(line + "reboot_required_detectors: [{type: file, path: /x}]\n")
        #expect(imported.output.policy == nil)
        #expect(imported.errors.first?.message == "the configuration has no `node_name`")
        #expect(imported.errors.first?.code == .importMissingField)
    }

    @Test func tlsEnabledWithoutItsFilesIsRefused() throws {
        let imported = importing(Self.header + Self.etcd + "etcd_tls: {enabled: true, cert_file: /c.crt, key_file: /c.key}\n")
        #expect(imported.output.policy == nil)
        #expect(imported.errors.map(\.message) == ["`etcd_tls.ca_file` is required when TLS is enabled"])
    }

    @Test func noEndpointsAndNoHealthScriptImportWithWarnings() throws {
        let imported = importing(Self.header)
        let policy = try #require(imported.policy)
        guard case .local = policy.lock else {
            Issue.record("expected a local lock")
            return
        }
        #expect(policy.health.isEmpty)
        #expect(imported.warnings.contains { $0.contains("no `etcd_endpoints`") })
        #expect(imported.warnings.contains { $0.contains("no `health_script`") })
    }

    /// pkg/detector/engine.go, NewEngine: names are compared trimmed, defaults (`command:PROGRAM`) included.
    @Test func twoDetectorsOfTheSameNameAreRefused() throws {
        let yaml = "node_name: a\nreboot_required_detectors:\n  - {type: command, cmd: [/usr/bin/a, x]}\n  - {type: command, cmd: [/usr/bin/a, y]}\n"
        let imported = importing(yaml)
        #expect(imported.output.policy == nil)
        #expect(imported.errors.map(\.message) == ["two detectors are named \"command:/usr/bin/a\""])
        #expect(importing("node_name: a\nreboot_required_detectors: [{name: x, type: file, path: /a}, {name: \" x\", type: file, path: /b}]\n").output.policy == nil)
    }

    @Test func aRelativeHealthScriptIsRefused() throws {
        let imported = importing(Self.header + "health_script: bin/health.sh\n")
        #expect(imported.output.policy == nil)
        #expect(imported.errors.first?.message == "`health_script` must be an absolute path")
    }

    @Test(arguments: ["health_timeout_sec: -1", "check_interval_sec: -5", "min_reboot_interval_sec: -1", "backoff_min_sec: 10\nbackoff_max_sec: 5"])
    func negativeAndInvertedTimingsAreRefused(_ line: String) throws {
        let imported = importing(Self.header + line + "\n")
        #expect(imported.output.policy == nil, "\(line)")
    }

    // MARK: 8. Windows (pkg/windows/windows.go, parseExpression, parseDaySpec, dayName, parseTimeOfDay)

    static let windowCases: [(String, [String])] = [
        ("Mon, Wed 12:00-13:00", ["Mon, Wed 12:00 .. 13:00"]),
        ("Mon , Wed 12:00-13:00", ["Mon, Wed 12:00 .. 13:00"]),
        ("22:00-23:00", ["daily 22:00 .. 23:00"]),
        ("Tues 10:00-11:00", ["Tue 10:00 .. 11:00"]),
        ("Thur 10:00-11:00", ["Thu 10:00 .. 11:00"]),
        ("Weds 10:00-11:00", ["Wed 10:00 .. 11:00"]),
        ("MONDAY 10:00-11:00", ["Mon 10:00 .. 11:00"]),
        ("Mon 10:00-10:00", ["Mon 10:00 .. Tue 10:00"]),
        ("Mon,Wed 10:00-10:00", ["Mon 10:00 .. Tue 10:00", "Wed 10:00 .. Thu 10:00"]),
        ("* 00:00-00:00", ["daily"]),
        ("Sat 00:00-00:00", ["Sat"]),
        ("Mon 10:00-Mon 10:00", ["daily"]),
        ("Mon 10:00-Mon 09:00", ["Mon 10:00 .. Mon 09:00"]),
        ("9:5-10:00", ["daily 09:05 .. 10:00"]),
        ("Fri 18:00-Mon 08:00", ["Fri 18:00 .. Mon 08:00"]),
        ("Tue-Thu 22:00-04:00", ["Tue..Thu 22:00 .. 04:00"]),
        ("Sat-Mon 23:00-01:00", ["Sat..Mon 23:00 .. 01:00"]),
        ("Sun 23:00-01:00", ["Sun 23:00 .. 01:00"]),
    ]

    @Test(arguments: windowCases)
    func windowSyntaxClusterrebootdAccepts(_ expression: String, _ expected: [String]) throws {
        let imported = importing(Self.header + "windows: {deny: [\"\(expression)\"]}\n")
        let policy = try #require(imported.policy, "\(imported.errors.map(\.message))")
        #expect(policy.windows.map(\.text) == expected)
        // The minutes rc blocks are the minutes clusterrebootd blocked.
        let upstream = try UpstreamMinutes.of(expression)
        var rc = Set<Int>()
        for window in policy.windows {
            for interval in window.intervals { for m in interval.start..<interval.end { rc.insert(m % (7 * 1440)) } }
        }
        #expect(rc == upstream)
    }

    @Test(arguments: [
        ("Mon 22:00-24:00", "hour out of range"), ("Mon 10:00", "no `-`"), ("Mon-Fri", "no time"), ("Mon,Tue 10:00-Wed 11:00", "exactly one start day"),
        ("Funday 10:00-11:00", "unknown day"), ("Mon 10:60-11:00", "minute out of range"), ("Mon, 10:00-11:00", "invalid day list"), ("  ", "empty"),
    ])
    func windowSyntaxClusterrebootdRefuses(_ expression: String, _ why: String) throws {
        let imported = importing(Self.header + "windows: {allow: [\"\(expression)\"]}\n")
        #expect(imported.output.policy == nil)
        #expect(imported.errors.first?.message.contains(why) == true, "\(imported.errors.map(\.message))")
    }

    // MARK: 9. The health script's environment (pkg/config/config.go, Config.BaseEnvironment)

    @Test func theHealthScriptGetsClusterrebootdsVariables() throws {
        let yaml = Self.header + """
            etcd_endpoints: [10.0.0.1:2379, 10.0.0.2:2379]
            health_script: /usr/local/bin/health.sh
            lock_key: /prod/lock
            kill_switch_file: /etc/stop
            cluster_policies: {min_healthy_fraction: 0.6, min_healthy_absolute: 3, forbid_if_only_fallback_left: true, fallback_nodes: [cp-a, cp-b]}
            windows: {deny: ["Fri 18:00-Mon 08:00", "* 23:00-06:00"], allow: ["Tue-Thu 22:00-04:00"]}

            """
        let policy = try #require(importing(yaml).policy)
        let check = try #require(policy.health.first)
        let env = HealthRunner().environment(policy, HealthContext(phase: .preLock, nodeName: "node-a", dryRun: false, lockHeld: false, lockAttempts: 0), check: check)
        let expected = [
            "RC_NODE_NAME": "node-a", "RC_DRY_RUN": "false", "RC_LOCK_KEY": "/prod/lock", "RC_ETCD_ENDPOINTS": "10.0.0.1:2379,10.0.0.2:2379",
            "RC_KILL_SWITCH_FILE": "/etc/stop", "RC_CLUSTER_MIN_HEALTHY_FRACTION": "0.6", "RC_CLUSTER_MIN_HEALTHY_ABSOLUTE": "3",
            "RC_CLUSTER_FORBID_IF_ONLY_FALLBACK_LEFT": "true", "RC_CLUSTER_FALLBACK_NODES": "cp-a,cp-b",
            "RC_WINDOWS_DENY": "Fri 18:00-Mon 08:00,* 23:00-06:00", "RC_WINDOWS_ALLOW": "Tue-Thu 22:00-04:00",
            // pkg/orchestrator/runner.go, runHealthWithObservability: what is set for each run.
            "RC_PHASE": "pre-lock", "RC_LOCK_ENABLED": "true", "RC_LOCK_HELD": "false", "RC_LOCK_ATTEMPTS": "0",
        ]
        for (key, value) in expected { #expect(env[key] == value, "\(key)") }
    }

    @Test func theVariablesAreSetWithoutClusterPoliciesToo() throws {
        let policy = try #require(importing(Self.header + Self.etcd).policy)
        let env = policy.health.first?.environment ?? [:]
        #expect(env["RC_CLUSTER_FORBID_IF_ONLY_FALLBACK_LEFT"] == "false")
        #expect(env["RC_CLUSTER_MIN_HEALTHY_FRACTION"] == nil && env["RC_WINDOWS_DENY"] == nil)
    }

    @Test(arguments: [(0.6, "0.6"), (1.0, "1"), (0.00001, "0.00001"), (1e-7, "0.0000001"), (0.333, "0.333")])
    func fractionsAreWrittenAsGoFormatsThem(_ value: Double, _ text: String) {
        #expect(ClusterRebootdImporter.goFloat(value) == text)
    }
}

/// The minutes of the week (from Monday 00:00) that clusterrebootd's parser covers for the window cases, computed
/// independently of the importer from `pkg/windows` semantics (Sunday-based seconds, end ≤ start adds a day or,
/// with an end day, a week).
enum UpstreamMinutes {
    static let week = 7 * 1440
    static let days = ["sun": 0, "mon": 1, "tue": 2, "tues": 2, "wed": 3, "weds": 3, "thu": 4, "thur": 4, "monday": 1, "fri": 5, "sat": 6]

    static func of(_ expression: String) throws -> Set<Int> {
        let table: [String: [(day: Int, start: Int, end: Int)]] = [
            "Mon, Wed 12:00-13:00": [(1, 720, 780), (3, 720, 780)], "Mon , Wed 12:00-13:00": [(1, 720, 780), (3, 720, 780)],
            "22:00-23:00": (0..<7).map { ($0, 1320, 1380) }, "Tues 10:00-11:00": [(2, 600, 660)], "Thur 10:00-11:00": [(4, 600, 660)],
            "Weds 10:00-11:00": [(3, 600, 660)], "MONDAY 10:00-11:00": [(1, 600, 660)], "Mon 10:00-10:00": [(1, 600, 600 + 1440)],
            "Mon,Wed 10:00-10:00": [(1, 600, 2040), (3, 600, 2040)], "* 00:00-00:00": (0..<7).map { ($0, 0, 1440) }, "Sat 00:00-00:00": [(6, 0, 1440)],
            "Mon 10:00-Mon 10:00": [(1, 600, 600 + week)], "Mon 10:00-Mon 09:00": [(1, 600, 540 + week)], "9:5-10:00": (0..<7).map { ($0, 545, 600) },
            "Fri 18:00-Mon 08:00": [(5, 1080, 3 * 1440 + 480)], "Tue-Thu 22:00-04:00": [(2, 1320, 1680), (3, 1320, 1680), (4, 1320, 1680)],
            "Sat-Mon 23:00-01:00": [(6, 1380, 1500), (0, 1380, 1500), (1, 1380, 1500)], "Sun 23:00-01:00": [(0, 1380, 1500)],
        ]
        let spans = try #require(table[expression])
        var set = Set<Int>()
        for span in spans {
            for m in (span.day * 1440 + span.start)..<(span.day * 1440 + span.end) {
                // Sunday-based to Monday-based.
                set.insert(((m - 1440) % week + week) % week)
            }
        }
        return set
    }
}
