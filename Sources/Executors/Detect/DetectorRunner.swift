import Evaluator
import Foundation
import PolicyLang

/// Where the host keeps the files the built-in detectors read. Tests point `root` at a temporary directory.
public struct HostPaths: Sendable {
    /// Prefixed to every absolute path the detectors read (not to programs they run).
    public var root: String
    /// Directories searched for the programs of built-in detectors.
    public var programDirectories: [String]

    /// The real host.
    public init(root: String = "", programDirectories: [String] = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
        self.root = root
        self.programDirectories = programDirectories
    }

    func path(_ absolute: String) -> String { root + absolute }

    func exists(_ absolute: String) -> Bool { FileManager.default.fileExists(atPath: path(absolute)) }

    func read(_ absolute: String) -> String? {
        FileManager.default.contents(atPath: path(absolute)).map { String(decoding: $0.prefix(ProcessRunner.outputLimit), as: UTF8.self) }
    }

    /// The first executable called `name` in the program directories.
    func program(_ name: String) -> String? {
        programDirectories.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// Runs a policy's detectors on the host. A detector that cannot run (missing program, timeout, unexpected exit)
/// is an error, never "reboot needed".
public struct DetectorRunner: Sendable {
    let runner: any ProcessRunning
    let paths: HostPaths
    /// The environment of detector programs: a fixed PATH and locale, plus what the caller adds
    /// (`RC_SKIP_HEALTH`, `RC_SKIP_LOCK` for `rc status`).
    let environment: [String: String]
    /// The uids a command detector's program may belong to: root and the user rc runs as.
    let owners: Set<uid_t>

    /// Creates a runner.
    public init(
        runner: any ProcessRunning = ProcessRunner(), paths: HostPaths = HostPaths(), environment extra: [String: String] = [:], owners: Set<uid_t> = [0, getuid()]
    ) {
        self.runner = runner
        self.owners = owners
        self.paths = paths
        environment = Self.baseEnvironment.merging(extra) { _, new in new }
    }

    /// Runs every detector of the policy.
    public func observeAll(_ policy: PreparedPolicy) async -> [String: DetectorObservation] {
        var result: [String: DetectorObservation] = [:]
        for detector in policy.policy.detectors { result[detector.name] = await observe(detector, policy) }
        return result
    }

    /// Runs one detector.
    public func observe(_ detector: DetectorSpec, _ policy: PreparedPolicy) async -> DetectorObservation {
        switch detector.source {
        case .file(let path):
            return paths.exists(path) ? DetectorObservation(.fired, output: path + " exists") : DetectorObservation(.clear)
        case .command(let argv, _, _):
            // A detector program is checked as a health script is, and the checked file is the one that runs.
            let program: TrustedProgram
            switch TrustedProgram.open(argv[0], owners: owners) {
            case .success(let checked): program = checked
            case .failure(let why): return DetectorObservation(.error(why.missing ? "cannot run \(why)" : "refused to run: \(why)"))
            }
            let result = await runner.run(argv, program: program.descriptor, environment: environment, timeout: detector.timeout)
            close(program.descriptor)
            if let failure = failure(result, argv, timeout: detector.timeout) { return failure }
            let state = policy.commandDetectorState(detector.name, exitCode: result.exitCode ?? -1, stdout: result.stdout) ?? .error("not a command detector")
            return DetectorObservation(state, output: output(result))
        case .builtin(let kind):
            return await builtin(kind, timeout: detector.timeout)
        }
    }

    static let baseEnvironment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"]

    private func failure(_ result: ProcessResult, _ argv: [String], timeout: Int64) -> DetectorObservation? {
        switch result.ending {
        case .exited: return nil
        case .launchFailed(let why): return DetectorObservation(.error("cannot run \(why)"))
        case .timedOut: return DetectorObservation(.error("\(argv[0]) timed out after \(formatDuration(milliseconds: timeout))"), output: output(result))
        case .signaled(let signal): return DetectorObservation(.error("\(argv[0]) was killed by signal \(signal)"), output: output(result))
        }
    }

    private func output(_ result: ProcessResult) -> String? {
        let text = (result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// A detector outcome that ends the detector before its program's exit code is read.
    struct Early: Error {
        var observation: DetectorObservation
    }

    private func run(_ program: String, _ arguments: [String], timeout: Int64) async -> Result<ProcessResult, Early> {
        guard let path = paths.program(program) else {
            return .failure(Early(observation: DetectorObservation(.error("\(program): not found in \(paths.programDirectories.joined(separator: ":"))"))))
        }
        let result = await runner.run([path] + arguments, environment: environment, timeout: timeout)
        if let failure = failure(result, [path], timeout: timeout) { return .failure(Early(observation: failure)) }
        return .success(result)
    }

    private func builtin(_ kind: BuiltinDetector, timeout: Int64) async -> DetectorObservation {
        switch kind {
        case .debian:
            guard paths.exists("/var/run/reboot-required") else { return DetectorObservation(.clear) }
            let packages = paths.read("/var/run/reboot-required.pkgs")?.split(separator: "\n").joined(separator: ", ")
            return DetectorObservation(.fired, output: packages.map { "/var/run/reboot-required; packages: " + $0 } ?? "/var/run/reboot-required")
        case .rhel:
            return await byExitCode("needs-restarting", ["-r"], fired: 1, timeout: timeout)
        case .suse:
            if paths.exists("/run/reboot-needed") { return DetectorObservation(.fired, output: "/run/reboot-needed exists") }
            return await byExitCode("zypper", ["needs-rebooting"], fired: 102, timeout: timeout)
        case .needrestart:
            switch await run("needrestart", ["-b"], timeout: timeout) {
            case .failure(let early): return early.observation
            case .success(let r):
                // NEEDRESTART-KSTA: 0 unknown, 1 current, 2 ABI-compatible upgrade pending, 3 version upgrade pending.
                let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("NEEDRESTART-KSTA:") }
                guard let value = line.flatMap({ Int(String($0.dropFirst("NEEDRESTART-KSTA:".count)).trimmingCharacters(in: .whitespaces)) }) else {
                    return DetectorObservation(.error("needrestart -b printed no NEEDRESTART-KSTA"), output: output(r))
                }
                switch value {
                case 2, 3: return DetectorObservation(.fired, output: String(line!))
                case 1: return DetectorObservation(.clear, output: String(line!))
                default: return DetectorObservation(.error("needrestart cannot tell the kernel status (KSTA \(value))"), output: String(line!))
                }
            }
        case .kernel:
            return kernel()
        }
    }

    /// A program that says "reboot needed" with the exit code `fired` and "not needed" with 0; anything else is an
    /// error.
    private func byExitCode(_ program: String, _ arguments: [String], fired: Int32, timeout: Int64) async -> DetectorObservation {
        switch await run(program, arguments, timeout: timeout) {
        case .failure(let early): return early.observation
        case .success(let r):
            switch r.exitCode {
            case fired: return DetectorObservation(.fired, output: output(r))
            case 0: return DetectorObservation(.clear, output: output(r))
            default:
                let call = ([program] + arguments).joined(separator: " ")
                return DetectorObservation(.error("\(call) exited \(r.exitCode ?? -1)"), output: output(r))
            }
        }
    }

    /// The running kernel (`/proc/sys/kernel/osrelease`) against the newest in `/lib/modules`.
    private func kernel() -> DetectorObservation {
        guard let running = paths.read("/proc/sys/kernel/osrelease")?.trimmingCharacters(in: .whitespacesAndNewlines), !running.isEmpty else {
            return DetectorObservation(.error("cannot read the running kernel's release"))
        }
        let installed = ((try? FileManager.default.contentsOfDirectory(atPath: paths.path("/lib/modules"))) ?? [])
        guard let newest = installed.max(by: { compareVersions($0, $1) < 0 }) else {
            return DetectorObservation(.error("no kernels found in /lib/modules"))
        }
        if compareVersions(newest, running) > 0 {
            return DetectorObservation(.fired, output: "running \(running), installed \(newest)")
        }
        return DetectorObservation(.clear, output: "running \(running), the newest installed")
    }
}

/// Compares version strings by their runs of digits as numbers (`6.1.0-28` > `6.1.0-9`).
func compareVersions(_ a: String, _ b: String) -> Int {
    func parts(_ s: String) -> [Either] {
        var out: [Either] = []
        var current = ""
        var digits = false
        for ch in s {
            let isDigit = ch.isASCII && ch.isNumber
            if !current.isEmpty, isDigit != digits {
                out.append(digits ? .number(UInt64(current) ?? 0) : .text(current))
                current = ""
            }
            digits = isDigit
            current.append(ch)
        }
        if !current.isEmpty { out.append(digits ? .number(UInt64(current) ?? 0) : .text(current)) }
        return out
    }
    let (pa, pb) = (parts(a), parts(b))
    for (x, y) in zip(pa, pb) where x != y {
        switch (x, y) {
        case (.number(let m), .number(let n)): return m < n ? -1 : 1
        case (.text(let s), .text(let t)): return s < t ? -1 : 1
        case (.number, .text): return 1
        case (.text, .number): return -1
        }
    }
    return pa.count == pb.count ? 0 : (pa.count < pb.count ? -1 : 1)
}

private enum Either: Equatable {
    case number(UInt64)
    case text(String)
}
