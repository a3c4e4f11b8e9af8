import Foundation
import PolicyLang
import Testing

/// A setting either acts or is refused: every declaration and every field the checker accepts is listed here,
/// either carried into the checked policy (with the test that shows its effect on a node) or refused with a
/// diagnostic. A field the checker learns without an entry here fails `everyFieldTheCheckerAcceptsIsListed`.
@Suite struct EverySettingActsTests {
    enum Expectation {
        /// Carried into the checked policy; `effect` names where its effect is tested.
        case acts(effect: String, (CheckedPolicy) -> Bool)
        /// Refused at check time with a message containing this.
        case refused(String)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var setting: String
        var source: String
        var expectation: @Sendable () -> Expectation
        var testDescription: String { setting }
    }

    static let base = #"policy "p" {}"# + "\n" + #"detector "flag" file "/run/flag""# + "\n"
    static let etcd = #"lock etcd { endpoints ["https://127.0.0.1:2379"] }"#

    static func c(_ setting: String, _ source: String, _ expectation: @escaping @Sendable () -> Expectation) -> Case {
        Case(setting: setting, source: source, expectation: expectation)
    }

    static let cases: [Case] = [
        c("policy.applies_to", #"policy "p" { applies_to node.name == "a" }"# + "\n" + #"detector "flag" file "/run/flag""#, {
            .acts(effect: "NodeFactsTests.aSingleFileThatDoesNotApplyToTheNodeIsRefused") { $0.appliesTo != nil }
        }),
        c("policy.description", #"policy "p" { description "web servers" }"# + "\n" + #"detector "flag" file "/run/flag""#, {
            .acts(effect: "shown under the policy line of rc explain") { $0.description == "web servers" }
        }),
        c("policy.retain", #"policy "p" { retain 7d }"# + "\n" + #"detector "flag" file "/run/flag""#, {
            .acts(effect: "DecisionLogTests.aChangedDecisionIsAppendedAndOldEntriesArePruned") { $0.retainDecisions == 7 * 86_400_000 }
        }),
        c("policy.node_name", #"policy "p" { node_name "db-1" }"# + "\n" + #"detector "flag" file "/run/flag""#, {
            .acts(effect: "NodeFactsTests.anImportedPerNodePolicyRunsAsTheNodeItNames") { $0.nodeName == "db-1" }
        }),
        c("detector file", base, { .acts(effect: "RunCommandTests.aDetectorFileMakesTheRebootCommandRunOnce") { $0.detectors.count == 1 } }),
        c("detector command.reboot_when", base + #"detector "c" command ["/bin/true"] { reboot_when exit == 1 }"#, {
            .acts(effect: "DetectorTests (ProcessExecutorTests)") {
                if case .command(_, _, let ok) = $0.detectors.last!.source { ok == nil } else { false }
            }
        }),
        c("detector command.ok_when", base + #"detector "c" command ["/bin/true"] { reboot_when exit == 1  ok_when exit == 0 }"#, {
            .acts(effect: "ProcessExecutorTests") {
                if case .command(_, _, let ok) = $0.detectors.last!.source { ok != nil } else { false }
            }
        }),
        c("detector command.timeout", base + #"detector "c" command ["/bin/true"] { reboot_when exit == 1  timeout 3s }"#, {
            .acts(effect: "ProcessExecutorTests: a slow detector times out") { $0.detectors.last!.timeout == 3_000 }
        }),

        c("detector builtin.timeout", base + #"detector "d" debian { timeout 4s }"#, { .acts(effect: "ProcessExecutorTests") { $0.detectors.last!.timeout == 4_000 } }),
        c("timezone", base + #"timezone "Europe/Berlin""#, { .acts(effect: "WindowCalendarTests") { $0.timeZone == "Europe/Berlin" } }),
        c("window", base + #"window deny "w" daily 02:00 .. 03:00"#, { .acts(effect: "WindowCalendarTests") { $0.windows.count == 1 } }),
        c("window (every year)", base + #"window deny "w" Dec 20 18:00 .. Jan 6 08:00"#, {
            .acts(effect: "CalendarWindowTests.yearlyWithTimesInNewYork") {
                $0.windows.first?.schedule == .dated(DatedRange(start: CalendarPoint(year: nil, month: 12, day: 20, minute: 1080), end: CalendarPoint(year: nil, month: 1, day: 6, minute: 480)))
            }
        }),
        c("window (once)", base + #"window deny "w" 2026-12-18 .. 2027-01-04"#, {
            .acts(effect: "CalendarWindowTests.oneOffReleaseFreeze") {
                $0.windows.first?.schedule == .dated(DatedRange(start: CalendarPoint(year: 2026, month: 12, day: 18, minute: 0), end: CalendarPoint(year: 2027, month: 1, day: 4, minute: 1440)))
            }
        }),
        c("window (monthly by weekday)", base + #"window allow "w" 2nd Tue 22:00 .. 04:00"#, {
            .acts(effect: "CalendarWindowTests.patchTuesdayNight") {
                $0.windows.first?.schedule == .monthly(.weekday(ordinal: 2, weekday: .tuesday, count: 1), .daily(start: 1320, end: 240))
            }
        }),
        c("window (monthly by weekday, a run)", base + #"window allow "w" last Fri 18:00 .. Mon 08:00"#, {
            .acts(effect: "CalendarWindowTests.lastFridayEveningThroughMonday") {
                $0.windows.first?.schedule == .monthly(.weekday(ordinal: -1, weekday: .friday, count: 1), .through(start: 1080, endDay: .monday, end: 480))
            }
        }),
        c("window (monthly by day)", base + #"window deny "w" day 28 .. 31"#, {
            .acts(effect: "CalendarWindowTests.daysClampedToTheMonthsLength") { $0.windows.first?.schedule == .monthly(.days(from: 28, to: 31), .wholeDay) }
        }),
        c("window (the last days of the month)", base + #"window deny "w" last 3 days"#, {
            .acts(effect: "CalendarWindowTests.lastDaysOfTheMonthAroundFebruary29") { $0.windows.first?.schedule == .monthly(.last(count: 3), .wholeDay) }
        }),
        c("window (monthly by day, with an end day)", base + #"window deny "w" last day 18:00 .. Mon 08:00"#, {
            .refused("an end day needs a single weekday to start from")
        }),
        c("window (a fifth weekday)", base + #"window deny "w" 5th Tue"#, { .refused("not every month has a 5th Tue") }),
        c("health", base + #"health "h" script "/bin/true" { timeout 5s  run pre_lock, post_boot }"#, {
            .acts(effect: "FleetTests.e2e2AFailingHealthCheckStopsEveryone") { $0.health.first?.timeout == 5_000 && $0.health.first?.phases == [.preLock, .postBoot] }
        }),
        c("health.env", base + #"health "h" script "/bin/true" { env { RC_LOCK_KEY "/k"  RC_WINDOWS_DENY "* 23:00-06:00" } }"#, {
            .acts(effect: "HealthEnvironmentTests.theCheckEnvironmentReplacesRcsStaticVariablesButNotThePerRunOnes") {
                $0.health.first?.environment == ["RC_LOCK_KEY": "/k", "RC_WINDOWS_DENY": "* 23:00-06:00"]
            }
        }),
        c("health.env (a variable rc sets for each run)", base + #"health "h" script "/bin/true" { env { RC_PHASE "x" } }"#, {
            .refused("`env` cannot set RC_PHASE: rc sets it for each run")
        }),
        c("health http (ok when on status and json)", base + #"health "lag" http "https://127.0.0.1:8080/status" { ok when status == 200 and json.replication.lag_seconds < 5 }"#, {
            .acts(effect: "HealthProbeTests.anHTTPCheckComparesTheStatusAndTheJSONBody") { $0.health.first?.probe?.kind == .http && $0.health.first?.probe?.condition != nil }
        }),
        c("health prometheus (query, ok when on value)", base + #"health "errors" prometheus "http://127.0.0.1:9090" query "sum(rate(x[5m]))" { ok when value < 0.01 }"#, {
            .acts(effect: "HealthGateE2ETests.aPrometheusThresholdBlocksAndAllowsAsTheValueMoves") {
                $0.health.first?.probe.map { $0.kind == .prometheus && $0.query == "sum(rate(x[5m]))" && $0.condition != nil } ?? false
            }
        }),
        c("health alerts.block_on", base + #"health "pages" alerts "http://127.0.0.1:9093" { block_on {severity: "critical", team: "web"} }"#, {
            .acts(effect: "HealthGateE2ETests.anAlertBlocksUntilItIsSilencedAndAgainWhenTheSilenceEnds") {
                $0.health.first?.probe?.blockOn == ["severity": "critical", "team": "web"]
            }
        }),
        c("health http.timeout", base + #"health "lag" http "https://127.0.0.1/s" { ok when status == 200  timeout 500ms }"#, {
            .acts(effect: "HealthProbeTests.anEndpointThatNeverAnswersBlocksAtTheTimeout") { $0.health.first?.timeout == 500 }
        }),
        c("health http.run", base + #"health "lag" http "https://127.0.0.1/s" { ok when status == 200  run post_boot }"#, {
            .acts(effect: "HealthProbeTests.aMeasuringCheckRunsOnlyInItsPhases") { $0.health.first?.phases == [.postBoot] }
        }),
        c("health http.header, token_file", base + #"health "lag" http "https://127.0.0.1/s" { ok when status == 200  header "Authorization"  token_file "/etc/rc/t" }"#, {
            .acts(effect: "HealthProbeTests.aTokenFileIsSentAsTheHeader") { $0.health.first?.probe.map { $0.header == "Authorization" && $0.tokenFile == "/etc/rc/t" } ?? false }
        }),
        c("health http.token_env", base + #"health "lag" http "https://127.0.0.1/s" { ok when status == 200  header "Authorization"  token_env "STATUS_TOKEN" }"#, {
            .acts(effect: "HealthProbeTests.aTokenFromTheEnvironmentThatIsNotSetBlocks (read by Notifier.token, as OperationsTests.webhooksHearEveryEventInOrder sends one)") {
                $0.health.first?.probe?.tokenEnv == "STATUS_TOKEN"
            }
        }),
        c("health http.ca", base + #"health "lag" http "https://127.0.0.1/s" { ok when status == 200  ca "/etc/rc/ca.pem" }"#, {
            .acts(effect: "HealthProbeTests.aCAFileLetsTheCheckTrustAServerThatTheSystemDoesNot") { $0.health.first?.probe?.caFile == "/etc/rc/ca.pem" }
        }),
        c("health http.ca with a plain http endpoint", base + #"health "lag" http "http://127.0.0.1/s" { ok when status == 200  ca "/etc/rc/ca.pem" }"#, {
            .refused("`ca` needs an https:// endpoint")
        }),
        c("health http with a URL that is not http(s)", base + #"health "lag" http "127.0.0.1:8080/s" { ok when status == 200 }"#, { .refused("invalid health check URL") }),
        c("health http.header without a token", base + #"health "lag" http "https://127.0.0.1/s" { ok when status == 200  header "Authorization" }"#, { .refused("has no value") }),
        c("health http.token_env without a header", base + #"health "lag" http "https://127.0.0.1/s" { ok when status == 200  token_env "T" }"#, { .refused("token needs `header`") }),
        c("health http.header env (another tool's form)", base + #"health "lag" http "https://127.0.0.1/s" { ok when status == 200  header "Authorization" env "T" }"#, {
            .refused("a header's value is read from `token_env`, not `env`")
        }),
        c("health http.ok when on a prometheus value", base + #"health "lag" http "https://127.0.0.1/s" { ok when value < 1 }"#, { .refused("unknown name `value`") }),
        c("health prometheus with an empty query", base + #"health "e" prometheus "http://127.0.0.1:9090" query " " { ok when value < 1 }"#, { .refused("the query is empty") }),
        c("health alerts.block_on with a label that is not a string", base + #"health "p" alerts "http://127.0.0.1:9093" { block_on {severity: 3} }"#, { .refused("expected a string") }),
        c("health alerts.ok when", base + #"health "p" alerts "http://127.0.0.1:9093" { ok when value < 1 }"#, { .refused("unknown field `ok when`") }),
        c("test given health values the check does not measure", base + #"health "p" alerts "http://127.0.0.1:9093" { block_on {} }"# + "\ntest \"t\" { given { health \"p\" value 1 }  expect reboot }", {
            .refused("measures active alerts, not `value`")
        }),
        c("lock local.path", base + #"lock local { path "/run/rc/lock" }"#, {
            .acts(effect: "RunCommandTests.aFullLockBlocksWithExitFour") { if case .local("/run/rc/lock") = $0.lock { true } else { false } }
        }),
        c("lock etcd.endpoints", base + etcd, { .acts(effect: "EtcdTests") { if case .etcd(let e) = $0.lock { e.endpoints.count == 1 } else { false } } }),

        c("lock etcd.key, group, ttl, slots, max_reboot_duration",
            base + #"lock etcd { endpoints ["https://127.0.0.1:2379"]  key "/k"  group "g"  ttl 90s  slots 2  max_reboot_duration 10m }"#, {
                .acts(effect: "EtcdTests, FleetSafetyTests, FleetSafetyE2ETests") {
                    if case .etcd(let e) = $0.lock { e.prefix == "/k" && e.group == "g" && e.ttl == 90_000 && e.slots == 2 && e.maxRebootDuration == 600_000 } else { false }
                }
            }),
        c("lock etcd.user, password_file", base + #"lock etcd { endpoints ["https://127.0.0.1:2379"]  user "rc"  password_file "/etc/rc/pw" }"#, {
            .acts(effect: "EtcdSecurityTests.aUserWhoseRoleGrantsOnlyTheRcPrefixWorks") { if case .etcd(let e) = $0.lock { e.user == "rc" && e.passwordFile == "/etc/rc/pw" } else { false } }
        }),
        c("lock etcd.legacy_mutex", base + #"lock etcd { endpoints ["https://127.0.0.1:2379"]  legacy_mutex "/clusterrebootd/lock" }"#, {
            .acts(effect: "MixedFleetTests (etcdctl lock standing in for clusterrebootd)") { if case .etcd(let e) = $0.lock { e.legacyMutex == "/clusterrebootd/lock" } else { false } }
        }),
        c("lock etcd.legacy_mutex among rc's keys", base + #"lock etcd { endpoints ["https://127.0.0.1:2379"]  key "/rc"  legacy_mutex "/rc/locks" }"#, {
            .refused("must lie outside rc's own keys")
        }),
        c("lock etcd.tls ca, cert, key", base + #"lock etcd { endpoints ["https://127.0.0.1:2379"]  tls { ca "/a.crt"  cert "/n.crt"  key "/n.key" } }"#, {
            .acts(effect: "EtcdSecurityTests.mutualTLSAndAClearErrorWithoutAClientCertificate") { if case .etcd(let e) = $0.lock { e.tls?.certFile == "/n.crt" } else { false } }
        }),
        c("lock etcd.tls insecure_skip_verify", base + #"lock etcd { endpoints ["https://127.0.0.1:2379"]  tls { insecure_skip_verify true } }"#, {
            .acts(effect: "the client verifies nothing (RC3003 warns)") { if case .etcd(let e) = $0.lock { e.tls?.insecureSkipVerify == true } else { false } }
        }),
        c("lock etcd.tls server_name", base + #"lock etcd { endpoints ["https://127.0.0.1:2379"]  tls { server_name "etcd" } }"#, { .refused("`server_name` is not supported") }),
        c("kill_switch file", base + #"kill_switch file "/etc/rc/disable""#, { .acts(effect: "RunCommandTests.eachGateBlocksWithItsExitCode") { $0.killSwitches.count == 1 } }),

        c("kill_switch etcd (lock etcd)", base + etcd + "\nkill_switch etcd", { .acts(effect: "EtcdFleet.killSwitch") { $0.killSwitches == [.etcd(key: nil)] } }),
        c("kill_switch etcd (lock local)", base + "kill_switch etcd", { .refused("`kill_switch etcd` needs `lock etcd`") }),
        c("reboot command", base + #"reboot command ["/sbin/reboot"]"#, { .acts(effect: "RunCommandTests") { $0.rebootCommand.map(\.value) == ["/sbin/reboot"] } }),
        c("cluster.check_interval, backoff", base + "cluster { check_interval 2m  backoff 5s .. 1m }", {
            .acts(effect: "DaemonLoopTests") { $0.cluster.checkInterval == 120_000 && $0.cluster.backoffMin == 5_000 && $0.cluster.backoffMax == 60_000 }
        }),
        c("cluster.cooldown", base + "cluster { cooldown 15m }", { .acts(effect: "DecisionTests (the cooldown rule)") { $0.cluster.cooldown == 900_000 } }),
        c("cluster.fallback_nodes", base + #"cluster { fallback_nodes ["a"] }"#, {
            .acts(effect: "FleetTests.e2e3TheLastHealthyFallbackStaysUpWhileTheOthersProceed") { $0.cluster.fallbackNodes == ["a"] }
        }),

        c("cluster.publish_interval (lock etcd)", base + etcd + "\ncluster { publish_interval 10s }", {
            .acts(effect: "FleetSafetyTests.theReporterKeepsAHealthyFleetFreshBetweenPasses") { $0.cluster.publishInterval == 10_000 }
        }),
        c("cluster.publish_interval (lock local)", base + "cluster { publish_interval 10s }", { .refused("`publish_interval` needs `lock etcd`") }),
        c("cluster.forget_after (lock etcd)", base + etcd + "\ncluster { forget_after 7d }", {
            .acts(effect: "FleetSafetyTests.aRebootingMemberIsNotHealthyAndAForgottenOneIsGone") { $0.cluster.forgetAfter == 7 * 86_400_000 }
        }),
        c("cluster.forget_after (lock local)", base + "cluster { forget_after 7d }", { .refused("`forget_after` needs `lock etcd`") }),
        c("metrics (enabled; listen)", base + #"metrics { listen "127.0.0.1:9464" }"#, {
            .acts(effect: "OperationsTests.everyMetricIsServedOverHTTPWithWhatThePassesDid, prometheusScrapesTheDaemon") { $0.metrics?.listen == "127.0.0.1:9464" && $0.metrics?.enabled == true }
        }),
        c("notify webhook (events, timeout, retries, header, token_env)",
            base + #"notify webhook "https://hooks.example/rc" { events blocked, rebooting  timeout 2s  retries 1  header "Authorization"  token_env "TOKEN" }"#, {
                .acts(effect: "OperationsTests.webhooksHearEveryEventInOrder, aHangingWebhookNeitherBlocksNorDelaysTheReboot") {
                    $0.notifications.first.map { $0.events == [.blocked, .rebooting] && $0.timeout == 2_000 && $0.retries == 1 && $0.header == "Authorization" && $0.tokenEnv == "TOKEN" } ?? false
                }
            }),
        c("notify webhook.token_file", base + #"notify webhook "https://hooks.example/rc" { header "X-Token"  token_file "/etc/rc/hook.token" }"#, {
            .acts(effect: "Notifier.token reads it at each POST") { $0.notifications.first?.tokenFile == "/etc/rc/hook.token" }
        }),
        c("notify webhook with an unknown event", base + #"notify webhook "https://hooks.example/rc" { events rebooted, reboted }"#, { .refused("unknown event `reboted`") }),
        c("notify webhook header without a token", base + #"notify webhook "https://hooks.example/rc" { header "Authorization" }"#, { .refused("has no value") }),
        c("metrics.stuck_after", base + #"metrics { listen "127.0.0.1:9464"  stuck_after 20m }"#, {
            .acts(effect: "OperationsTests.healthzSaysWhenAPassIsStuckAndReadyzWhenOneHasEnded") { $0.metrics?.stuckAfter == 1_200_000 }
        }),
        c("metrics.stuck_after not longer than the sleep between passes", base + "cluster { check_interval 10m }\n" + #"metrics { stuck_after 10m }"#, {
            .refused("`stuck_after` must be longer than the daemon sleeps between passes")
        }),
        c("metrics.enabled false", base + "metrics { enabled false }", { .acts(effect: "nothing listens, as it says") { $0.metrics?.enabled == false } }),

        c("dry_run", base + "dry_run true", { .acts(effect: "RunCommandTests.dryRunPrintsTheCommandInstead") { $0.dryRun } }),
        c("rule.deny when", base + #"rule "r" { deny when cluster.healthy < 3 }"#, { .acts(effect: "DecisionTests") { $0.rules.first?.conditions.count == 1 } }),
        c("rule.description", base + #"rule "r" { deny when cluster.healthy < 3  description "quorum" }"#, {
            .acts(effect: "the reason of a decision blocked by the rule") { $0.rules.first?.description == "quorum" }
        }),
        c("test", base + "test \"t\" { given { detector \"flag\" fired }  expect reboot }", { .acts(effect: "rc test (EvaluationCommandTests)") { $0.tests.count == 1 } }),
    ]

    @Test(arguments: cases)
    func actsOrIsRefused(_ c: Case) {
        let result = Checker.check(SourceFile(path: "p.rcl", text: c.source))
        let errors = result.diagnostics.filter { $0.severity == .error }
        switch c.expectation() {
        case .acts(_, let carried):
            #expect(errors.isEmpty, "\(c.setting): \(errors.map(\.message))")
            guard let policy = result.policy else {
                Issue.record("\(c.setting): no checked policy")
                return
            }
            let isCarried = carried(policy)
            #expect(isCarried, "\(c.setting) is not carried into the checked policy")
        case .refused(let message):
            #expect(errors.contains { $0.message.contains(message) }, "\(c.setting) must be refused: \(result.diagnostics.map(\.message))")
        }
    }

    /// Every field name in the checker's `allowed:` lists (in any of its files) has a case above, and so does every
    /// kind of health check.
    @Test func everyFieldTheCheckerAcceptsIsListed() throws {
        let directory = Support.root.appendingPathComponent("Sources/PolicyLang/Check")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".swift") }
        #expect(files.contains("Checker+HealthProbe.swift"))
        let checker = try files.map { try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8) }.joined(separator: "\n")
        var fields: Set<String> = Set(HealthProbe.Kind.allCases.map { "health \($0.rawValue)" })
        for line in checker.split(separator: "\n") {
            guard let open = line.range(of: "allowed: [") ?? line.range(of: "allowed = ["), let end = line[open.upperBound...].firstIndex(of: "]") else { continue }
            // The quoted names between the brackets.
            let names = line[open.upperBound..<end].split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            for name in names where !name.isEmpty { fields.insert(String(name)) }
        }
        #expect(fields.count > 20, "the field lists were found: \(fields.sorted())")
        let listed = Self.cases.map(\.setting).joined(separator: " ")
        let missing = fields.filter { !listed.contains($0) }.sorted()
        #expect(missing.isEmpty, "fields the checker accepts with no acts-or-refused case: \(missing)")
    }
}
