import Foundation
import RCTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `rc` executable on hostile input: megabytes of garbage and operator chains far beyond the language's
/// limits. It must answer with located errors and exit 2, in bounded memory and with bounded output, never crash.
///
/// Peak memory is measured by GNU time (`/usr/bin/time -f %M`, Debian's `time`). Not by the rusage of a process
/// this test spawns: Linux carries the memory high-water mark of the address space a process had before `exec`
/// into its `ru_maxrss`, so a child of the test runner reports at least the runner's own peak. GNU time forks
/// rc from its own small address space. Without it, the test samples `VmHWM` in /proc while rc runs, which can
/// miss growth in the last milliseconds. `RC_TEST_BINARY` runs the suite against another build of rc.
@Suite struct RobustInputTests {
    static let megabytes4 = 4 << 20
    /// What `rc check` may use on 4 MB of input, and print.
    static let maxResidentBytes = 200 << 20
    static let maxOutputBytes = 100 << 10
    static let gnuTime = "/usr/bin/time"

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["RC_TEST_BINARY"] { return URL(fileURLWithPath: path) }
        return CLITests.binary
    }

    struct Measured {
        var status: Int32
        /// The signal that ended the process, or 0.
        var signal: Int32
        var stdout: Data
        var stderr: Data
        /// Peak resident set size in bytes.
        var maxResident: Int

        var output: String { String(decoding: stdout, as: UTF8.self) + String(decoding: stderr, as: UTF8.self) }
    }

    /// Runs rc with `arguments`, its output going to files, and measures its peak memory.
    func measure(_ arguments: [String], in directory: URL) throws -> Measured {
        let id = UUID().uuidString
        let out = directory.appendingPathComponent("stdout-\(id)")
        let err = directory.appendingPathComponent("stderr-\(id)")
        let peak = directory.appendingPathComponent("peak-\(id)")
        let useTime = FileManager.default.isExecutableFile(atPath: Self.gnuTime)
        let command = useTime ? [Self.gnuTime, "-f", "%M", "-o", peak.path, Self.binary.path] : [Self.binary.path]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, err.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = (command + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        try #require(spawned == 0, "posix_spawn failed: \(spawned)")
        var status: Int32 = 0
        var sampled = 0
        while true {
            let done = waitpid(pid, &status, useTime ? 0 : WNOHANG)
            if done == pid { break }
            if done < 0, errno != EINTR { break }
            if !useTime {
                sampled = max(sampled, Self.highWaterMark(of: pid))
                usleep(2_000)
            }
        }
        let signal = status & 0x7F
        var exit = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
        var kilobytes = sampled / 1024
        if useTime {
            // GNU time prints "Command terminated by signal N" or "Command exited with non-zero status N" before the figure.
            let report = (try? String(contentsOf: peak, encoding: .utf8)) ?? ""
            kilobytes = report.split(separator: "\n").compactMap { Int($0) }.last ?? 0
            if let line = report.split(separator: "\n").first(where: { $0.hasPrefix("Command terminated by signal ") }),
                let n = Int32(line.dropFirst("Command terminated by signal ".count))
            {
                exit = 128 + n
                return Measured(status: exit, signal: n, stdout: (try? Data(contentsOf: out)) ?? Data(), stderr: (try? Data(contentsOf: err)) ?? Data(), maxResident: kilobytes * 1024)
            }
        }
        return Measured(
            status: exit, signal: signal, stdout: (try? Data(contentsOf: out)) ?? Data(), stderr: (try? Data(contentsOf: err)) ?? Data(),
            maxResident: kilobytes * 1024)
    }

    /// `VmHWM` of a running process, in bytes (0 once it has exited).
    static func highWaterMark(of pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    // MARK: - Inputs

    /// SplitMix64, so that every run sees the same input.
    typealias Generator = SplitMix64

    enum Garbage: String, CaseIterable, CustomTestStringConvertible {
        case randomBytes, printable, plausibleTokens

        var testDescription: String { rawValue }

        func bytes(count: Int) -> [UInt8] {
            var rng = Generator(state: 13)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count + 16)
            switch self {
            case .randomBytes:
                while bytes.count < count {
                    var word = rng.next()
                    for _ in 0..<8 {
                        bytes.append(UInt8(truncatingIfNeeded: word))
                        word >>= 8
                    }
                }
            case .printable:
                let alphabet: [UInt8] = Array(32...126) + [10, 9]
                while bytes.count < count { bytes.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            case .plausibleTokens:
                let words = [
                    "policy", "\"p\"", "{", "}", "detector", "\"apt\"", "debian", "file", "command", "[", "]", "rule", "deny", "when", "(",
                    ")", "and", "or", "not", "1", "10s", "60%", "of", "Mon", "..", "18:00", "window", "allow", "test", "given", "expect",
                    "blocked", "by", "/x/", ",", "\n", "#c\n", "node", ".", "name", "==", "<", "cluster", "size", "timezone",
                    "\"Europe/Berlin\"", "lock", "etcd", "endpoints", "\"http://a:1\"", "health", "script", "reboot", "in", "matches",
                    "kill_switch", "+", "-", "*",
                ].map { Array($0.utf8) }
                while bytes.count < count {
                    bytes += words[Int(rng.next() % UInt64(words.count))]
                    bytes.append(32)
                }
            }
            return Array(bytes.prefix(count))
        }
    }

    func withInput(_ bytes: [UInt8], _ body: (URL, URL) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rc-robust-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("garbage.rcl")
        try Data(bytes).write(to: file)
        try body(dir, file)
    }

    /// `path:line:col: error[RC…]: …`
    func isLocatedError(_ line: Substring, path: String) -> Bool {
        guard line.hasPrefix(path + ":") else { return false }
        let rest = line.dropFirst(path.count + 1).split(separator: ":", maxSplits: 3)
        return rest.count == 4 && Int(rest[0]) != nil && Int(rest[1]) != nil && rest[2].hasPrefix(" error[RC")
    }

    // MARK: - Tests

    @Test(arguments: Garbage.allCases)
    func checkFourMegabytesOfGarbage(_ kind: Garbage) throws {
        try withInput(kind.bytes(count: Self.megabytes4)) { dir, file in
            let run = try measure(["check", "--color", "never", file.path], in: dir)
            print("rc check on 4 MB of \(kind): exit \(run.status), \(run.maxResident >> 10) KB max RSS, \(run.stdout.count) bytes of output")
            #expect(run.signal == 0 && run.status == 2)
            #expect(run.maxResident < Self.maxResidentBytes, "\(run.maxResident >> 20) MB")
            #expect(run.stdout.count < Self.maxOutputBytes)
            let text = String(decoding: run.stdout, as: UTF8.self)
            let first = try #require(text.split(separator: "\n").first)
            #expect(isLocatedError(first, path: file.path), "\(first.prefix(200))")
            let diagnostics = text.split(separator: "\n").filter { $0.hasPrefix(file.path + ":") }
            #expect(diagnostics.count <= 101)
            if diagnostics.count == 101 { #expect(diagnostics.last?.contains("note[RC1018]: and ") == true) }
        }
    }

    @Test(arguments: ["json", "sarif", "github"])
    func machineFormatsOfGarbageAreBounded(_ format: String) throws {
        // What the format prints whatever the input (SARIF's catalogue of rules): the bound is on the rest.
        var fixed = 0
        try withInput(Array("policy \"x\" {\n".utf8)) { dir, file in fixed = try measure(["check", "--format", format, file.path], in: dir).stdout.count }
        try withInput(Garbage.randomBytes.bytes(count: Self.megabytes4)) { dir, file in
            let run = try measure(["check", "--format", format, file.path], in: dir)
            print("rc check --format \(format) on 4 MB of random bytes: \(run.maxResident >> 10) KB max RSS, \(run.stdout.count) bytes of output (\(fixed) for one error)")
            #expect(run.signal == 0 && run.status == 2)
            #expect(run.maxResident < Self.maxResidentBytes && run.stdout.count - fixed < Self.maxOutputBytes, "\(run.stdout.count) bytes, \(fixed) for one error")
            switch format {
            case "json":
                let items = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [[String: Any]])
                #expect(items.count == 101)
                #expect(items.last?["code"] as? String == "RC1018" && items.last?["severity"] as? String == "note")
            case "sarif":
                let log = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any])
                let results = try #require(((log["runs"] as? [[String: Any]])?.first)?["results"] as? [[String: Any]])
                #expect(results.count == 101 && results.last?["level"] as? String == "note")
            default:
                #expect(String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").last?.hasPrefix("::notice ") == true)
            }
        }
    }

    @Test func otherCommandsOnGarbageAreBounded() throws {
        try withInput(Garbage.printable.bytes(count: Self.megabytes4)) { dir, file in
            for arguments in [["test", "--color", "never", file.path], ["fmt", "--check", "--color", "never", file.path]] {
                let run = try measure(arguments, in: dir)
                print("rc \(arguments[0]) on 4 MB of printable garbage: exit \(run.status), \(run.maxResident >> 10) KB max RSS, \(run.stdout.count + run.stderr.count) bytes of output")
                #expect(run.signal == 0 && run.status == 2)
                #expect(run.maxResident < Self.maxResidentBytes)
                #expect(run.stdout.count + run.stderr.count < Self.maxOutputBytes)
            }
        }
    }

    /// A policy whose rule is a chain of `terms` terms joined by `op`.
    static func chainPolicy(_ terms: Int, _ op: String) -> String {
        let condition = op == "or"
            ? Array(repeating: "cluster.size < 3", count: terms).joined(separator: " or ")
            : "cluster.size < " + Array(repeating: "1", count: terms).joined(separator: " + ")
        return """
            policy "p" {
              applies_to node.name == "x"
            }
            detector "apt" debian
            rule "x" { deny when \(condition) }
            test "t" {
              given { detector "apt" fired }
              expect blocked by rule "x"
            }

            """
    }

    @Test(arguments: ["or", "+"], [2_000, 100_000])
    func longChainsAreALocatedErrorInEveryCommand(_ op: String, _ terms: Int) throws {
        try withInput(Array(Self.chainPolicy(terms, op).utf8)) { dir, file in
            let facts = dir.appendingPathComponent("facts.yaml")
            try "node: {name: x}\nnow: \"2026-11-28T03:00:00+01:00\"\ndetectors: {apt: fired}\n".write(to: facts, atomically: true, encoding: .utf8)
            let commands = [
                ["check", "--color", "never", file.path],
                ["test", "--color", "never", file.path],
                ["explain", file.path, "--facts", facts.path, "--color", "never"],
                ["run", file.path, "--once", "--dry-run", "--state-dir", dir.appendingPathComponent("state").path, "--node-name", "x"],
            ]
            for arguments in commands {
                let run = try measure(arguments, in: dir)
                #expect(run.signal == 0, "rc \(arguments[0]) died of signal \(run.signal)")
                #expect(run.status == 2, "rc \(arguments[0]): exit \(run.status)")
                #expect(run.output.contains(":5:") && run.output.contains("error[RC1017]"), "rc \(arguments[0]): \(run.output.prefix(300))")
                #expect(run.output.utf8.count < Self.maxOutputBytes)
            }
        }
    }

    @Test func chainsWithinTheLimitStillWork() throws {
        try withInput(Array(Self.chainPolicy(400, "+").utf8)) { dir, file in
            let check = try measure(["check", "--color", "never", file.path], in: dir)
            #expect(check.status == 0, "\(check.output.prefix(300))")
            let test = try measure(["test", "--color", "never", file.path], in: dir)
            #expect(test.status == 0, "\(test.output.prefix(300))")
        }
    }
}
