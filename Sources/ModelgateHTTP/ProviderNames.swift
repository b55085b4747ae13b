import ModelgateCore

extension Provider {
    /// The provider's name as pages show it.
    public var displayName: String {
        switch self {
        case .openai: "OpenAI"
        case .anthropic: "Anthropic"
        case .together: "Together AI"
        case .google: "Google"
        }
    }
}
