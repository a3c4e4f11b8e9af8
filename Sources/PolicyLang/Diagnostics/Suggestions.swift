/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
public func closestMatch(_ word: String, in candidates: [String]) -> String? {
    // A candidate whose length differs by more than the largest distance allowed (3) cannot be close; skipping
    // those keeps a very long word (a line of garbage) cheap.
    guard word.utf8.count <= 256 else { return nil }
    let length = word.unicodeScalars.count
    let lowered = word.lowercased()
    var best: (String, Int)?
    for candidate in candidates where abs(candidate.unicodeScalars.count - length) <= 3 {
        let distance = editDistance(lowered, candidate.lowercased())
        if best == nil || distance < best!.1 { best = (candidate, distance) }
    }
    guard let (candidate, distance) = best else { return nil }
    let limit = max(1, min(3, (word.count + 2) / 3))
    return distance <= limit && distance < word.count ? candidate : nil
}

/// Levenshtein distance counting a swap of two neighbours as one edit.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars)
    let y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous2 = [Int](repeating: 0, count: y.count + 1)
    var previous = Array(0...y.count)
    var row = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        row[0] = i
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                row[j] = min(row[j], previous2[j - 2] + 1)
            }
        }
        previous2 = previous
        previous = row
    }
    return previous[y.count]
}
