"""The same reboot decision in rc, Rego (OPA), Cedar and CEL, over the mix rc-bench-decide writes.

Every engine's answer is checked against `reference` below (plain Python) and so is rc's: one mismatch and the run
fails. Then each engine is timed in-process on the same rows through its Python binding: the full call, the same
call with an always-true policy on the same input (the binding's fixed cost: crossing into the engine, passing the
input, reading the answer back) and with an empty input; evaluation = full − always-true. Input conversion (the
local weekday and minute in the policy's zone, and each engine's own input shape) and compile are timed apart.

    python peers.py DIR     # DIR holds facts-utc.json, rc-utc.json, facts-berlin.json, rc-berlin.json
"""

import json
import statistics
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import cedarpy
import cel
from opa_bindings import OpaEngine

ZONES = [("utc", "UTC"), ("berlin", "Europe/Berlin")]
PASSES = 7


def local(row, zone):
    """The wall-clock weekday (Monday 0) and minute of the day at the row's instant: every engine's input."""
    t = datetime.fromtimestamp(row["now_ms"] / 1000, tz=timezone.utc).astimezone(zone)
    return t.weekday(), t.hour * 60 + t.minute


def engine_input(row, zone):
    weekday, minute = local(row, zone)
    return {
        "needed": row["needed"], "kill_switch": row["kill_switch"], "weekday": weekday, "minute": minute,
        "healthy": row["healthy"], "size": row["size"], "tier": row["tier"], "uptime_s": row["uptime_s"],
        "since_last_reboot_s": row["since_last_reboot_s"], "health_ok": row["health_ok"], "lock_available": row["lock_available"],
    }


# The decision, in the order rc decides (DESIGN.md): detect, kill switch, windows, rules, health, lock.
def reference(i):
    mow = i["weekday"] * 1440 + i["minute"]
    if not i["needed"]:
        return "no_reboot"
    if i["kill_switch"]:
        return "blocked:kill_switch"
    if mow >= 4 * 1440 + 18 * 60 or mow < 8 * 60:  # deny "weekend" Fri 18:00 .. Mon 08:00
        return "blocked:window:weekend"
    if 120 <= i["minute"] < 180:  # deny "backups" daily 02:00 .. 03:00
        return "blocked:window:backups"
    night = (i["weekday"] <= 4 and i["minute"] >= 1320) or (1 <= i["weekday"] <= 5 and i["minute"] < 300)
    if not night:  # allow "night" Mon..Fri 22:00 .. 05:00
        return "blocked:window:night"
    if i["healthy"] < 3 or i["healthy"] * 100 < i["size"] * 60:  # healthy < max(3, 60% of size), rounded up
        return "blocked:rule:keep quorum"
    if i["tier"] == "canary" and i["uptime_s"] < 86400:
        return "blocked:rule:canaries soak"
    if i["since_last_reboot_s"] < 900:
        return "blocked:rule:cool down"
    if not i["health_ok"]:
        return "blocked:health:gate"
    if not i["lock_available"]:
        return "blocked:lock"
    return "reboot"


REGO = """package rc
import rego.v1

mow := (input.weekday * 1440) + input.minute
weekend if mow >= 6840
weekend if mow < 480
backups if { input.minute >= 120; input.minute < 180 }
night if { input.weekday <= 4; input.minute >= 1320 }
night if { input.weekday >= 1; input.weekday <= 5; input.minute < 300 }
quorum_low if input.healthy < 3
quorum_low if (input.healthy * 100) < (input.size * 60)
soaking if { input.tier == "canary"; input.uptime_s < 86400 }

outcome := "no_reboot" if { not input.needed }
else := "blocked:kill_switch" if { input.kill_switch }
else := "blocked:window:weekend" if { weekend }
else := "blocked:window:backups" if { backups }
else := "blocked:window:night" if { not night }
else := "blocked:rule:keep quorum" if { quorum_low }
else := "blocked:rule:canaries soak" if { soaking }
else := "blocked:rule:cool down" if { input.since_last_reboot_s < 900 }
else := "blocked:health:gate" if { not input.health_ok }
else := "blocked:lock" if { not input.lock_available }
else := "reboot"
"""
REGO_TRUE = "package rc\nimport rego.v1\n\noutcome := \"reboot\"\n"

CEL = """!needed ? "no_reboot"
: kill_switch ? "blocked:kill_switch"
: (weekday * 1440 + minute >= 6840 || weekday * 1440 + minute < 480) ? "blocked:window:weekend"
: (minute >= 120 && minute < 180) ? "blocked:window:backups"
: !((weekday <= 4 && minute >= 1320) || (weekday >= 1 && weekday <= 5 && minute < 300)) ? "blocked:window:night"
: (healthy < 3 || healthy * 100 < size * 60) ? "blocked:rule:keep quorum"
: (tier == "canary" && uptime_s < 86400) ? "blocked:rule:canaries soak"
: since_last_reboot_s < 900 ? "blocked:rule:cool down"
: !health_ok ? "blocked:health:gate"
: !lock_available ? "blocked:lock"
: "reboot"
"""
CEL_TRUE = '"reboot"'

# Cedar decides allow or deny: one forbid per blocking reason, in rc's order; the first reason that applies names
# the outcome (Cedar reports every forbid that matched, as policy0, policy1, …, in the order written).
CEDAR_REASONS = [
    ("no_reboot", "!context.needed"),
    ("blocked:kill_switch", "context.kill_switch"),
    ("blocked:window:weekend", "context.weekday * 1440 + context.minute >= 6840 || context.weekday * 1440 + context.minute < 480"),
    ("blocked:window:backups", "context.minute >= 120 && context.minute < 180"),
    ("blocked:window:night", "!((context.weekday <= 4 && context.minute >= 1320) || (context.weekday >= 1 && context.weekday <= 5 && context.minute < 300))"),
    ("blocked:rule:keep quorum", "context.healthy < 3 || context.healthy * 100 < context.size * 60"),
    ("blocked:rule:canaries soak", "context.tier == \"canary\" && context.uptime_s < 86400"),
    ("blocked:rule:cool down", "context.since_last_reboot_s < 900"),
    ("blocked:health:gate", "!context.health_ok"),
    ("blocked:lock", "!context.lock_available"),
]
CEDAR = "permit(principal, action, resource);\n" + "".join(
    f"forbid(principal, action, resource) when {{ {cond} }};\n" for _, cond in CEDAR_REASONS)
CEDAR_TRUE = "permit(principal, action, resource);\n"


def cedar_request(i):
    return {"principal": 'User::"node"', "action": 'Action::"reboot"', "resource": 'Node::"node"', "context": i}


def cedar_outcome(result):
    if result.decision == cedarpy.Decision.Allow:
        return "reboot"
    matched = sorted(int(r[len("policy"):]) for r in result.diagnostics.reasons)
    return CEDAR_REASONS[matched[0] - 1][0] if matched else "error:" + ";".join(map(str, result.diagnostics.errors))


def ns():
    return time.perf_counter_ns()


def timed(call, inputs):
    """Each call timed alone, PASSES times over the inputs: (answers of the first pass, per-call µs)."""
    answers = [call(i) for i in inputs]
    samples = []
    for _ in range(PASSES):
        for i in inputs:
            a = ns()
            call(i)
            samples.append((ns() - a) / 1000)
    return answers, samples


def timed_pair(call, baseline, inputs):
    """`call` and `baseline` timed alternately on each input, so that a busy machine slows both alike."""
    answers = [call(i) for i in inputs]
    full, base = [], []
    for _ in range(PASSES):
        for i in inputs:
            a = ns()
            call(i)
            b = ns()
            baseline(i)
            c = ns()
            full.append((b - a) / 1000)
            base.append((c - b) / 1000)
    return answers, full, base


def summary(samples):
    s = sorted(samples)
    return {"mean": statistics.fmean(s), "p50": s[len(s) // 2], "p99": s[len(s) * 99 // 100]}


def main(directory):
    report = {}
    mismatches = 0
    for name, zone_name in ZONES:
        zone = ZoneInfo(zone_name)
        rows = json.load(open(f"{directory}/facts-{name}.json"))
        rc = json.load(open(f"{directory}/rc-{name}.json"))
        a = ns()
        inputs = [engine_input(r, zone) for r in rows]
        convert_local = (ns() - a) / 1000 / len(rows)
        expected = [reference(i) for i in inputs]
        for row, want in zip(rows, expected):
            if row["rc"] != want:
                mismatches += 1
                print(f"rc disagrees at {row}: {row['rc']} != {want}", file=sys.stderr)

        engines = {}
        # OPA: the input is encoded to JSON inside the call (part of the fixed cost).
        a = ns()
        opa = OpaEngine()
        opa.add_policy("rc.rego", REGO)
        opa.eval_document("rc.outcome", inputs[0])  # prepares the query
        opa_compile = (ns() - a) / 1000
        opa_true = OpaEngine()
        opa_true.add_policy("rc.rego", REGO_TRUE)
        opa_true.eval_document("rc.outcome", inputs[0])
        engines["OPA (Rego)"] = (lambda i: opa.eval_document("rc.outcome", i), lambda i: opa_true.eval_document("rc.outcome", i),
                                 lambda i: i, opa_compile, lambda o: o)
        # Cedar: parsed once into a PolicySet; the request dict is the engine's input shape.
        a = ns()
        cedar_set = cedarpy.PolicySet.from_str(CEDAR)
        cedar_compile = (ns() - a) / 1000
        cedar_true = cedarpy.PolicySet.from_str(CEDAR_TRUE)
        entities = cedarpy.Entities.from_json_str("[]")
        engines["Cedar"] = (lambda r: cedarpy.is_authorized(r, cedar_set, entities), lambda r: cedarpy.is_authorized(r, cedar_true, entities),
                            cedar_request, cedar_compile, cedar_outcome)
        # CEL: compiled once; the input dict is the activation.
        a = ns()
        cel_program = cel.compile(CEL)
        cel_compile = (ns() - a) / 1000
        cel_true = cel.compile(CEL_TRUE)
        engines["CEL"] = (lambda i: cel_program.execute(i), lambda i: cel_true.execute(i), lambda i: i, cel_compile, lambda o: o)

        zone_report = {"rows": len(rows), "convert_local_us": convert_local,
                       "rc": {"mean": rc["mean_us"], "p50": rc["p50_us"], "p99": rc["p99_us"], "compile_us": rc["compile_us"]}}
        for engine, (full, true_call, shape, compile_us, outcome) in engines.items():
            a = ns()
            shaped = [shape(i) for i in inputs]
            convert = (ns() - a) / 1000 / len(rows)
            answers, full_samples, true_samples = timed_pair(full, true_call, shaped)
            for i, (got, want) in enumerate(zip(answers, expected)):
                if outcome(got) != want:
                    mismatches += 1
                    print(f"{engine} disagrees at row {i} {inputs[i]}: {outcome(got)} != {want}", file=sys.stderr)
            empty = shape({}) if engine != "Cedar" else cedar_request({})
            _, empty_samples = timed(true_call, [empty] * min(200, len(rows)))
            f, t, e = summary(full_samples), summary(true_samples), summary(empty_samples)
            zone_report[engine] = {
                "full": f, "always_true": t, "always_true_empty_input": e,
                "evaluation": {"mean": f["mean"] - t["mean"], "p50": f["p50"] - t["p50"], "p99": f["p99"] - t["p99"]},
                "convert_us": convert, "compile_us": compile_us,
            }
        report[zone_name] = zone_report

    json.dump(report, open(f"{directory}/peers.json", "w"), indent=2)
    for zone_name, z in report.items():
        print(f"{zone_name}: {z['rows']} fact sets, 0 mismatches" if mismatches == 0 else f"{zone_name}: {z['rows']} fact sets")
        print(f"  local weekday/minute for the peers: {z['convert_local_us']:.2f} µs per row")
        rc = z["rc"]
        print(f"  {'rc (Swift, in-process)':28} eval mean {rc['mean']:7.3f} p50 {rc['p50']:7.3f} p99 {rc['p99']:7.3f} µs   compile {rc['compile_us']:8.1f} µs")
        for engine in ["CEL", "OPA (Rego)", "Cedar"]:
            e = z[engine]
            print(f"  {engine:28} eval mean {e['evaluation']['mean']:7.3f} p50 {e['evaluation']['p50']:7.3f} p99 {e['evaluation']['p99']:7.3f} µs"
                  f"   full call mean {e['full']['mean']:7.2f} p50 {e['full']['p50']:7.2f} p99 {e['full']['p99']:7.2f}"
                  f"   fixed cost {e['always_true']['mean']:6.2f} (empty input {e['always_true_empty_input']['mean']:6.2f})"
                  f"   input {e['convert_us']:5.2f}   compile {e['compile_us']:8.1f} µs"
                  f"   {engine} ÷ rc (eval mean) {e['evaluation']['mean'] / rc['mean']:.2f}")
    if mismatches:
        print(f"{mismatches} mismatches: the engines do not agree", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
