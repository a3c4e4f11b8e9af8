import ArgumentParser
import Dispatch
import Executors

/// The entry point. The commands run as a task on the concurrency runtime's threads while the main thread
/// waits for them. (An `async` main would hand the main thread to `dispatch_main`, which ends it with
/// `pthread_exit`: that unwinds its stack through the binary's unwind tables and leaves about 1 MB of them
/// resident in the daemon for good; docs/performance.md.)
@main
enum Main {
    static func main() {
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            await RC.main()
            finished.signal()
        }
        finished.wait()
    }
}

/// rc: reboot coordination for Linux fleets, driven by a small policy language.
struct RC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rc",
        abstract: "Coordinate reboots of Linux hosts with a policy.",
        discussion: """
            Policies (*.rcl) say when a node needs a reboot and when it may reboot. \
            See docs/language.md for the language, docs/cli.md for the commands, docs/diagnostics.md for every \
            diagnostic code and docs/etcd.md for fleet coordination.

            Exit codes: 0 ok, 1 runtime error (or warnings with --strict), 2 invalid policy or config, 3 health \
            blocked, 4 lock unavailable, 5 kill switch, 6 detector error, 7 window closed, 8 denied by a rule, 64 usage error.
            """,
        version: RCVersion.current,
        subcommands: [InitCommand.self, CheckCommand.self, FormatCommand.self, ImportCommand.self, ExplainCommand.self, TestCommand.self, SimulateCommand.self, RunCommand.self, StatusCommand.self, LockCommand.self, FleetCommand.self, LogCommand.self, VersionCommand.self]
    )
}

/// The version of rc.
enum RCVersion {
    static let current = rcVersion
}

/// `rc version`
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print rc's version.")

    func run() throws {
        print("rc \(RCVersion.current)")
    }
}
