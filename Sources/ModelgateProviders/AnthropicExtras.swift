import ModelgateCore

/// What only Anthropic does with a Messages request: extended thinking and prompt-cache
/// breakpoints. Thinking is refused for every other provider (`ProviderRouter.check`); cache marks
/// are hints the others do not need (OpenAI and Gemini cache prompts on their own).
public struct AnthropicExtras: Sendable, Equatable {
    public var thinking: ThinkingConfig?
    /// The system prompt as the client's blocks, with their cache marks; `ProviderRequest.system`
    /// is their text joined. Nil: the system prompt goes to Anthropic as one text.
    public var systemBlocks: [SystemBlock]?
    /// Cache marks on tools, by index in `ProviderRequest.tools`.
    public var toolCache: [Int: CacheControl] = [:]
    /// The request-wide mark (Anthropic puts it on the last cacheable block itself).
    public var cacheControl: CacheControl?

    public init() {}
}

/// Anthropic's `cache_control` mark, `{"type": "ephemeral", "ttl"?}`, passed on as it came.
public struct CacheControl: Sendable, Equatable {
    /// `"5m"` or nil (Anthropic's default, five minutes); a one-hour write is refused at the door.
    public var ttl: String?

    public init(ttl: String? = nil) { self.ttl = ttl }

    var wire: [String: Any] {
        var mark: [String: Any] = ["type": "ephemeral"]
        mark["ttl"] = ttl
        return mark
    }
}

/// A text block of the system prompt and its cache mark.
public struct SystemBlock: Sendable, Equatable {
    public var text: String
    public var cache: CacheControl?

    public init(text: String, cache: CacheControl? = nil) {
        self.text = text
        self.cache = cache
    }
}

/// `thinking` as the Messages API asks for it; `display` is `summarized` or `omitted`.
public enum ThinkingConfig: Sendable, Equatable {
    case disabled
    case enabled(budgetTokens: Int, display: String?)
    case adaptive(display: String?)

    var wire: [String: Any] {
        switch self {
        case .disabled: return ["type": "disabled"]
        case .enabled(let budget, let display):
            var config: [String: Any] = ["type": "enabled", "budget_tokens": budget]
            config["display"] = display
            return config
        case .adaptive(let display):
            var config: [String: Any] = ["type": "adaptive"]
            config["display"] = display
            return config
        }
    }
}

/// A thinking block of an earlier assistant turn: Anthropic checks its signature, so it goes back
/// exactly as it was received.
public enum ThinkingBlock: Sendable, Equatable {
    case thinking(text: String, signature: String)
    case redacted(data: String)

    var wire: [String: Any] {
        switch self {
        case .thinking(let text, let signature): ["type": "thinking", "thinking": text, "signature": signature]
        case .redacted(let data): ["type": "redacted_thinking", "data": data]
        }
    }
}

/// A piece of a streamed thinking block: `start` opens a block, `text` and `signature` fill it
/// (a signature replaces the one before, as Anthropic's SDK reads it); a redacted block comes whole.
public enum ThinkingDelta: Sendable, Equatable {
    case start
    case text(String)
    case signature(String)
    case redacted(data: String)
}

extension ProviderRequest {
    /// The first field only Anthropic can take (thinking, or a thinking block of an earlier turn), for refusing it elsewhere.
    var anthropicOnlyField: String? {
        if let thinking = anthropic.thinking, thinking != .disabled { return "thinking" }
        for (position, message) in messages.enumerated() {
            if let part = message.parts.firstIndex(where: { if case .thinking = $0 { true } else { false } }) {
                return "messages.\(message.sourceIndex ?? position).content.\(part)"
            }
        }
        return nil
    }
}

extension ProviderRequest {
    /// Puts `prompt` (a coach's) before the client's system prompt, in both its forms.
    public mutating func prependSystem(_ prompt: String?) {
        guard let prompt else { return }
        system = system.map { prompt + "\n\n" + $0 } ?? prompt
        anthropic.systemBlocks?.insert(SystemBlock(text: prompt), at: 0)
    }
}
