import PolicyLang
import Testing

/// The line diff of `rc fmt --check`: a valid, shortest edit script (against a brute-force longest common
/// subsequence on small inputs and a dynamic-programming one on larger ones), and unified output that applies.
@Suite struct LineDiffTests {
    /// Checks that `edits` turns `a` into `b`: every line of each side appears once, in order, and kept lines match.
    private func isValid(_ edits: [LineDiff.Edit], _ a: [Int], _ b: [Int]) -> Bool {
        var x = 0
        var y = 0
        for edit in edits {
            switch edit {
            case .same(let i, let j):
                guard i == x, j == y, a[i] == b[j] else { return false }
                x += 1
                y += 1
            case .delete(let i):
                guard i == x else { return false }
                x += 1
            case .insert(let j):
                guard j == y else { return false }
                y += 1
            }
        }
        return x == a.count && y == b.count
    }

    private func kept(_ edits: [LineDiff.Edit]) -> Int {
        edits.reduce(0) { if case .same = $1 { $0 + 1 } else { $0 } }
    }

    /// The longest common subsequence by trying every subsequence of `a`.
    private func bruteForceLCS(_ a: [Int], _ b: [Int]) -> Int {
        var best = 0
        for mask in 0..<(1 << a.count) {
            let picked = a.indices.filter { mask & (1 << $0) != 0 }.map { a[$0] }
            guard picked.count > best else { continue }
            var j = 0
            for line in b where j < picked.count && line == picked[j] { j += 1 }
            if j == picked.count { best = picked.count }
        }
        return best
    }

    private func tableLCS(_ a: [Int], _ b: [Int]) -> Int {
        var previous = [Int](repeating: 0, count: b.count + 1)
        for x in a {
            var row = [0]
            for (j, y) in b.enumerated() { row.append(x == y ? previous[j] + 1 : max(previous[j + 1], row[j])) }
            previous = row
        }
        return previous[b.count]
    }

    private func randomLines(_ count: Int, alphabet: Int, _ rng: inout Support.SeededGenerator) -> [Int] {
        (0..<count).map { _ in Int.random(in: 0..<alphabet, using: &rng) }
    }

    @Test func shortestOnSmallInputs() {
        var rng = Support.SeededGenerator(state: 17)
        for _ in 0..<3000 {
            let a = randomLines(Int.random(in: 0...9, using: &rng), alphabet: Int.random(in: 1...4, using: &rng), &rng)
            let b = randomLines(Int.random(in: 0...9, using: &rng), alphabet: Int.random(in: 1...4, using: &rng), &rng)
            let edits = LineDiff.edits(a, b)
            #expect(isValid(edits, a, b), "invalid script for \(a) → \(b)")
            #expect(kept(edits) == bruteForceLCS(a, b), "not shortest for \(a) → \(b)")
        }
    }

    @Test func shortestOnLargerInputs() {
        var rng = Support.SeededGenerator(state: 4242)
        for _ in 0..<150 {
            let a = randomLines(Int.random(in: 0...400, using: &rng), alphabet: Int.random(in: 2...30, using: &rng), &rng)
            // Often a variation of `a`, as a formatter's output is of its input.
            var b = a
            for _ in 0..<Int.random(in: 0...60, using: &rng) {
                let at = Int.random(in: 0...b.count, using: &rng)
                if Bool.random(using: &rng), at < b.count { b.remove(at: at) } else { b.insert(Int.random(in: 0..<40, using: &rng), at: at) }
            }
            if Int.random(in: 0..<4, using: &rng) == 0 { b = randomLines(Int.random(in: 0...400, using: &rng), alphabet: 5, &rng) }
            let edits = LineDiff.edits(a, b)
            #expect(isValid(edits, a, b))
            #expect(kept(edits) == tableLCS(a, b), "not shortest: \(a.count) → \(b.count) lines")
        }
    }

    /// Applies a unified diff to the old lines, checking each hunk's header and context.
    private func apply(_ diff: String, to old: [String]) -> [String]? {
        var lines = diff.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 2, lines[0].hasPrefix("--- "), lines[1].hasPrefix("+++ ") else { return nil }
        lines.removeFirst(2)
        var out: [String] = []
        var x = 0
        var i = 0
        while i < lines.count {
            let header = lines[i].split(separator: " ")
            guard header.count == 4, header[0] == "@@", header[3] == "@@" else { return nil }
            let oldPart = header[1].dropFirst().split(separator: ",").compactMap { Int($0) }
            let newPart = header[2].dropFirst().split(separator: ",").compactMap { Int($0) }
            guard oldPart.count == 2, newPart.count == 2, oldPart[0] - 1 >= x, newPart[0] - 1 == out.count + (oldPart[0] - 1 - x)
            else { return nil }
            out += old[x..<(oldPart[0] - 1)]
            x = oldPart[0] - 1
            var (oldCount, newCount) = (0, 0)
            i += 1
            while i < lines.count, !lines[i].hasPrefix("@@ ") {
                let line = lines[i]
                let body = String(line.dropFirst())
                switch line.first {
                case " ":
                    guard x < old.count, old[x] == body else { return nil }
                    out.append(body); x += 1; oldCount += 1; newCount += 1
                case "-":
                    guard x < old.count, old[x] == body else { return nil }
                    x += 1; oldCount += 1
                case "+":
                    out.append(body); newCount += 1
                default: return nil
                }
                i += 1
            }
            guard oldCount == oldPart[1], newCount == newPart[1] else { return nil }
        }
        return out + old[x...]
    }

    @Test func unifiedOutputApplies() {
        var rng = Support.SeededGenerator(state: 99)
        for _ in 0..<400 {
            let a = randomLines(Int.random(in: 0...40, using: &rng), alphabet: 6, &rng).map { "line \($0)" }
            var b = a
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                let at = Int.random(in: 0...b.count, using: &rng)
                if Bool.random(using: &rng), at < b.count { b.remove(at: at) } else { b.insert("new \(at)", at: at) }
            }
            let old = a.joined(separator: "\n")
            let new = b.joined(separator: "\n")
            let diff = LineDiff.unified(old, new, oldName: "a", newName: "b")
            if old == new {
                #expect(diff.isEmpty)
                continue
            }
            let applied = apply(diff, to: old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
            #expect(applied?.joined(separator: "\n") == new, "the diff does not apply:\n\(diff)")
        }
    }

    @Test func hunksKeepThreeLinesOfContext() {
        let old = (1...12).map { "l\($0)" }.joined(separator: "\n")
        let new = old.replacingOccurrences(of: "l2\n", with: "L2\n").replacingOccurrences(of: "l11\n", with: "")
        let expected = """
            --- a
            +++ b
            @@ -1,5 +1,5 @@
             l1
            -l2
            +L2
             l3
             l4
             l5
            @@ -8,5 +8,4 @@
             l8
             l9
             l10
            -l11
             l12
            """
        #expect(LineDiff.unified(old, new, oldName: "a", newName: "b") == expected)
    }
}
