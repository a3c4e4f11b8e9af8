import PolicyLang

/// Picks the one policy of a repository that governs a node.
public enum PolicySelection {
    /// Why no single policy could be picked.
    public enum Failure: Error, Sendable {
        /// No policy's `applies_to` holds and there is no policy without one.
        case none(node: String)
        /// Several policies apply equally.
        case ambiguous(node: String, policies: [PreparedPolicy])

        /// A sentence for the user.
        public var message: String {
            switch self {
            case .none(let node):
                "no policy applies to node \(quoteString(node)): no `applies_to` holds and no policy leaves it out"
            case .ambiguous(let node, let policies):
                "\(policies.count) policies apply to node \(quoteString(node)): "
                    + policies.map { "\(quoteString($0.policy.name)) (\($0.policy.file.path))" }.joined(separator: ", ")
                    + "; make their `applies_to` conditions exclusive"
            }
        }
    }

    /// The policy whose `applies_to` holds for the facts; when none does, the one policy without `applies_to`
    /// (a repository's default). Two candidates at the same level are an error, never a guess.
    public static func select(_ policies: [PreparedPolicy], for facts: Facts) -> Result<PreparedPolicy, Failure> {
        let node = facts.nodeName ?? FactDefaults.nodeName
        let specific = policies.filter { $0.policy.appliesTo != nil && $0.applies(to: facts) }
        if specific.count == 1 { return .success(specific[0]) }
        if specific.count > 1 { return .failure(.ambiguous(node: node, policies: specific)) }
        let defaults = policies.filter { $0.policy.appliesTo == nil }
        if defaults.count == 1 { return .success(defaults[0]) }
        if defaults.count > 1 { return .failure(.ambiguous(node: node, policies: defaults)) }
        return .failure(.none(node: node))
    }
}
