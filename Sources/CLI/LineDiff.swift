/// A unified diff of two texts, line by line (Myers' algorithm).
enum LineDiff {
    private enum Edit { case same(Int, Int), delete(Int), insert(Int) }

    /// `diff -u` style output, or an empty string when the texts are equal.
    static func unified(_ old: String, _ new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if a == b { return "" }
        let edits = diff(a, b)
        var out = ["--- \(oldName)", "+++ \(newName)"]
        // Group edits into hunks with `context` unchanged lines around each change.
        var i = 0
        while i < edits.count {
            guard let firstChange = edits[i...].firstIndex(where: { if case .same = $0 { false } else { true } }) else { break }
            let start = max(i, firstChange - context)
            var end = firstChange
            var lastChange = firstChange
            while end < edits.count {
                if case .same = edits[end] {
                    if end - lastChange > 2 * context { break }
                } else {
                    lastChange = end
                }
                end += 1
            }
            let hunkEnd = min(edits.count, lastChange + context + 1)
            var lines: [String] = []
            var oldStart = -1, newStart = -1, oldCount = 0, newCount = 0
            for edit in edits[start..<hunkEnd] {
                switch edit {
                case .same(let x, let y):
                    if oldStart < 0 { oldStart = x; newStart = y }
                    lines.append(" " + a[x]); oldCount += 1; newCount += 1
                case .delete(let x):
                    if oldStart < 0 { oldStart = x; newStart = position(in: edits, before: start, old: false) }
                    lines.append("-" + a[x]); oldCount += 1
                case .insert(let y):
                    if oldStart < 0 { newStart = y; oldStart = position(in: edits, before: start, old: true) }
                    lines.append("+" + b[y]); newCount += 1
                }
            }
            out.append("@@ -\(oldStart + 1),\(oldCount) +\(newStart + 1),\(newCount) @@")
            out.append(contentsOf: lines)
            i = hunkEnd
        }
        return out.joined(separator: "\n")
    }

    private static func position(in edits: [Edit], before index: Int, old: Bool) -> Int {
        var count = 0
        for edit in edits[..<index] {
            switch edit {
            case .same: count += 1
            case .delete: if old { count += 1 }
            case .insert: if !old { count += 1 }
            }
        }
        return count
    }

    private static func diff(_ a: [String], _ b: [String]) -> [Edit] {
        let n = a.count, m = b.count
        let max = n + m
        var v = [Int](repeating: 0, count: 2 * max + 2)
        var trace: [[Int]] = []
        outer: for d in 0...max {
            trace.append(v)
            for k in stride(from: -d, through: d, by: 2) {
                var x: Int
                if k == -d || (k != d && v[max + k - 1] < v[max + k + 1]) {
                    x = v[max + k + 1]
                } else {
                    x = v[max + k - 1] + 1
                }
                var y = x - k
                while x < n, y < m, a[x] == b[y] {
                    x += 1
                    y += 1
                }
                v[max + k] = x
                if x >= n, y >= m { trace.append(v); break outer }
            }
        }
        // Backtrack.
        var edits: [Edit] = []
        var x = n, y = m
        for d in stride(from: trace.count - 2, through: 0, by: -1) {
            let v = trace[d]
            let k = x - y
            let prevK = (k == -d || (k != d && v[max + k - 1] < v[max + k + 1])) ? k + 1 : k - 1
            let prevX = v[max + prevK]
            let prevY = prevX - prevK
            while x > prevX, y > prevY {
                x -= 1
                y -= 1
                edits.append(.same(x, y))
            }
            if d > 0 {
                if x == prevX { y -= 1; edits.append(.insert(y)) } else { x -= 1; edits.append(.delete(x)) }
            }
        }
        while x > 0, y > 0 {
            x -= 1
            y -= 1
            edits.append(.same(x, y))
        }
        return edits.reversed()
    }
}
