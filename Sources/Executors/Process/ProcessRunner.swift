import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The result of running a program.
public struct ProcessResult: Sendable, Equatable {
    /// How the program ended.
    public enum Ending: Sendable, Equatable {
        /// It exited with a status.
        case exited(Int32)
        /// A signal ended it.
        case signaled(Int32)
        /// It ran past the timeout; its whole process group was killed.
        case timedOut
        /// It could not be started (missing program, not executable); the text says why.
        case launchFailed(String)
    }

    public var ending: Ending
    /// Standard output, at most `ProcessRunner.outputLimit` bytes (decoded leniently as UTF-8).
    public var stdout: String
    public var stderr: String
    /// Whether either stream was cut at the limit.
    public var truncated: Bool
    /// Milliseconds from start to end.
    public var duration: Int64

    /// The exit status, when the program exited.
    public var exitCode: Int32? {
        if case .exited(let code) = ending { return code }
        return nil
    }
}

/// Runs programs the way rc's executors need: argv without a shell, a fresh process group so a timeout kills the
/// program and everything it started, a chosen environment, and output captured up to a bound.
public protocol ProcessRunning: Sendable {
    /// Runs `argv` (an absolute program path first) with `environment`, killing it after `timeout` milliseconds.
    func run(_ argv: [String], environment: [String: String], timeout: Int64) async -> ProcessResult
    /// The same, executing the open file `program` (checked by the caller, see `TrustedProgram`) instead of
    /// looking `argv[0]` up again.
    func run(_ argv: [String], program: Int32, environment: [String: String], timeout: Int64) async -> ProcessResult
}

extension ProcessRunning {
    /// A runner that runs no real programs (a test's) runs `argv` as it is.
    public func run(_ argv: [String], program: Int32, environment: [String: String], timeout: Int64) async -> ProcessResult {
        await run(argv, environment: environment, timeout: timeout)
    }
}

/// The real runner, on `posix_spawn`.
public struct ProcessRunner: ProcessRunning {
    /// The most output kept per stream: 64 KiB.
    public static let outputLimit = 64 * 1024
    /// How long a timed-out group gets between SIGTERM and SIGKILL, in milliseconds.
    public static let killGrace: Int64 = 500
    /// How long, after the program exited, what it started may keep its output open before it is killed.
    public static let leftoverGrace: Int64 = 300
    /// The environment variable that tags every process a run starts, down to the processes that leave its
    /// process group (`setsid`, a double fork): at the end of the run, whatever still carries the tag is killed.
    public static let runIDVariable = "RC_RUN_ID"

    /// Creates a runner.
    public init() {}

    public func run(_ argv: [String], environment: [String: String], timeout: Int64) async -> ProcessResult {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: ProcessRunner.runBlocking(argv, environment: environment, timeout: timeout))
            }
        }
    }

    public func run(_ argv: [String], program: Int32, environment: [String: String], timeout: Int64) async -> ProcessResult {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: ProcessRunner.runBlocking(argv, environment: environment, timeout: timeout, program: program))
            }
        }
    }

    /// Runs and waits on the calling thread. With `program`, that open file is executed (as descriptor 3 of the
    /// child, through `/proc/self/fd/3`, so that a script's interpreter can read it) and `argv[0]` is only its name.
    public static func runBlocking(_ argv: [String], environment: [String: String], timeout: Int64, program descriptor: Int32? = nil) -> ProcessResult {
        let started = monotonicMilliseconds()
        func failed(_ why: String) -> ProcessResult {
            ProcessResult(ending: .launchFailed(why), stdout: "", stderr: "", truncated: false, duration: monotonicMilliseconds() - started)
        }
        guard let named = argv.first, named.hasPrefix("/") else {
            return failed("the program must be an absolute path")
        }
        let program = descriptor == nil ? named : "/proc/self/fd/3"
        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0 else { return failed("pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&errPipe) == 0 else {
            close(outPipe[0])
            close(outPipe[1])
            return failed("pipe: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in [outPipe[0], outPipe[1], errPipe[0], errPipe[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        // Nothing else of this process reaches the program: descriptors opened without O_CLOEXEC by other threads
        // (a file being written) would otherwise stay open in it, and in everything it starts.
        if let descriptor {
            posix_spawn_file_actions_adddup2(&actions, descriptor, 3)
            _ = spawnCloseFrom(&actions, 4)
        } else {
            _ = spawnCloseFrom(&actions, 3)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new process group (so a timeout reaches grandchildren), default signal handling and no blocked signals.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)

        let runID = UUID().uuidString.lowercased()
        var environment = environment
        environment[runIDVariable] = runID
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        var spawnError = posix_spawn(&pid, program, &actions, &attributes, cArgs, cEnv)
        // "Text file busy": another process briefly holds the program open for writing (a script just written, whose
        // descriptor a concurrently started process inherited until its own exec). It clears within milliseconds.
        var retries = 0
        while spawnError == ETXTBSY, retries < 20 {
            usleep(10_000)
            retries += 1
            spawnError = posix_spawn(&pid, program, &actions, &attributes, cArgs, cEnv)
        }
        close(outPipe[1])
        close(errPipe[1])
        guard spawnError == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            return failed("\(named): \(String(cString: strerror(spawnError)))")
        }

        var out = BoundedBuffer()
        var err = BoundedBuffer()
        var open = [outPipe[0], errPipe[0]]
        let deadline = started + max(0, timeout)
        var timedOut = false
        var status: Int32 = 0
        var reaped = false
        var exited: Int64 = 0
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            if !open.isEmpty {
                var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                let wait = Int32(clamping: max(0, deadline - monotonicMilliseconds()))
                let ready = poll(&fds, nfds_t(fds.count), min(wait, 100))
                if ready > 0 {
                    for p in fds where p.revents != 0 {
                        let n = chunk.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                        if n > 0 {
                            if p.fd == outPipe[0] { out.append(chunk[0..<n]) } else { err.append(chunk[0..<n]) }
                        } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                            close(p.fd)
                            open.removeAll { $0 == p.fd }
                        }
                    }
                }
            } else {
                usleep(5_000)
            }
            if !reaped, waitpid(pid, &status, WNOHANG) == pid {
                reaped = true
                exited = monotonicMilliseconds()
            }
            if reaped && open.isEmpty { break }
            if reaped, !open.isEmpty {
                // The program exited but something it started still holds its output: a short grace, then what it
                // left behind is killed (below); the program's own exit decides.
                if monotonicMilliseconds() >= min(deadline, exited + leftoverGrace) { break }
                continue
            }
            if monotonicMilliseconds() >= deadline {
                timedOut = true
                kill(-pid, SIGTERM)
                let graceEnd = monotonicMilliseconds() + killGrace
                while monotonicMilliseconds() < graceEnd, waitpid(pid, &status, WNOHANG) != pid { usleep(10_000) }
                kill(-pid, SIGKILL)
                if waitpid(pid, &status, WNOHANG) != pid { waitpid(pid, &status, 0) }
                reaped = true
                break
            }
        }
        let leftBehind = !open.isEmpty
        for fd in open { close(fd) }
        if timedOut || leftBehind {
            // Nothing a check started outlives it: its process group, then whatever left the group but still
            // carries the run's tag.
            kill(-pid, SIGKILL)
            killTagged(runID)
        }
        let duration = monotonicMilliseconds() - started
        let ending: ProcessResult.Ending
        if timedOut {
            ending = .timedOut
        } else if status & 0x7f == 0 {
            ending = .exited((status >> 8) & 0xff)
        } else {
            ending = .signaled(status & 0x7f)
        }
        return ProcessResult(ending: ending, stdout: out.text, stderr: err.text, truncated: out.truncated || err.truncated, duration: duration)
    }
}

extension ProcessRunner {
    /// Kills every process whose environment carries `RC_RUN_ID=runID` (a descendant of one run).
    static func killTagged(_ runID: String) {
        let tag = Array("\(runIDVariable)=\(runID)".utf8) + [0]
        let me = getpid()
        // A few rounds: a process may fork while the first round kills its parent.
        for _ in 0..<3 {
            var found = false
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(entry), pid != me, let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
                let bytes = [UInt8](environ)
                if bytes.starts(with: tag) || contains(bytes, [0] + tag) {
                    kill(pid, SIGKILL)
                    found = true
                }
            }
            if !found { return }
            usleep(10_000)
        }
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return false }
        var i = 0
        while i + needle.count <= haystack.count {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}

/// Keeps the first `ProcessRunner.outputLimit` bytes and drops the rest, so a chatty program cannot exhaust memory.
struct BoundedBuffer {
    var bytes: [UInt8] = []
    var truncated = false

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        let room = ProcessRunner.outputLimit - bytes.count
        if chunk.count > room {
            bytes += chunk.prefix(max(0, room))
            truncated = true
        } else {
            bytes += chunk
        }
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Closes every descriptor from `from` up in the child: `posix_spawn_file_actions_addclosefrom_np` where glibc has
/// it (2.34 and later; looked up at run time so that the binary still runs on glibc 2.31), else a close action for
/// each descriptor open now (`/proc/self/fd`).
private func spawnCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32 {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
        return unsafeBitCast(symbol, to: CloseFrom.self)(actions, from)
    }
    guard let open = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return errno }
    for fd in open.compactMap(Int32.init) where fd >= from { posix_spawn_file_actions_addclose(actions, fd) }
    return 0
}

func monotonicMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
