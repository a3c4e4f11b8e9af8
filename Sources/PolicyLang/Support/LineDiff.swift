/// A unified diff of two texts, line by line.
///
/// The edit script is a shortest one (Myers' O(ND) algorithm), found in linear space by Myers' "middle snake"
/// refinement: each step finds the middle of an optimal path from both ends and recurses on the two halves, so
/// memory stays O(N + M) whatever the number of differences D. Lines are compared as small integers (each distinct
/// line gets one), and the hunks are grouped in one pass over the script.
public enum LineDiff {
    /// One step of an edit script: a line kept (its index in the old and the new text), deleted from the old text,
    /// or inserted from the new one.
    public enum Edit: Equatable, Sendable {
        case same(Int, Int), delete(Int), insert(Int)
    }

    /// `diff -u` style output, or an empty string when the texts are equal.
    public static func unified(_ old: String, _ new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false)
        if a == b { return "" }
        let edits = edits(a, b)
        // How many old and new lines come before each edit.
        var oldBefore = [Int](repeating: 0, count: edits.count + 1)
        var newBefore = [Int](repeating: 0, count: edits.count + 1)
        for (i, edit) in edits.enumerated() {
            oldBefore[i + 1] = oldBefore[i] + (edit.isInsert ? 0 : 1)
            newBefore[i + 1] = newBefore[i] + (edit.isDelete ? 0 : 1)
        }
        var out = ["--- \(oldName)", "+++ \(newName)"]
        // Group edits into hunks with `context` unchanged lines around each change.
        var i = 0
        var firstChange = 0
        while true {
            firstChange = max(firstChange, i)
            while firstChange < edits.count, edits[firstChange].isSame { firstChange += 1 }
            guard firstChange < edits.count else { break }
            let start = max(i, firstChange - context)
            var end = firstChange
            var lastChange = firstChange
            while end < edits.count {
                if edits[end].isSame {
                    if end - lastChange > 2 * context { break }
                } else {
                    lastChange = end
                }
                end += 1
            }
            let hunkEnd = min(edits.count, lastChange + context + 1)
            out.append(
                "@@ -\(oldBefore[start] + 1),\(oldBefore[hunkEnd] - oldBefore[start]) "
                    + "+\(newBefore[start] + 1),\(newBefore[hunkEnd] - newBefore[start]) @@")
            for edit in edits[start..<hunkEnd] {
                switch edit {
                case .same(let x, _): out.append(" " + a[x])
                case .delete(let x): out.append("-" + a[x])
                case .insert(let y): out.append("+" + b[y])
                }
            }
            i = hunkEnd
        }
        return out.joined(separator: "\n")
    }

    /// A shortest edit script turning `a` into `b`, in order: every line of `a` is kept or deleted and every line
    /// of `b` kept or inserted exactly once, and as many lines are kept as the longest common subsequence has.
    public static func edits<Line: Hashable>(_ a: [Line], _ b: [Line]) -> [Edit] {
        var ids: [Line: Int] = [:]
        ids.reserveCapacity(a.count + b.count)
        func id(_ line: Line) -> Int {
            if let known = ids[line] { return known }
            let next = ids.count
            ids[line] = next
            return next
        }
        let aIDs = a.map(id)
        let bIDs = b.map(id)
        // A line that only one side has is never kept: leave it out of the search, which then runs on the lines
        // both sides share (the longest common subsequence is the same), and put it back as a deletion or an
        // insertion. A formatter changes lines into new ones, so this usually leaves two equal sequences.
        var inA = [Bool](repeating: false, count: ids.count)
        var inB = [Bool](repeating: false, count: ids.count)
        for line in aIDs { inA[line] = true }
        for line in bIDs { inB[line] = true }
        let aShared = aIDs.indices.filter { inB[aIDs[$0]] }
        let bShared = bIDs.indices.filter { inA[bIDs[$0]] }
        var script = Script(a: aShared.map { aIDs[$0] }, b: bShared.map { bIDs[$0] })
        script.compare(0, aShared.count, 0, bShared.count)
        // Back to the full texts: before each step, the left-out lines that come before it.
        var edits: [Edit] = []
        edits.reserveCapacity(a.count + b.count)
        var x = 0
        var y = 0
        func deleteUpTo(_ end: Int) { while x < end { edits.append(.delete(x)); x += 1 } }
        func insertUpTo(_ end: Int) { while y < end { edits.append(.insert(y)); y += 1 } }
        for edit in script.edits {
            switch edit {
            case .same(let i, let j):
                deleteUpTo(aShared[i])
                insertUpTo(bShared[j])
                edits.append(.same(x, y))
                x += 1
                y += 1
            case .delete(let i):
                deleteUpTo(aShared[i] + 1)
            case .insert(let j):
                deleteUpTo(nextShared(after: x, aIDs, inB))
                insertUpTo(bShared[j] + 1)
            }
        }
        deleteUpTo(a.count)
        insertUpTo(b.count)
        return edits
    }

    /// The index of the first line from `start` on that the other side has too (or the end).
    private static func nextShared(after start: Int, _ lines: [Int], _ other: [Bool]) -> Int {
        var i = start
        while i < lines.count, !other[lines[i]] { i += 1 }
        return i
    }

    /// The state of one diff: both texts as line ids, the two frontier arrays (reused by every step) and the
    /// edits found so far.
    private struct Script {
        let a: [Int]
        let b: [Int]
        var edits: [Edit] = []
        /// The furthest x reached on each diagonal k, forwards and backwards, at `offset + k`.
        var forward: [Int]
        var backward: [Int]

        init(a: [Int], b: [Int]) {
            self.a = a
            self.b = b
            edits.reserveCapacity(a.count + b.count)
            forward = [Int](repeating: 0, count: a.count + b.count + 3)
            backward = forward
        }

        /// Appends the edits that turn `a[aLow..<aHigh]` into `b[bLow..<bHigh]`.
        mutating func compare(_ aLow: Int, _ aHigh: Int, _ bLow: Int, _ bHigh: Int) {
            var (aLow, aHigh, bLow, bHigh) = (aLow, aHigh, bLow, bHigh)
            while aLow < aHigh, bLow < bHigh, a[aLow] == b[bLow] {
                edits.append(.same(aLow, bLow))
                aLow += 1
                bLow += 1
            }
            var suffix = 0
            while aLow < aHigh, bLow < bHigh, a[aHigh - 1] == b[bHigh - 1] {
                aHigh -= 1
                bHigh -= 1
                suffix += 1
            }
            if aLow == aHigh {
                for y in bLow..<bHigh { edits.append(.insert(y)) }
            } else if bLow == bHigh {
                for x in aLow..<aHigh { edits.append(.delete(x)) }
            } else {
                let (x, y) = middleSnake(aLow, aHigh, bLow, bHigh)
                compare(aLow, x, bLow, y)
                compare(x, aHigh, y, bHigh)
            }
            for k in 0..<suffix { edits.append(.same(aHigh + k, bHigh + k)) }
        }

        /// A point on a shortest path through the box, where the forward and the backward search meet (Myers 1986,
        /// section 4b). The box has no common first or last line, so the point splits it into two smaller boxes.
        private mutating func middleSnake(_ aLow: Int, _ aHigh: Int, _ bLow: Int, _ bHigh: Int) -> (Int, Int) {
            let n = aHigh - aLow
            let m = bHigh - bLow
            let delta = n - m
            let odd = delta & 1 != 0
            // Diagonal k is stored at offset + k; k runs from -m to n (and one beyond on each side).
            let offset = m + 1
            forward[offset + 1] = 0
            backward[offset + 1] = 0
            for d in 0...((n + m + 1) / 2) {
                // Forwards from (0, 0); diagonal k holds x with y = x - k.
                for k in stride(from: -d, through: d, by: 2) where k >= -m && k <= n {
                    var x: Int
                    // At the box's edges (k = -m, k = n) only one neighbour lies inside it.
                    if k == -d || k == -m || (k != d && k != n && forward[offset + k - 1] < forward[offset + k + 1]) {
                        x = forward[offset + k + 1]
                    } else {
                        x = forward[offset + k - 1] + 1
                    }
                    var y = x - k
                    while x < n, y < m, a[aLow + x] == b[bLow + y] {
                        x += 1
                        y += 1
                    }
                    forward[offset + k] = x
                    // Backward diagonal c = delta - k; it has had d - 1 steps.
                    let c = delta - k
                    if odd, c >= -(d - 1), c <= d - 1, x + backward[offset + c] >= n {
                        return (aLow + x, bLow + y)
                    }
                }
                // Backwards from (n, m), in reversed coordinates: x counts lines from the end.
                for c in stride(from: -d, through: d, by: 2) where c >= -m && c <= n {
                    var x: Int
                    if c == -d || c == -m || (c != d && c != n && backward[offset + c - 1] < backward[offset + c + 1]) {
                        x = backward[offset + c + 1]
                    } else {
                        x = backward[offset + c - 1] + 1
                    }
                    var y = x - c
                    while x < n, y < m, a[aHigh - 1 - x] == b[bHigh - 1 - y] {
                        x += 1
                        y += 1
                    }
                    backward[offset + c] = x
                    let k = delta - c
                    if !odd, k >= -d, k <= d, x + forward[offset + k] >= n {
                        return (aHigh - x, bHigh - y)
                    }
                }
            }
            // Not reached: the searches meet by d = ⌈(n + m) / 2⌉.
            return (aLow + n, bLow)
        }
    }
}

extension LineDiff.Edit {
    var isSame: Bool { if case .same = self { true } else { false } }
    var isDelete: Bool { if case .delete = self { true } else { false } }
    var isInsert: Bool { if case .insert = self { true } else { false } }
}
