import Evaluator
import PolicyLang
import Testing

/// A part of a JSON body of the wrong kind is an error naming its path, never a comparison that is merely false:
/// `not (json.lag >= 5)` must not pass because the body says `"lag": "30"`.
@Suite struct JSONKindTests {
    /// Judges `condition` of an http check "lag" on `body`.
    func judge(_ condition: String, _ body: [String: Value]) -> HealthJudgement? {
        let policy = prepare("policy \"p\" {}\ndetector \"apt\" debian\nhealth \"lag\" http \"http://127.0.0.1:8080/s\" { ok when \(condition) }\n")
        return policy.judgeHealth("lag", HealthObservation(ok: true, measurement: HealthMeasurement(status: 200, json: .map(body))))
    }

    @Test(arguments: [
        ("not (json.lag >= 5)", ["lag": Value.string("30")], "json.lag: the response has a string (\"30\") where a number was expected"),
        ("not (json.lag >= 5)", ["lag": .bool(true)], "json.lag: the response has a bool (true) where a number was expected"),
        ("json.lag < 5", ["lag": .list([.int(1)])], "json.lag: the response has a list where a number was expected"),
        ("not json.degraded", ["degraded": .string("yes")], "json.degraded: the response has a string (\"yes\") where a bool was expected"),
        ("json.degraded", ["degraded": .int(0)], "json.degraded: the response has a number (0) where a bool was expected"),
        ("json.state != \"down\"", ["state": .int(3)], "json.state: the response has a number (3) where a string was expected"),
        ("json.state in [\"up\", \"ready\"]", ["state": .int(1)], "json.state: the response has a number (1) where a string was expected"),
        ("not (json.name matches /^db/)", ["name": .int(1)], "json.name: the response has a number (1) where a string was expected"),
        ("json.lag * 2 < 5", ["lag": .string("1")], "json.lag: the response has a string (\"1\") where a number was expected"),
        ("len(json.items) == 0", ["items": .int(0)], "json.items: the response has a number (0) where a string, a list or an object was expected"),
        ("all(json.items, sample < 3)", ["items": .map(["a": .int(1)])], "json.items: the response has an object where a list was expected"),
        ("not any(json.items, sample > 3)", ["items": .list([.int(1), .string("9")])], "json.items[1]: the response has a string (\"9\") where a number was expected"),
        ("json.primary == json.replica", ["primary": .string("a"), "replica": .int(1)], "json.primary: the response has a string (\"a\") where a number (1) is compared with it"),
        ("json.a < json.b", ["a": .list([]), "b": .list([])], "json.a: the response has a list, which cannot be ordered"),
    ])
    func aValueOfTheWrongKindFailsTheCheckNamingItsPath(_ condition: String, _ body: [String: Value], _ message: String) throws {
        let judgement = try #require(judge(condition, body))
        #expect(!judgement.ok)
        #expect(judgement.text == message)
    }

    @Test(arguments: [
        ("not (json.lag >= 5)", ["lag": Value.int(2)], true),
        ("not (json.lag >= 5)", ["lag": .number(7.5)], false),
        ("json.lag < 5.5", ["lag": .int(5)], true),
        ("not json.degraded", ["degraded": .bool(false)], true),
        ("json.state != \"down\"", ["state": .string("down")], false),
        ("json.state in [\"up\", \"ready\"]", ["state": .string("ready")], true),
        ("len(json.items) == 2", ["items": .list([.int(1), .int(2)])], true),
        ("all(json.items, sample < 3)", ["items": .list([.int(1), .number(2.5)])], true),
        ("json.primary == json.replica", ["primary": .string("a"), "replica": .string("a")], true),
        ("json.a < json.b", ["a": .int(1), "b": .number(1.5)], true),
    ])
    func aValueOfTheRightKindIsCompared(_ condition: String, _ body: [String: Value], _ ok: Bool) throws {
        let judgement = try #require(judge(condition, body))
        #expect(judgement.ok == ok, "\(judgement.text)")
    }

    @Test(arguments: [
        ("json.lag < 5s", "a JSON body holds plain numbers: write the threshold in the unit the body uses, e.g. `5` for seconds"),
        ("json.lag < 1500ms", "a JSON body holds plain numbers: write the threshold in the unit the body uses, e.g. `1.5` for seconds"),
        ("json.ratio < 5%", "a JSON body holds plain numbers: write `0.05` for a fraction, or `5` if the body counts in percent"),
        ("max(0s, json.lag) < 30s", "a JSON body holds plain numbers: write the threshold in the unit the body uses, e.g. `0` for seconds"),
        ("min(json.lag, 1h) > 5m", "a JSON body holds plain numbers: write the threshold in the unit the body uses, e.g. `3600` for seconds"),
    ])
    func aComparisonWithAKindJSONHasNotIsRefused(_ condition: String, _ help: String) throws {
        let text = "policy \"p\" {}\ndetector \"apt\" debian\nhealth \"lag\" http \"http://127.0.0.1:8080/s\" { ok when \(condition) }\n"
        let result = Checker.check(SourceFile(path: "test.rcl", text: text))
        let diagnostic = try #require(result.diagnostics.first)
        #expect(result.diagnostics.count == 1 && diagnostic.severity == .error)
        #expect(diagnostic.message.hasPrefix("`<` cannot combine json and ") || diagnostic.message.contains("a number, like the JSON value beside it"), "\(diagnostic.message)")
        #expect(diagnostic.help == help)
    }
}

/// A measurement without what its check reads is no proof of health: it blocks, saying what is missing.
@Suite struct MissingMeasurementTests {
    static let policy = prepare(
        "policy \"p\" {}\ndetector \"apt\" debian\nhealth \"errors\" prometheus \"http://127.0.0.1:9090\" query \"up\" { ok when not (value >= 0.01) }\nhealth \"pages\" alerts \"http://127.0.0.1:9093\" { block_on {} }\n")

    @Test func anAlertsCheckWithoutItsListOfAlertsBlocks() throws {
        let judged = try #require(Self.policy.judgeHealth("pages", HealthObservation(ok: true, measurement: HealthMeasurement(status: 500))))
        #expect(!judged.ok)
        #expect(judged.text == "no list of active alerts (Alertmanager answered HTTP 500)")
        let none = try #require(Self.policy.judgeHealth("pages", HealthObservation(ok: true, measurement: HealthMeasurement(status: 200, blockingAlerts: []))))
        #expect(none.ok)
    }

    @Test func aPrometheusCheckWithoutAResultBlocksAndIsNotAnEmptyResult() throws {
        let judged = try #require(Self.policy.judgeHealth("errors", HealthObservation(ok: true, measurement: HealthMeasurement(status: 500))))
        #expect(!judged.ok)
        #expect(judged.text == "value: no query result (Prometheus answered HTTP 500)")
        let empty = try #require(Self.policy.judgeHealth("errors", HealthObservation(ok: true, measurement: HealthMeasurement(status: 200, samples: []))))
        #expect(!empty.ok && empty.text == "value: the query returned no sample (test it with `empty`)")
    }
}
