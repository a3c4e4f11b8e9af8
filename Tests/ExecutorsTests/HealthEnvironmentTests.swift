import Evaluator
import Executors
import Foundation
import PolicyLang
import RCTestSupport
import Testing

/// What a health script finds in its environment: rc's variables, a check's own `env`, and what rc sets for each run.
@Suite struct HealthEnvironmentTests {
    func policy(_ health: String) throws -> CheckedPolicy {
        let text = "policy \"p\" {}\ndetector \"f\" file \"/run/flag\"\nwindow deny \"night\" daily 23:00 .. 06:00\n" + health
        return try #require(Checker.check(SourceFile(path: "p.rcl", text: text)).policy)
    }

    @Test func theCheckEnvironmentReplacesRcsStaticVariablesButNotThePerRunOnes() throws {
        let policy = try policy(#"health "h" script "/bin/true" { env { RC_WINDOWS_DENY "* 23:00-06:00"  RC_LOCK_KEY "/k"  RC_EXTRA "a $ b" } }"#)
        let check = try #require(policy.health.first)
        let context = HealthContext(phase: .postLock, nodeName: "n1", dryRun: true, lockHeld: true, lockAttempts: 1)
        let env = HealthRunner().environment(policy, context, check: check)
        #expect(env["RC_WINDOWS_DENY"] == "* 23:00-06:00")
        #expect(env["RC_LOCK_KEY"] == "/k" && env["RC_EXTRA"] == "a $ b")
        #expect(env["RC_PHASE"] == "post-lock" && env["RC_NODE_NAME"] == "n1" && env["RC_LOCK_HELD"] == "true" && env["RC_DRY_RUN"] == "true")
        // Without the check, rc's own format.
        #expect(HealthRunner().environment(policy, context)["RC_WINDOWS_DENY"] == "night=daily 23:00 .. 06:00")
    }

    @Test func aWindowInAZoneOfItsOwnSaysWhichInTheVariable() throws {
        let text = """
            policy "p" {}
            detector "f" file "/run/flag"
            timezone "Europe/Berlin"
            window deny "ny" Fri 18:00 .. Mon 08:00 in "America/New_York"
            window deny "weekend" Sat..Sun
            window allow "night" daily 22:00 .. 04:00 in "Europe/Berlin"

            """
        let policy = try #require(Checker.check(SourceFile(path: "p.rcl", text: text)).policy)
        let env = HealthRunner().environment(policy, HealthContext(phase: .preLock, nodeName: "n1", dryRun: true, lockHeld: false, lockAttempts: 0))
        #expect(env["RC_WINDOWS_DENY"] == "ny=Fri 18:00 .. Mon 08:00 in America/New_York;weekend=Sat..Sun")
        #expect(env["RC_WINDOWS_ALLOW"] == "night=daily 22:00 .. 04:00")
        #expect(env["RC_TIMEZONE"] == "Europe/Berlin")
    }

    @Test(arguments: ["RC_PHASE", "RC_NODE_NAME", "RC_LOCK_HELD", "PATH", "RC_RUN_ID"])
    func aVariableRcSetsForEachRunIsRefused(_ name: String) throws {
        let text = "policy \"p\" {}\ndetector \"f\" file \"/run/flag\"\nhealth \"h\" script \"/bin/true\" { env { \(name) \"x\" } }\n"
        let checked = Checker.check(SourceFile(path: "p.rcl", text: text))
        #expect(checked.hasErrors)
        #expect(checked.diagnostics.contains { $0.message == "`env` cannot set \(name): rc sets it for each run" })
    }

    @Test func envMustBeABlock() throws {
        let text = "policy \"p\" {}\ndetector \"f\" file \"/run/flag\"\nhealth \"h\" script \"/bin/true\" { env \"RC_X=1\" }\n"
        let checked = Checker.check(SourceFile(path: "p.rcl", text: text))
        #expect(checked.diagnostics.contains { $0.message == "`env` takes a block of variables" })
    }

    @Test func aScriptSeesTheValueEachMeasuringCheckOfThePassSaw() async throws {
        let server = try ScriptedHTTPServer { path in
            path.hasPrefix("/api/v1/query")
                ? .respond(status: 200, contentType: "application/json", body: #"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.034"]}}"#)
                : .respond(status: 503, contentType: "application/json", body: "{}")
        }
        defer { server.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-env-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "#!/bin/sh\necho \"errors=$RC_HEALTH_ERRORS_VALUE lag=$RC_HEALTH_WEB_LAG_VALUE\"\n".write(toFile: dir + "/h.sh", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir + "/h.sh")
        let checked = try policy(
            """
            health "h" script "\(dir)/h.sh"
            health "errors" prometheus "\(server.url)" query "sum(rate(e[5m]))" { ok when value < 0.01 }
            health "web-lag" http "\(server.url)/status" { ok when status == 200 }
            """)
        let context = HealthContext(phase: .preLock, nodeName: "n1", dryRun: true, lockHeld: false, lockAttempts: 0)
        let seen = await HealthRunner().runAll(PreparedPolicy(checked), context)
        // The checks that measure ran first (both failed their thresholds), and the script saw their values by name.
        #expect(seen["errors"]?.ok == false && seen["web-lag"]?.ok == false)
        #expect(seen["h"]?.output == "errors=0.034 lag=503", "\(seen["h"]?.output ?? "")")
        #expect(HealthRunner.valueVariable("web-lag.p99") == "RC_HEALTH_WEB_LAG_P99_VALUE")
    }
}
