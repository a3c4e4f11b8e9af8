import PolicyLang

/// The semantic lints (`RC3004`…): findings about policies that are valid but almost surely not what their author
/// meant — a node that can never reboot, a rule that never matters, a window written the wrong way round. Each rule
/// is documented in docs/lint.md. Pure: it reads the checked policy and its syntax tree only.
public enum Linter {
    /// The findings about one checked policy, in source order.
    /// `now` (epoch milliseconds) is where the search for an eligible instant starts; without it, a fixed Monday.
    public static func lint(_ policy: CheckedPolicy, tree: SyntaxTree, now: Int64? = nil) -> [Diagnostic] {
        var linter = PolicyLinter(policy: policy, tree: tree, now: now)
        linter.run()
        return linter.findings.sorted { ($0.span.start, $0.span.end) < ($1.span.start, $1.span.end) }
    }

    /// The file a policy came from and a finding about it.
    public struct DirectoryFinding: Sendable {
        public var file: SourceFile
        public var diagnostic: Diagnostic
    }

    /// Findings across the policies of one directory: two policies that govern the same node (`RC3018`), checked
    /// on the node names and labels the policies' tests use.
    public static func lintDirectory(_ policies: [(CheckedPolicy, SyntaxTree)]) -> [DirectoryFinding] {
        var byDirectory: [String: [(CheckedPolicy, SyntaxTree)]] = [:]
        for entry in policies { byDirectory[directory(of: entry.0.file.path), default: []].append(entry) }
        var findings: [DirectoryFinding] = []
        for (_, group) in byDirectory.sorted(by: { $0.key < $1.key }) where group.count > 1 {
            findings += overlappingPolicies(group)
        }
        return findings
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    private static func overlappingPolicies(_ group: [(CheckedPolicy, SyntaxTree)]) -> [DirectoryFinding] {
        let prepared = group.map { PreparedPolicy($0.0) }
        let specific = prepared.indices.filter { prepared[$0].appliesTo != nil }
        // The nodes the tests describe: a name and labels, with the test that gave them.
        var nodes: [(facts: Facts, slots: FactSlots, test: String, policy: Int)] = []
        for (index, policy) in prepared.enumerated() {
            for test in policy.policy.tests {
                let facts = Facts(given: test.given)
                guard facts.nodeName != nil || facts.nodeLabels != nil else { continue }
                nodes.append((facts, policy.slots(facts, phase: .preLock), test.name, index))
            }
        }
        var findings: [DirectoryFinding] = []
        var reported = Set<[Int]>()
        func report(_ a: Int, _ b: Int, because: String) {
            guard reported.insert([a, b]).inserted else { return }
            let (first, second) = (prepared[a].policy, prepared[b].policy)
            let span = policyNameSpan(group[b].1) ?? .at(0)
            findings.append(
                DirectoryFinding(
                    file: second.file,
                    diagnostic: Diagnostic(
                        .overlappingPolicies,
                        "policies \(quoteString(first.name)) and \(quoteString(second.name)) both govern \(because)",
                        at: span, label: "this policy",
                        notes: [DiagnosticNote("the other is \(quoteString(first.name)) in \(first.file.path)")],
                        help: "a node governed by two policies is refused by `rc run`; make their `applies_to` conditions exclusive")))
        }
        let defaults = prepared.indices.filter { prepared[$0].appliesTo == nil }
        if defaults.count > 1 {
            for b in defaults.dropFirst() { report(defaults[0], b, because: "every node (neither has `applies_to`)") }
        }
        for node in nodes {
            let matching = specific.filter { (try? Interpreter.bool(prepared[$0].appliesTo!, node.slots, nil)) ?? false }
            guard matching.count > 1 else { continue }
            var what = "node " + quoteString(node.facts.nodeName ?? "")
            if let labels = node.facts.nodeLabels, !labels.isEmpty {
                what += " with labels " + Value.map(labels.mapValues(Value.string)).description
            }
            what += " (test \(quoteString(node.test)) of \(quoteString(prepared[node.policy].policy.name)))"
            for b in matching.dropFirst() { report(matching[0], b, because: what) }
        }
        return findings
    }

    static func policyNameSpan(_ tree: SyntaxTree) -> Span? {
        for decl in tree.decls { if case .policy(let name, _) = decl.kind { return name.span } }
        return nil
    }
}

/// The lints of one policy.
struct PolicyLinter {
    let policy: CheckedPolicy
    let tree: SyntaxTree
    let compiler: Compiler
    let now: Int64?
    var findings: [Diagnostic] = []

    init(policy: CheckedPolicy, tree: SyntaxTree, now: Int64?) {
        self.policy = policy
        self.tree = tree
        self.now = now
        compiler = Compiler(tables: policy.tables, policyName: policy.name)
    }

    mutating func run() {
        rules()
        windows()
        detectors()
        settings()
        tests()
    }

    private var file: SourceFile { policy.file }

    // MARK: - Rules and thresholds

    /// Lints the rules.
    private mutating func rules() {
        var model = SmallModel(policy, compiler: compiler)
        var earlier: [(rule: String, span: Span, formula: SmallModel.Formula)] = []
        for rule in policy.rules {
            for condition in rule.conditions {
                impossibleThresholds(condition, &model)
                let formula = model.formula(condition)
                switch model.constant(formula) {
                case true?:
                    findings.append(
                        Diagnostic(
                            .neverEligible, "rule \(quoteString(rule.name)) always denies, so no node it governs ever reboots",
                            at: condition.span, label: "this holds whatever the facts",
                            help: "delete the rule, or write the condition that should block (a kill switch stops all reboots on purpose)"))
                    continue
                case false?:
                    findings.append(
                        Diagnostic(
                            .constantRule, "rule \(quoteString(rule.name)) never denies", at: condition.span,
                            label: "this is false whatever the facts", notes: factNotes(condition), help: "delete it, or fix the condition"))
                    continue
                case nil: break
                }
                // A condition implies one that reads none of its facts only when one of them is constant, said above.
                if let shadow = earlier.first(where: { model.share(formula, $0.formula) && model.implies(formula, $0.formula) == true }) {
                    let same = shadow.rule == rule.name
                    findings.append(
                        Diagnostic(
                            .shadowedRule,
                            same ? "this condition of rule \(quoteString(rule.name)) holds only when an earlier one of it does"
                                : "rule \(quoteString(rule.name)) holds only when rule \(quoteString(shadow.rule)) already denies",
                            at: condition.span, label: "never the reason for a block",
                            notes: [DiagnosticNote("the earlier condition", span: shadow.span)],
                            help: "delete it, or make it stricter than the earlier one if it should block on its own"))
                }
                earlier.append((rule.name, condition.span, formula))
            }
        }
    }

    /// Comparisons inside a condition that always or never hold, and percentages of a count outside 0–100 %.
    private mutating func impossibleThresholds(_ condition: Expr, _ model: inout SmallModel) {
        var comparisons: [Expr] = []
        func walk(_ e: Expr) {
            switch e.kind {
            case .percentOf(let p, let n):
                if let percent = percentValue(p), percent < 0 || percent > 100, isCount(n) {
                    findings.append(
                        Diagnostic(
                            .impossibleThreshold,
                            "\(Value.percent(percent).description) of a count is \(percent < 0 ? "below zero" : "more than all of it")",
                            at: p.span, label: "the count is never \(percent < 0 ? "negative" : "larger than itself")",
                            help: "a share of \(file.text(n.span)) lies between 0% and 100%"))
                }
            case .binary(let op, _, _) where [.less, .lessEqual, .greater, .greaterEqual, .equal, .notEqual].contains(op):
                comparisons.append(e)
            default: break
            }
            e.kind.children.forEach(walk)
        }
        walk(condition)
        // A comparison that is the whole condition is the rule's own finding.
        for comparison in comparisons where comparison.id != condition.id {
            let formula = model.formula(comparison)
            guard let value = model.constant(formula) else { continue }
            findings.append(
                Diagnostic(
                    .impossibleThreshold, "`\(file.text(comparison.span))` is always \(value)", at: comparison.span,
                    label: value ? "holds whatever the facts" : "never holds",
                    notes: factNotes(comparison),
                    help: "compare with a threshold the facts can cross"))
        }
    }

    private func factNotes(_ e: Expr) -> [DiagnosticNote] {
        guard case .binary(_, let a, let b) = e.kind, policy.tables.facts[a.id] != nil, policy.tables.facts[b.id] != nil else { return [] }
        let keys = factsRead(by: e, policy.tables)
        if keys.contains(.clusterHealthy) && keys.contains(.clusterSize) {
            return [DiagnosticNote("cluster.healthy is never more than cluster.size")]
        }
        if keys.contains(.lockHolders) && keys.contains(.lockSlots) {
            return [DiagnosticNote("lock.holders is never more than lock.slots")]
        }
        return []
    }

    private func percentValue(_ e: Expr) -> Double? {
        switch e.kind {
        case .percent(let p): p
        case .unary(.negate, let inner): percentValue(inner).map { -$0 }
        default: nil
        }
    }

    private func isCount(_ e: Expr) -> Bool {
        guard let key = policy.tables.facts[e.id] else { return false }
        return [.clusterSize, .clusterHealthy, .clusterFallbackHealthy, .lockSlots, .lockHolders].contains(key)
    }

    // MARK: - Windows

    private mutating func windows() {
        let decls = windowDecls()
        let calendar = WindowCalendar(policy.windows)
        // Weekly windows repeat every week; the calendar looks far enough ahead for yearly and monthly ones (400 days).
        let from: Int64 = now ?? 1_799_884_800_000
        let neverEligible = !policy.windows.isEmpty && calendar.nextEligible(from: from) == nil
        if neverEligible {
            let allows = policy.windows.filter { $0.effect == .allow }
            let span = allows.first.map { decls[$0.name]?.name ?? $0.span } ?? policy.windows[0].span
            let days = WindowCalendar.horizonDays
            // Allow windows that never open at all (over, or in no month): the deny windows are not the reason.
            let noneOpens = !allows.isEmpty && calendar.windows.indices.allSatisfy { calendar.windows[$0].isDeny || calendar.nextOpening(of: $0, from: from) == nil }
            let (message, label, help): (String, String, String)
            if noneOpens {
                (message, label, help) = (
                    "no instant is ever eligible: no allow window opens in the next \(days) days", "never open in the next \(days) days",
                    "give the allow window\(allows.count == 1 ? "" : "s") dates to come, or remove \(allows.count == 1 ? "it" : "them") so that the deny windows alone decide"
                )
            } else if allows.isEmpty {
                (message, label, help) = (
                    "no instant is ever eligible: the deny windows cover every instant of the next \(days) days", "deny windows",
                    "shorten a deny window; `rc simulate --days 60` shows when each is open"
                )
            } else {
                (message, label, help) = (
                    "no instant is ever eligible: the deny windows cover every allow window", "never open in the next \(days) days outside the deny windows",
                    "shorten a deny window or add an allow window outside them; `rc simulate` shows the week"
                )
            }
            findings.append(
                Diagnostic(
                    .neverEligible, message, at: span, label: label,
                    notes: noneOpens ? [] : policy.windows.filter { $0.effect == .deny }.prefix(3).map {
                        DiagnosticNote("deny \(quoteString($0.name)): \($0.text)", span: decls[$0.name]?.name)
                    },
                    help: help))
        }
        // Weekly windows are compared on the minutes of the week; dated and monthly ones only by the calendar.
        let weekly = policy.windows.indices.filter { if case .weekly = policy.windows[$0].schedule { true } else { false } }
        let byZone = Dictionary(grouping: weekly, by: { policy.windows[$0].timeZone })
        for (_, indices) in byZone.sorted(by: { $0.key < $1.key }) {
            windowsOfOneZone(indices, decls, neverEligible: neverEligible)
        }
        for window in policy.windows {
            guard let decl = decls[window.name], decl.decl.endDay != nil, window.intervals.count == 1 else { continue }
            let interval = window.intervals[0]
            let length = interval.end - interval.start
            guard length > 6 * 1440 else { continue }
            var help = "write the shorter stretch the other way round"
            if let start = decl.decl.start, let end = decl.decl.end, let endDay = decl.decl.endDay,
                case .days(let ranges) = decl.decl.days, let startDay = ranges.first?.from.word
            {
                help = "did you mean `\(file.text(startDay.span)) \(file.text(end.span)) .. \(file.text(endDay.word.span)) \(file.text(start.span))`?"
            }
            findings.append(
                Diagnostic(
                    .windowWrapsWeek, "window \(quoteString(window.name)) lasts \(formatDuration(milliseconds: Int64(length) * 60_000))",
                    at: decl.decl.days.span.union(decl.decl.end?.span ?? decl.decl.days.span),
                    label: "the end comes before the start, so it wraps round the week", help: help))
        }
    }

    private struct WindowSource {
        var decl: WindowDecl
        var name: Span
    }

    private func windowDecls() -> [String: WindowSource] {
        var out: [String: WindowSource] = [:]
        for decl in tree.decls {
            if case .window(let w) = decl.kind, out[w.name.value] == nil { out[w.name.value] = WindowSource(decl: w, name: w.name.span) }
        }
        return out
    }

    /// Overlapping, covered and unused windows of one zone, on the minutes of the week.
    private mutating func windowsOfOneZone(_ indices: [Int], _ decls: [String: WindowSource], neverEligible: Bool) {
        let windows = indices.map { policy.windows[$0] }
        let sets = windows.map { MinuteSet($0.intervals) }
        let denyUnion = MinuteSet.union(zip(windows, sets).filter { $0.0.effect == .deny }.map(\.1))
        let allowUnion = MinuteSet.union(zip(windows, sets).filter { $0.0.effect == .allow }.map(\.1))
        let hasAllow = windows.contains { $0.effect == .allow } || policy.windows.contains { $0.effect == .allow }
        // "Never overlaps an allow window" needs every allow window on the same week.
        let allowsComparable = policy.windows.allSatisfy { w in
            guard w.effect == .allow else { return true }
            if case .weekly = w.schedule { return w.timeZone == windows.first?.timeZone } else { return false }
        }
        var flagged = Set<Int>()
        func span(_ w: WindowSpec) -> Span { decls[w.name]?.name ?? w.span }
        for (i, w) in windows.enumerated() {
            for j in 0..<i where windows[j].effect == w.effect {
                let other = windows[j]
                let overlap = sets[i].intersection(sets[j])
                guard !overlap.isEmpty else { continue }
                let same = sets[i] == sets[j]
                // One inside the other adds no time: that is an unused window, said below. Deny windows of different
                // purposes (a freeze, the backups) often overlap, and together deny their union as written.
                if !same, sets[i].isSubset(of: sets[j]) || sets[j].isSubset(of: sets[i]) || w.effect == .deny { continue }
                flagged.insert(i)
                if same { flagged.insert(j) }
                findings.append(
                    Diagnostic(
                        .overlappingWindows,
                        same ? "\(w.effect.rawValue) window \(quoteString(w.name)) repeats \(quoteString(other.name))"
                            : "\(w.effect.rawValue) windows \(quoteString(other.name)) and \(quoteString(w.name)) overlap",
                        at: span(w), label: same ? "the same time as \(quoteString(other.name))" : "overlaps \(overlap.describe())",
                        notes: [DiagnosticNote("\(quoteString(other.name)): \(other.text)", span: span(other))],
                        help: same ? "delete one of them" : "merge them into one window, or make them meet without overlapping",
                        fix: same && w.text == other.text ? Fix("delete the repeated window \(quoteString(w.name))", [deletion(of: w.span)]) : nil))
                break
            }
        }
        for (i, w) in windows.enumerated() where w.effect == .allow && !flagged.contains(i) && !neverEligible {
            if sets[i].isSubset(of: denyUnion) {
                flagged.insert(i)
                let covering = windows.enumerated().filter { $0.element.effect == .deny && !$0.element.intervals.isEmpty && !sets[$0.offset].intersection(sets[i]).isEmpty }
                findings.append(
                    Diagnostic(
                        .allowWindowDenied, "allow window \(quoteString(w.name)) is never open: deny windows cover all of it",
                        at: span(w), label: "always denied",
                        notes: covering.prefix(3).map { DiagnosticNote("deny \(quoteString($0.element.name)): \($0.element.text)", span: span($0.element)) },
                        help: "move the allow window, or shorten the deny windows"))
            }
        }
        for (i, w) in windows.enumerated() where !flagged.contains(i) && !neverEligible {
            switch w.effect {
            case .allow:
                let others = MinuteSet.union(windows.indices.filter { $0 != i && windows[$0].effect == .allow }.map { sets[$0] })
                if sets[i].subtracting(denyUnion).isSubset(of: others) {
                    findings.append(
                        Diagnostic(
                            .unusedWindow, "allow window \(quoteString(w.name)) adds no time: other allow windows cover it", at: span(w),
                            label: "removing it changes nothing", help: "delete it"))
                }
            case .deny:
                let others = MinuteSet.union(windows.indices.filter { $0 != i && windows[$0].effect == .deny }.map { sets[$0] })
                if sets[i].isSubset(of: others) {
                    findings.append(
                        Diagnostic(
                            .unusedWindow, "deny window \(quoteString(w.name)) adds no time: other deny windows cover it", at: span(w),
                            label: "removing it changes nothing", help: "delete it"))
                } else if hasAllow, allowsComparable, sets[i].intersection(allowUnion).isEmpty {
                    findings.append(
                        Diagnostic(
                            .unusedWindow, "deny window \(quoteString(w.name)) never overlaps an allow window", at: span(w),
                            label: "reboots are already held outside the allow windows",
                            help: "delete it, or move it where it should close an allow window"))
                }
            }
        }
    }

    // MARK: - Detectors

    private mutating func detectors() {
        var names: [String: Span] = [:]
        for decl in tree.decls { if case .detector(let n, _, _, _) = decl.kind, names[n.value] == nil { names[n.value] = n.span } }
        var seen: [String: DetectorSpec] = [:]
        for detector in policy.detectors {
            let source = detectorKey(detector.source)
            if let source, let first = seen[source] {
                findings.append(
                    Diagnostic(
                        .unusedDetector, "detector \(quoteString(detector.name)) repeats detector \(quoteString(first.name))",
                        at: names[detector.name] ?? detector.span, label: "looks at the same thing",
                        notes: [DiagnosticNote("the first one", span: names[first.name] ?? first.span)], help: "delete one of them",
                        fix: Fix("delete the repeated detector \(quoteString(detector.name))", [deletion(of: detector.span)])))
            } else if let source {
                seen[source] = detector
            }
            guard case .command(_, let rebootWhen, let okWhen) = detector.source else { continue }
            if !wroteField("timeout", inDetector: detector) {
                findings.append(
                    Diagnostic(
                        .detectorWithoutTimeout, "command detector \(quoteString(detector.name)) has no timeout", at: names[detector.name] ?? detector.span,
                        label: "waits up to \(formatDuration(milliseconds: detector.timeout))",
                        help: "say how long the command may run, e.g. `timeout 30s`; a hung command holds every pass that long"))
            }
            var model = SmallModel(policy, compiler: compiler)
            let reboot = model.formula(rebootWhen)
            if model.constant(reboot) == false {
                findings.append(
                    Diagnostic(
                        .unusedDetector, "detector \(quoteString(detector.name)) never fires", at: rebootWhen.span,
                        label: "`reboot_when` is false whatever the command does", help: "fix the condition"))
                continue
            }
            guard let okWhen else { continue }
            let ok = model.formula(okWhen)
            if model.satisfiable([reboot, ok]) == true {
                findings.append(
                    Diagnostic(
                        .overlappingDetectorConditions,
                        "`reboot_when` and `ok_when` of detector \(quoteString(detector.name)) can both hold", at: okWhen.span,
                        label: "overlaps `reboot_when`",
                        notes: [DiagnosticNote("`reboot_when` wins when both hold", span: rebootWhen.span)]
                            + (model.hasOpaqueAtoms ? [DiagnosticNote("each regex match is taken as either true or false")] : []),
                        help: "make the two conditions exclusive, e.g. `reboot_when exit == 1` and `ok_when exit == 0`"))
            }
        }
    }

    private func detectorKey(_ source: DetectorSource) -> String? {
        switch source {
        case .file(let path): "file " + path
        case .builtin(let b): "builtin " + b.rawValue
        case .command(let argv, let r, let o):
            "command " + argv.joined(separator: "\u{0}") + "\u{1}" + file.text(r.span) + "\u{1}" + (o.map { file.text($0.span) } ?? "")
        }
    }

    private func wroteField(_ name: String, inDetector detector: DetectorSpec) -> Bool {
        for decl in tree.decls {
            if case .detector(let n, _, _, let body) = decl.kind, n.value == detector.name {
                return body?.field(name) != nil
            }
        }
        return false
    }

    // MARK: - Settings

    private mutating func settings() {
        guard let policySpan = Linter.policyNameSpan(tree) else { return }
        if policy.killSwitches.isEmpty {
            findings.append(
                Diagnostic(
                    .noKillSwitch, "policy \(quoteString(policy.name)) has no kill switch", at: policySpan,
                    label: "no way to stop its reboots at once",
                    help: "add `kill_switch file \"/etc/rc/disable\"` (or `kill_switch etcd` for the whole fleet)"))
        }
        if case .etcd(let lock) = policy.lock, !policy.health.contains(where: { $0.phases.contains(.postLock) }) {
            findings.append(
                Diagnostic(
                    .noPostLockHealth,
                    "policy \(quoteString(policy.name)) shares an etcd lock of \(lock.slots) slot\(lock.slots == 1 ? "" : "s") but checks no health under it",
                    at: lockSpan() ?? policySpan, label: "nothing checks the fleet once the slot is taken",
                    help: "run a health gate under the lock: `health \"…\" script \"…\" { run pre_lock, post_lock }`"))
        }
    }

    private func lockSpan() -> Span? {
        for decl in tree.decls { if case .lock(let kind, _) = decl.kind { return decl.keyword.span.union(kind.span) } }
        return nil
    }

    // MARK: - Tests

    private mutating func tests() {
        var seen: [String: (String, Span)] = [:]
        for decl in tree.decls {
            guard case .test(let test) = decl.kind, let expectation = test.expectation else { continue }
            let given = test.given.map { normalized(file.text($0.span)) }.sorted()
            let key = given.joined(separator: "\n") + "\u{1}" + normalized(file.text(expectation.span))
            if let (first, firstSpan) = seen[key] {
                findings.append(
                    Diagnostic(
                        .redundantTest, "test \(quoteString(test.name.value)) repeats test \(quoteString(first))", at: test.name.span,
                        label: "the same facts and the same expectation",
                        notes: [DiagnosticNote("the first one", span: firstSpan)],
                        help: "delete it, or change a fact so it tests something the other does not",
                        fix: Fix("delete the repeated test \(quoteString(test.name.value))", [deletion(of: decl.span)])))
            } else {
                seen[key] = (test.name.value, test.name.span)
            }
        }
    }

    /// An edit that deletes a declaration, with its whole lines when nothing else is on them.
    private func deletion(of span: Span) -> TextEdit {
        let bytes = file.bytes
        var start = span.start
        while start > 0, bytes[start - 1] == UInt8(ascii: " ") || bytes[start - 1] == UInt8(ascii: "\t") { start -= 1 }
        guard start == 0 || bytes[start - 1] == UInt8(ascii: "\n") else { return TextEdit(span, "") }
        var end = span.end
        while end < bytes.count, bytes[end] == UInt8(ascii: " ") || bytes[end] == UInt8(ascii: "\t") { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "#") { while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 } }
        guard end == bytes.count || bytes[end] == UInt8(ascii: "\n") else { return TextEdit(span, "") }
        return TextEdit(Span(start, min(bytes.count, end + 1)), "")
    }

    private func normalized(_ s: String) -> String {
        s.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).joined(separator: " ")
    }
}

/// A set of minutes of the week, as sorted disjoint half-open ranges within 0 ..< 10 080.
struct MinuteSet: Equatable {
    private(set) var ranges: [Range<Int>]

    init(_ intervals: [WeeklyInterval]) {
        var raw: [Range<Int>] = []
        let week = WeeklyInterval.week
        for i in intervals {
            let start = i.start % week
            let end = start + (i.end - i.start)
            if end <= week { raw.append(start..<end) } else { raw += [start..<week, 0..<(end - week)] }
        }
        ranges = MinuteSet.normalize(raw)
    }

    private init(ranges: [Range<Int>]) { self.ranges = MinuteSet.normalize(ranges) }

    private static func normalize(_ raw: [Range<Int>]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for r in raw.filter({ !$0.isEmpty }).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = out.last, r.lowerBound <= last.upperBound {
                out[out.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }

    static func union(_ sets: [MinuteSet]) -> MinuteSet { MinuteSet(ranges: sets.flatMap(\.ranges)) }

    var isEmpty: Bool { ranges.isEmpty }

    func intersection(_ other: MinuteSet) -> MinuteSet {
        var out: [Range<Int>] = []
        for a in ranges {
            for b in other.ranges {
                let lo = max(a.lowerBound, b.lowerBound)
                let hi = min(a.upperBound, b.upperBound)
                if lo < hi { out.append(lo..<hi) }
            }
        }
        return MinuteSet(ranges: out)
    }

    func subtracting(_ other: MinuteSet) -> MinuteSet {
        var out: [Range<Int>] = []
        for a in ranges {
            var pieces = [a]
            for b in other.ranges {
                pieces = pieces.flatMap { p -> [Range<Int>] in
                    guard p.overlaps(b) else { return [p] }
                    var rest: [Range<Int>] = []
                    if p.lowerBound < b.lowerBound { rest.append(p.lowerBound..<b.lowerBound) }
                    if b.upperBound < p.upperBound { rest.append(b.upperBound..<p.upperBound) }
                    return rest
                }
            }
            out += pieces
        }
        return MinuteSet(ranges: out)
    }

    func isSubset(of other: MinuteSet) -> Bool { subtracting(other).isEmpty }

    /// `Sat 00:00 .. Sat 06:00`, the first stretch and how many more.
    func describe() -> String {
        guard let first = ranges.first else { return "nothing" }
        func at(_ m: Int) -> String {
            let m = m % WeeklyInterval.week
            return "\(Weekday(rawValue: m / 1440)!.shortName) \(Value.timeOfDay(m % 1440).description)"
        }
        let more = ranges.count > 1 ? " and \(ranges.count - 1) more" : ""
        return "\(at(first.lowerBound)) .. \(at(first.upperBound))\(more)"
    }
}
