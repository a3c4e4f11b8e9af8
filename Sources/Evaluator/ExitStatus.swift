import PolicyLang

/// The outcome of one decision.
public enum Outcome: String, Sendable, Hashable {
    case reboot
    case noRebootNeeded = "no_reboot_needed"
    case blocked
}

/// Process exit statuses shared by every command (kept from clusterrebootd so existing automation works).
public enum ExitStatus {
    /// Reboot done, or not needed.
    public static let ok: Int32 = 0
    public static let runtimeError: Int32 = 1
    public static let invalidPolicy: Int32 = 2
    public static let usage: Int32 = 64

    /// The exit status of a decision: 0 unless blocked, then the blocking reason's code (3–8).
    public static func of(_ outcome: Outcome, blockedBy reason: BlockReason?) -> Int32 {
        switch outcome {
        case .reboot, .noRebootNeeded: ok
        case .blocked: reason?.exitCode ?? runtimeError
        }
    }
}
