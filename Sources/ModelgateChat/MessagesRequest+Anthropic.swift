import ModelgateCore
import ModelgateProviders

/// The Messages API's fields only Anthropic honours: extended thinking (refused for other
/// providers by `ProviderRouter.check`) and cache marks (hints for the others, which cache on their own).
extension MessagesRequest {
    func anthropicExtras() throws(ModelgateError) -> AnthropicExtras {
        var extras = AnthropicExtras()
        extras.thinking = try thinkingConfig()
        extras.cacheControl = try Self.cache(cache_control, field: "cache_control")
        for (index, tool) in (tools ?? []).enumerated() {
            extras.toolCache[index] = try Self.cache(tool.cache_control, field: "tools.\(index).cache_control")
        }
        if case .list(let blocks) = system {
            let marked = try blocks.enumerated().map { (index, block) throws(ModelgateError) in
                SystemBlock(text: block.text ?? "", cache: try Self.cache(block.cache_control, field: "system.\(index).cache_control"))
            }.filter { !$0.text.isEmpty }
            extras.systemBlocks = marked.isEmpty ? nil : marked
        }
        return extras
    }

    /// A five-minute mark, as sent. One-hour writes cost twice the input price, which Modelgate does
    /// not price yet: refused rather than billed at the five-minute price.
    static func cache(_ mark: CacheMark?, field: String) throws(ModelgateError) -> CacheControl? {
        guard let mark else { return nil }
        guard mark.type == "ephemeral" else { throw .invalidBody(field: field + ".type", reason: "must be ephemeral") }
        switch mark.ttl {
        case nil, "5m": return CacheControl(ttl: mark.ttl)
        case "1h": throw .unsupportedParameter(field: field + ".ttl", reason: "one-hour cache writes are not priced by Modelgate; leave ttl out or send 5m")
        default: throw .invalidBody(field: field + ".ttl", reason: "must be 5m or 1h")
        }
    }

    /// A thinking block of an earlier turn, which must come back with its signature.
    static func thinking(_ block: Block, field: String) throws(ModelgateError) -> ThinkingBlock {
        if block.type == "redacted_thinking" {
            guard let data = block.data else { throw .invalidBody(field: field + ".data", reason: "is required") }
            return .redacted(data: data)
        }
        guard let text = block.thinking else { throw .invalidBody(field: field + ".thinking", reason: "is required") }
        guard let signature = block.signature else { throw .invalidBody(field: field + ".signature", reason: "is required") }
        return .thinking(text: text, signature: signature)
    }

    private func thinkingConfig() throws(ModelgateError) -> ThinkingConfig? {
        guard let thinking else { return nil }
        if let display = thinking.display, display != "summarized", display != "omitted" {
            throw .invalidBody(field: "thinking.display", reason: "must be summarized or omitted")
        }
        switch thinking.type {
        case "disabled": return .disabled
        case "adaptive": return .adaptive(display: thinking.display)
        case "enabled":
            // Anthropic's own floor; whether it fits `max_tokens` depends on the betas, so Anthropic judges that.
            guard let budget = thinking.budget_tokens, budget >= 1024 else {
                throw .invalidBody(field: "thinking.budget_tokens", reason: "is required and must be at least 1024")
            }
            return .enabled(budgetTokens: budget, display: thinking.display)
        default:
            throw .unsupportedParameter(field: "thinking.type", reason: "must be enabled, adaptive or disabled")
        }
    }
}
