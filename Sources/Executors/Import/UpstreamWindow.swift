import PolicyLang

/// A clusterrebootd window expression read as clusterrebootd reads it (its `pkg/windows`, `parseExpression`), and
/// written as rc windows that cover exactly the same minutes of the week.
///
/// clusterrebootd's grammar: `[DAYS] HH:MM-[DAY] HH:MM`, where DAYS is `*`, a day, a range `Tue-Thu` or a comma list
/// of those (spaces allowed around the commas), no DAYS meaning every day; day names are `Sun`/`Sunday`, `Tue`/`Tues`,
/// `Wed`/`Weds`, `Thu`/`Thur`/`Thurs` and so on, in any case; hours 0–23 and minutes 0–59 with one or two digits
/// (`9:5`). Without an end day the window repeats on each day and crosses midnight when the end is not after the
/// start (so `Mon 10:00-10:00` is 24 hours); with an end day (one start day only) it is one span, and an end not
/// after the start adds a week (so `Mon 10:00-Mon 10:00` is the whole week).
struct UpstreamWindow: Equatable {
    /// Half-open spans in minutes since Monday 00:00, within one week (a span over the week end is split in two).
    var spans: [Range<Int>]
    /// The rc window bodies (after `window deny "NAME"`) that cover the same minutes: usually one.
    var rc: [String]

    static let week = 7 * 1440

    /// The days as clusterrebootd numbers them (Sunday 0), written as rc names.
    static let rcDay = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    /// Parses one expression; the error says what clusterrebootd would say is wrong.
    static func parse(_ raw: String) -> Result<UpstreamWindow, ImportProblem> {
        let expr = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if expr.isEmpty { return .failure(ImportProblem("the expression is empty")) }
        // The range's dash is the first `-` after the first `:`, so day ranges before the time keep theirs.
        guard let colon = expr.firstIndex(of: ":") else { return .failure(ImportProblem("no time (HH:MM) in it")) }
        guard let dash = expr[colon...].firstIndex(of: "-") else { return .failure(ImportProblem("no `-` between the start and the end")) }
        let startPart = expr[..<dash].trimmingCharacters(in: .whitespacesAndNewlines)
        let endPart = expr[expr.index(after: dash)...].trimmingCharacters(in: .whitespacesAndNewlines)
        if startPart.isEmpty || endPart.isEmpty { return .failure(ImportProblem("the start or the end is missing")) }

        let startTokens = fields(startPart)
        let startTime: Int
        switch timeOfDay(startTokens.last!) {
        case .success(let t): startTime = t
        case .failure(let why): return .failure(why)
        }
        let startDays: [Int]
        switch daySpec(startTokens.count > 1 ? startTokens.dropLast().joined(separator: " ") : "*") {
        case .success(let d): startDays = d
        case .failure(let why): return .failure(why)
        }
        let endTokens = fields(endPart)
        let endTime: Int
        switch timeOfDay(endTokens.last!) {
        case .success(let t): endTime = t
        case .failure(let why): return .failure(why)
        }

        // Minutes since Sunday 00:00, as clusterrebootd counts.
        var sundaySpans: [Range<Int>] = []
        if endTokens.count > 1 {
            let endDays: [Int]
            switch daySpec(endTokens.dropLast().joined(separator: " ")) {
            case .success(let d): endDays = d
            case .failure(let why): return .failure(why)
            }
            if startDays.count != 1 { return .failure(ImportProblem("an end day needs exactly one start day")) }
            if endDays.count != 1 { return .failure(ImportProblem("the end day must be a single day")) }
            let start = startDays[0] * 1440 + startTime
            var end = endDays[0] * 1440 + endTime
            while end <= start { end += week }
            sundaySpans.append(start..<end)
        } else {
            for day in startDays {
                let start = day * 1440 + startTime
                var end = day * 1440 + endTime
                if end <= start { end += 1440 }
                sundaySpans.append(start..<end)
            }
        }
        // Split at the week's end and move to rc's week, which starts on Monday.
        var spans: [Range<Int>] = []
        for span in sundaySpans {
            let pieces = span.upperBound > week ? [span.lowerBound..<week, 0..<(span.upperBound - week)] : [span]
            for piece in pieces where !piece.isEmpty {
                let start = (piece.lowerBound - 1440 + week) % week
                let end = start + piece.count
                if end > week {
                    spans.append(start..<week)
                    spans.append(0..<(end - week))
                } else {
                    spans.append(start..<end)
                }
            }
        }
        let direct = directTranslation(startDays: startDays, startTime: startTime, endDays: endTokens.count > 1 ? [] : nil, endTime: endTime, sundaySpans: sundaySpans)
        return .success(UpstreamWindow(spans: spans, rc: direct.map { [$0] } ?? covering(minutes(of: spans))))
    }

    /// The minutes of the week that spans cover.
    static func minutes(of spans: [Range<Int>]) -> Set<Int> {
        var set = Set<Int>()
        for span in spans {
            for m in span { set.insert(((m % week) + week) % week) }
        }
        return set
    }

    /// The minutes an rc window's intervals cover (rc's intervals may run past the week's end).
    static func minutes(of intervals: [WeeklyInterval]) -> Set<Int> {
        minutes(of: intervals.map { $0.start..<$0.end })
    }

    /// The same days and times in rc's syntax, when rc reads them the same way; `nil` when it would not.
    private static func directTranslation(startDays: [Int], startTime: Int, endDays: [Int]?, endTime: Int, sundaySpans: [Range<Int>]) -> String? {
        if endDays != nil {
            // One span from a day and time to a day and time.
            let span = sundaySpans[0]
            if span.count >= week { return "daily" }
            return "\(rcDay[(span.lowerBound / 1440) % 7]) \(clock(startTime)) .. \(rcDay[(span.upperBound / 1440) % 7]) \(clock(endTime))"
        }
        let days = startDays.count == 7 ? "daily" : dayList(startDays)
        if startTime == endTime {
            // 24 hours from each start: whole days when that is midnight; rc has no other spelling for it.
            return startTime == 0 ? days : nil
        }
        return "\(days) \(clock(startTime)) .. \(clock(endTime))"
    }

    /// Days in the order given, runs of three or more consecutive days as ranges (`Tue..Thu`).
    private static func dayList(_ days: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < days.count {
            var j = i
            while j + 1 < days.count, days[j + 1] == (days[j] + 1) % 7 { j += 1 }
            if j - i >= 2 {
                parts.append("\(rcDay[days[i]])..\(rcDay[days[j]])")
            } else {
                for k in i...j { parts.append(rcDay[days[k]]) }
            }
            i = j + 1
        }
        return parts.joined(separator: ", ")
    }

    /// rc windows covering exactly `minutes`: one `DAY HH:MM .. DAY HH:MM` span per maximal run (the week wraps).
    static func covering(_ minutes: Set<Int>) -> [String] {
        if minutes.count == week { return ["daily"] }
        if minutes.isEmpty { return [] }
        // Start the scan at a minute that is not covered, so no run is cut at the week's end.
        let origin = (0..<week).first { !minutes.contains($0) }!
        var result: [String] = []
        var runStart: Int?
        for step in 1...week {
            let m = (origin + step) % week
            if minutes.contains(m) {
                if runStart == nil { runStart = m }
            } else if let s = runStart {
                result.append(span(s, m))
                runStart = nil
            }
        }
        return result
    }

    /// `DAY HH:MM .. DAY HH:MM` in rc's Monday-first week.
    private static func span(_ start: Int, _ end: Int) -> String {
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        return "\(names[start / 1440]) \(clock(start % 1440)) .. \(names[end / 1440]) \(clock(end % 1440))"
    }

    private static func clock(_ minutes: Int) -> String {
        let h = minutes / 60, m = minutes % 60
        return (h < 10 ? "0" : "") + String(h) + ":" + (m < 10 ? "0" : "") + String(m)
    }

    private static func fields(_ s: String) -> [String] {
        s.split(whereSeparator: { $0.isWhitespace }).map(String.init)
    }

    /// `HH:MM` with any number of digits (and a sign, as Go's `strconv.Atoi` takes), hour 0–23, minute 0–59.
    private static func timeOfDay(_ token: String) -> Result<Int, ImportProblem> {
        let parts = token.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .failure(ImportProblem("invalid time \(quoteString(token)) (expected HH:MM)")) }
        guard let hour = Int(parts[0]) else { return .failure(ImportProblem("invalid hour in \(quoteString(token))")) }
        guard let minute = Int(parts[1]) else { return .failure(ImportProblem("invalid minute in \(quoteString(token))")) }
        guard (0...23).contains(hour) else { return .failure(ImportProblem("hour out of range in \(quoteString(token)) (0 to 23; a window ending at midnight ends at 00:00)")) }
        guard (0...59).contains(minute) else { return .failure(ImportProblem("minute out of range in \(quoteString(token))")) }
        return .success(hour * 60 + minute)
    }

    /// `*`, or a comma list of days and `A-B` ranges, in order of appearance without repeats (Sunday 0).
    private static func daySpec(_ spec: String) -> Result<[Int], ImportProblem> {
        let trimmed = spec.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return .failure(ImportProblem("the day list is empty")) }
        if trimmed == "*" { return .success(Array(0...6)) }
        var days: [Int] = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let item = part.trimmingCharacters(in: .whitespacesAndNewlines)
            if item.isEmpty { return .failure(ImportProblem("invalid day list \(quoteString(spec))")) }
            var found: [Int] = []
            if let dash = item.firstIndex(of: "-") {
                let a = String(item[..<dash]), b = String(item[item.index(after: dash)...])
                guard let from = dayNumber(a) else { return .failure(ImportProblem("unknown day \(quoteString(a)) in \(quoteString(spec))")) }
                guard let to = dayNumber(b) else { return .failure(ImportProblem("unknown day \(quoteString(b)) in \(quoteString(spec))")) }
                var d = from
                while true {
                    found.append(d)
                    if d == to { break }
                    d = (d + 1) % 7
                }
            } else {
                guard let d = dayNumber(item) else {
                    return .failure(ImportProblem("unknown day \(quoteString(item))" + (item == spec ? "" : " in \(quoteString(spec))")))
                }
                found = [d]
            }
            for d in found where !days.contains(d) { days.append(d) }
        }
        return .success(days)
    }

    private static func dayNumber(_ name: String) -> Int? {
        switch name.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() {
        case "sun", "sunday": 0
        case "mon", "monday": 1
        case "tue", "tues", "tuesday": 2
        case "wed", "weds", "wednesday": 3
        case "thu", "thur", "thurs", "thursday": 4
        case "fri", "friday": 5
        case "sat", "saturday": 6
        default: nil
        }
    }
}
