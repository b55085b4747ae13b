import Foundation

/// What the fake Anthropic does beyond text, in Anthropic's exact format: a thinking block before
/// the answer when `thinking` asks for one (a redacted one for Anthropic's magic test string), cache
/// reads and writes when a block is marked, its own `count_tokens`, and a 400 when a thinking block
/// comes back altered.
enum FakeAnthropic {
    enum Thinking { case none, shown, redacted }

    static let thought = "The user says hello. A warm, short answer fits."
    static let signature = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    static let redactedData = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"
    /// Anthropic's documented string that makes a model answer a redacted thinking block.
    static let redactingPrompt = "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
    /// The usage of a call with a cache mark: 1,024 prompt tokens written, 4 read, 12 plain.
    static let cachedUsage = FakeUsage(input: 1_040, output: 2, cached: 4, cacheWrite: 1_024)
    /// The usage of a call that thought: 28 of its 30 output tokens are thinking.
    static let thinkingUsage = FakeUsage(input: 12, output: 30, cached: 4, thoughts: 28)

    static func thinking(asked request: [String: Any]) -> Thinking {
        guard let type = (request["thinking"] as? [String: Any])?["type"] as? String, type == "enabled" || type == "adaptive" else { return .none }
        return FakeModel.json(request["messages"] ?? [Any]()).contains(redactingPrompt) ? .redacted : .shown
    }

    static func usage(_ request: [String: Any]) -> FakeUsage {
        if thinking(asked: request) != .none { return thinkingUsage }
        return FakeModel.json(request).contains("\"cache_control\"") ? cachedUsage : FakeProviderServer.usage
    }

    /// The fake's token count: 10 per message, 3 per tool, 7 for a system prompt, plus 1.
    static func count(_ request: [String: Any]) -> Int {
        1 + 10 * ((request["messages"] as? [Any])?.count ?? 0) + 3 * ((request["tools"] as? [Any])?.count ?? 0) + (request["system"] == nil ? 0 : 7)
    }

    /// Why a request is refused as Anthropic would refuse it: a replayed thinking block that is not the one the fake sent.
    static func refusal(_ request: [String: Any]) -> String? {
        for message in request["messages"] as? [[String: Any]] ?? [] where message["role"] as? String == "assistant" {
            for block in message["content"] as? [[String: Any]] ?? [] {
                switch block["type"] as? String {
                case "thinking" where block["signature"] as? String != signature || block["thinking"] as? String != thought:
                    return "messages.1.content.0: Invalid `signature` in `thinking` block"
                case "redacted_thinking" where block["data"] as? String != redactedData:
                    return "messages.1.content.0: Invalid `data` in `redacted_thinking` block"
                default: continue
                }
            }
        }
        return nil
    }

    /// The thinking block's events at index 0 (Anthropic's order: start, thinking deltas, one signature delta, stop).
    static func events(_ thinking: Thinking) -> [String] {
        func event(_ name: String, _ data: String) -> String { "event: \(name)\ndata: \(data)\n\n" }
        switch thinking {
        case .none: return []
        case .redacted:
            return [event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"\#(redactedData)"}}"#),
                    event("content_block_stop", #"{"type":"content_block_stop","index":0}"#)]
        case .shown:
            let cut = thought.index(thought.startIndex, offsetBy: 16)
            return [event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#)]
                + [String(thought[..<cut]), String(thought[cut...])].map {
                    event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"\#($0)"}}"#)
                }
                + [event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"\#(signature)"}}"#),
                   event("content_block_stop", #"{"type":"content_block_stop","index":0}"#)]
        }
    }

    /// The thinking block of a whole (non-streamed) message, with the comma that follows it.
    static func block(_ thinking: Thinking) -> String {
        switch thinking {
        case .none: ""
        case .shown: #"{"type":"thinking","thinking":"\#(thought)","signature":"\#(signature)"},"#
        case .redacted: #"{"type":"redacted_thinking","data":"\#(redactedData)"},"#
        }
    }
}
