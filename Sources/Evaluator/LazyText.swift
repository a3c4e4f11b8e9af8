/// Text written only when it is read. A decision's reasons record the values it computed (an instant, a window, the
/// facts of a condition); the sentence that shows them is built when a reason is read, so a daemon pass that logs
/// nothing new formats nothing. (A trace records events, whose text TraceText.swift writes when it is rendered.)
public struct LazyText: Sendable {
    private enum Storage: Sendable {
        case text(String)
        case build(@Sendable () -> String)
    }

    private let storage: Storage

    /// Text already written.
    public init(_ text: String) { storage = .text(text) }

    /// Text written by `build` each time it is read (reads are rare: rendering, logging).
    public init(building build: @escaping @Sendable () -> String) { storage = .build(build) }

    /// The text.
    public var text: String {
        switch storage {
        case .text(let s): s
        case .build(let build): build()
        }
    }
}
