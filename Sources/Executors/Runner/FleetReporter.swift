import Foundation
import Logging
import ServiceLifecycle

/// The node's report as a service of its own: every publish interval it publishes this node's last report
/// again, which keeps its liveness key's lease alive. It runs on its own timer, independent of the passes, so a
/// healthy fleet whose `check_interval` is long next to its `publish_interval` never looks stale. Before the first
/// pass has published anything it publishes nothing.
public struct FleetReporter: Service {
    let fleet: EtcdFleet
    let interval: Int64
    let clock: any RCClock
    let logger: Logger

    /// A reporter publishing every `interval` milliseconds.
    public init(fleet: EtcdFleet, interval: Int64, clock: any RCClock, logger: Logger) {
        self.fleet = fleet
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        let (fleet, interval, clock, logger) = (self.fleet, self.interval, self.clock, self.logger)
        await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                do {
                    try await clock.sleep(milliseconds: interval)
                } catch {
                    break
                }
                do {
                    try await fleet.refresh(at: clock.now())
                    if failing { logger.notice("this node's report is published again") }
                    failing = false
                } catch {
                    // Logged once per streak: the passes report the lock and fleet errors that matter.
                    if !failing { logger.warning("cannot publish this node's report: \(error)") }
                    failing = true
                }
            }
        }
    }
}
