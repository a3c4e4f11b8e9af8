/// Messages of the checker (`RC2xxx`) and the lints (`RC3xxx`).
extension Diagnostic {
    static func didYouMean(_ suggestion: String?) -> String? {
        suggestion.map { "did you mean `\($0)`?" }
    }

    static func unknownName(_ span: Span, _ name: String, known: [String], context: String) -> Diagnostic {
        Diagnostic(
            .unknownName, "unknown name `\(name)`", at: span, label: "not known \(context)",
            notes: known.isEmpty ? [DiagnosticNote("no names can be used here; write a constant")]
                : [DiagnosticNote("the names known here are: \(known.joined(separator: ", "))")],
            help: didYouMean(closestMatch(name, in: known)))
    }

    static func unknownFact(_ span: Span, group: String, field: String, known: [String]) -> Diagnostic {
        Diagnostic(
            .unknownName, "`\(group)` has no fact `\(field)`", at: span, label: "unknown fact",
            notes: [DiagnosticNote("the facts of `\(group)` are: \(known.joined(separator: ", "))")],
            help: didYouMean(closestMatch(field, in: known)))
    }

    static func typeMismatch(_ span: Span, expected: String, found: RCType, help: String? = nil, label: String? = nil)
        -> Diagnostic
    {
        Diagnostic(
            .typeMismatch, "expected \(expected), found \(found)", at: span, label: label ?? "this is \(article(found))",
            help: help)
    }

    static func operandMismatch(_ span: Span, op: String, left: RCType, right: RCType, help: String?) -> Diagnostic {
        Diagnostic(
            .typeMismatch, "`\(op)` cannot combine \(left) and \(right)", at: span,
            label: "\(left) \(op) \(right)", help: help)
    }

    static func wrongArity(_ span: Span, function: String, expected: String, found: Int) -> Diagnostic {
        Diagnostic(
            .wrongArity, "`\(function)` takes \(expected), found \(found)", at: span,
            label: "\(found) argument\(found == 1 ? "" : "s")")
    }

    static func unknownFunction(_ span: Span, _ name: String) -> Diagnostic {
        Diagnostic(
            .unknownFunction, "unknown function `\(name)`", at: span, label: "not a function",
            notes: [DiagnosticNote("the functions are: \(BuiltinFunction.allCases.map(\.rawValue).joined(separator: ", "))")],
            help: didYouMean(closestMatch(name, in: BuiltinFunction.allCases.map(\.rawValue))))
    }

    static func duplicateName(_ span: Span, kind: String, name: String, first: Span) -> Diagnostic {
        Diagnostic(
            .duplicateName, "\(kind) \(quoteString(name)) is declared twice", at: span, label: "declared again here",
            notes: [DiagnosticNote("first declared here", span: first)], help: "give each \(kind) a unique name")
    }

    static func duplicateDeclaration(_ span: Span, what: String, first: Span) -> Diagnostic {
        Diagnostic(
            .duplicateDeclaration, "`\(what)` may appear only once in a policy", at: span, label: "second `\(what)`",
            notes: [DiagnosticNote("first here", span: first)], help: "merge the two into one")
    }

    static func invalidRegex(_ span: Span, message: String) -> Diagnostic {
        Diagnostic(.invalidRegex, "invalid regex: \(message)", at: span, label: message)
    }

    static func unknownTimeZone(_ span: Span, _ name: String, suggestion: String?) -> Diagnostic {
        Diagnostic(
            .unknownTimeZone, "unknown time zone \(quoteString(name))", at: span, label: "not in the time zone database",
            help: suggestion.map { "did you mean \(quoteString($0))?" } ?? "use an IANA name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\"")
    }

    static func emptyWindow(_ span: Span, _ why: String) -> Diagnostic {
        Diagnostic(
            .emptyWindow, "window covers no time", at: span, label: why,
            help: "for a whole day write only the days (`Sat..Sun`); for a daily window give different start and end times")
    }

    static func windowInClockGap(_ span: Span, _ from: String, zone: String, _ to: String) -> Diagnostic {
        Diagnostic(
            .emptyWindow, "window covers no time: in \(zone) the clocks go from \(from) to \(to)\(from.count > 5 ? "" : " that night")", at: span,
            label: from.count > 5 ? "entirely in the skipped time" : "entirely in the skipped hour",
            help: "give times the clock shows that day, e.g. from \(to)")
    }

    static func ttlTooShort(_ span: Span, ttl: Int64, health: String, timeout: Int64, healthSpan: Span) -> Diagnostic {
        Diagnostic(
            .ttlTooShort,
            "lock ttl \(formatDuration(milliseconds: ttl)) is \(ttl == timeout ? "not longer than" : "shorter than") the \(formatDuration(milliseconds: timeout)) timeout of health check \(quoteString(health))",
            at: span, label: "the lease could expire while the check runs under the lock",
            notes: [DiagnosticNote("the timeout is set here", span: healthSpan)],
            help: "make `ttl` longer than \(formatDuration(milliseconds: timeout))")
    }

    static func unknownTestReference(_ span: Span, kind: String, name: String, known: [String]) -> Diagnostic {
        Diagnostic(
            .unknownTestReference, "this policy has no \(kind) \(quoteString(name))", at: span, label: "unknown \(kind)",
            notes: known.isEmpty ? [DiagnosticNote("the policy declares no \(kind)")]
                : [DiagnosticNote("the \(kind)s are: \(listed(known.map(quoteString)))")],
            help: closestMatch(name, in: known).map { "did you mean \(quoteString($0))?" })
    }

    static func missingPolicy(_ span: Span) -> Diagnostic {
        Diagnostic(
            .missingPolicy, "missing `policy` declaration", at: span, label: "a policy file starts with its name",
            help: "add `policy \"NAME\" { applies_to node.name matches /^web-/ }` at the top")
    }

    static func unknownField(_ span: Span, _ name: String, context: String, known: [String]) -> Diagnostic {
        Diagnostic(
            .unknownField, "unknown field `\(name)` in \(context)", at: span, label: "not a field of \(context)",
            notes: [DiagnosticNote("the fields are: \(known.joined(separator: ", "))")],
            help: didYouMean(closestMatch(name, in: known)))
    }

    static func missingField(_ span: Span, _ name: String, context: String, example: String) -> Diagnostic {
        Diagnostic(
            .missingField, "\(context) needs `\(name)`", at: span, label: "`\(name)` is missing", help: "add `\(example)`")
    }

    static func invalidValue(_ span: Span, _ message: String, label: String, help: String? = nil) -> Diagnostic {
        Diagnostic(.invalidValue, message, at: span, label: label, help: help)
    }

    static func duplicateField(_ span: Span, _ name: String, first: Span) -> Diagnostic {
        Diagnostic(
            .duplicateField, "field `\(name)` is given twice", at: span, label: "given again here",
            notes: [DiagnosticNote("first given here", span: first)], help: "remove one of them")
    }

    static func unknownInterpolation(_ span: Span, _ path: String, known: [String]) -> Diagnostic {
        Diagnostic(
            .unknownInterpolation, "unknown interpolation `${\(path)}`", at: span, label: "not a known value",
            notes: [
                known.isEmpty
                    ? DiagnosticNote("nothing is interpolated here: the text is used as written (only `reboot command` interpolates); write `\\$` for a literal dollar sign")
                    : DiagnosticNote("values that can be interpolated: \(known.map { "${\($0)}" }.joined(separator: ", "))")
            ],
            help: closestMatch(path, in: known).map { "did you mean `${\($0)}`?" })
    }

    static func endDayWithManyStartDays(_ span: Span) -> Diagnostic {
        Diagnostic(
            .endDayWithManyStartDays, "a window with an end day needs exactly one start day", at: span,
            label: "several start days",
            help: "write one window per start day (`Fri 18:00 .. Mon 08:00`), or drop the end day for a window every day (`Tue..Thu 22:00 .. 04:00`)")
    }

    static func relativePath(_ span: Span, _ path: String, what: String) -> Diagnostic {
        Diagnostic(
            .relativePath, "\(what) must be an absolute path, found \(quoteString(path))", at: span, label: "relative path",
            help: "write the full path, starting with `/`")
    }

    static func invalidDate(_ span: Span, _ text: String, days: Int, month: String) -> Diagnostic {
        Diagnostic(
            .invalidDate, "there is no \(text)", at: span, label: "\(month) has \(days) days",
            help: "write a day from 1 to \(days)" + (days >= 28 && days < 31 ? ", or `last day` for a window on the last day of every month" : ""))
    }

    static func invalidDayOfMonth(_ span: Span, _ day: Int64) -> Diagnostic {
        Diagnostic(
            .invalidDate, "there is no day \(day) in any month", at: span, label: "days of the month run from 1 to 31",
            help: "days past a month's end are clamped to it: `day 28 .. 31` is the 28th to the last day of every month")
    }

    static func invalidOrdinal(_ span: Span, _ n: Int, _ day: String) -> Diagnostic {
        if n == 5 {
            return Diagnostic(
                .invalidOrdinal, "not every month has a 5th \(day)", at: span, label: "only some months have five",
                help: "write `last \(day)` for the last \(day) of every month")
        }
        return Diagnostic(
            .invalidOrdinal, "no month has a \(ordinal(n)) \(day)", at: span, label: "a weekday comes four or five times a month",
            help: "write `1st`, `2nd`, `3rd`, `4th` or `last`")
    }

    static func backwardsDates(_ span: Span, _ what: String) -> Diagnostic {
        Diagnostic(
            .backwardsDates, "the window ends before it starts", at: span, label: what,
            help: "write the earlier end first")
    }

    static func windowTimesDoNotFit(_ span: Span, _ message: String, label: String, help: String) -> Diagnostic {
        Diagnostic(.windowTimesDoNotFit, message, at: span, label: label, help: help)
    }

    static func windowInThePast(_ span: Span, ended: String) -> Diagnostic {
        Diagnostic(
            .windowInThePast, "this one-off window ended \(ended)", at: span, label: "entirely in the past",
            help: "remove the window, or give its new dates")
    }

    static func invalidHealthEndpoint(_ span: Span, _ url: String, example: String) -> Diagnostic {
        Diagnostic(
            .invalidHealthEndpoint, "invalid health check URL \(quoteString(url))", at: span, label: "expected http:// or https:// and a host",
            help: "write e.g. \(quoteString(example))")
    }

    /// `message` names the URL itself, unless it carries credentials.
    static func healthEndpointPart(_ span: Span, _ message: String, label: String, help: String) -> Diagnostic {
        Diagnostic(.invalidHealthEndpoint, message, at: span, label: label, help: help)
    }

    static func healthVariableClash(_ span: Span, _ name: String, first: String, firstSpan: Span, variable: String) -> Diagnostic {
        Diagnostic(
            .healthVariableClash, "health checks \(quoteString(first)) and \(quoteString(name)) would both give scripts `\(variable)`", at: span,
            label: "the same variable as \(quoteString(first))", notes: [DiagnosticNote("the first check is declared here", span: firstSpan)],
            help: "rename one check so that the names differ in more than punctuation and case")
    }

    static func contradictoryGiven(_ span: Span, _ message: String, label: String, other: Span?, help: String) -> Diagnostic {
        Diagnostic(
            .impossibleGiven, message, at: span, label: label, notes: other.map { [DiagnosticNote("given beside it", span: $0)] } ?? [],
            help: help)
    }

    static func caWithoutTLS(_ span: Span, _ url: String) -> Diagnostic {
        Diagnostic(
            .caWithoutTLS, "`ca` needs an https:// endpoint, found \(quoteString(url))", at: span, label: "the endpoint is plain http",
            help: "write the endpoint as https://…, or remove `ca`")
    }

    static func headerToken(_ span: Span, _ message: String, label: String, help: String) -> Diagnostic {
        Diagnostic(.headerToken, message, at: span, label: label, help: help)
    }

    static func givenNotMeasured(_ span: Span, _ message: String, label: String, help: String) -> Diagnostic {
        Diagnostic(.givenNotMeasured, message, at: span, label: label, help: help)
    }

    static func noDetectors(_ span: Span) -> Diagnostic {
        Diagnostic(
            .noDetectors, "policy has no detectors, so it never reboots a node", at: span, label: "no `detector` in this policy",
            help: "add one, e.g. `detector \"apt\" debian`")
    }

    static func plaintextEtcd(_ span: Span, _ endpoint: String) -> Diagnostic {
        Diagnostic(
            .plaintextEtcd, "etcd endpoint \(quoteString(endpoint)) is not encrypted", at: span, label: "plain http",
            help: "use https:// with a `tls { ca … cert … key … }` block")
    }

    static func insecureSkipVerify(_ span: Span) -> Diagnostic {
        Diagnostic(
            .insecureSkipVerify, "TLS certificate verification is turned off", at: span,
            label: "anyone on the path can impersonate etcd", help: "give the CA with `ca \"/path/ca.crt\"` instead")
    }

    static func duplicateExpectation(_ span: Span, first: Span) -> Diagnostic {
        Diagnostic(
            .duplicateExpectation, "a test has one `expect`; this one is the second", at: span, label: "another expectation",
            notes: [DiagnosticNote("the first `expect` of this test", span: first)],
            help: "keep one, or write a test of its own for each expected outcome")
    }

    static func negativeGiven(_ span: Span, fact: String) -> Diagnostic {
        Diagnostic(
            .impossibleGiven, "`\(fact)` cannot be negative", at: span, label: "a negative \(fact == "node.uptime" ? "duration" : "count")",
            help: "give a value of 0 or more")
    }

    static func healthierThanCluster(_ span: Span, healthy: Int64, size: Int64, sizeSpan: Span) -> Diagnostic {
        Diagnostic(
            .impossibleGiven, "`cluster.healthy` (\(healthy)) is more than `cluster.size` (\(size))", at: span,
            label: "more healthy members than members", notes: [DiagnosticNote("the cluster's size", span: sizeSpan)],
            help: "the healthy members are some of the cluster's members: give `cluster.healthy` of \(size) or less")
    }
}

/// The first names of a list joined with commas, and how many more there are: a note stays short however many
/// names the policy declares.
func listed(_ names: [String], max: Int = 20) -> String {
    guard names.count > max else { return names.joined(separator: ", ") }
    return names.prefix(max).joined(separator: ", ") + " and \(names.count - max) more"
}

/// "an int", "a duration".
func article(_ type: RCType) -> String {
    let text = type.description
    if text.hasPrefix("`") { return text }
    return (["a", "e", "i", "o", "u"].contains(text.first.map(String.init) ?? "") ? "an " : "a ") + text
}
