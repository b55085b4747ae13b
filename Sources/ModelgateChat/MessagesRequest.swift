import Foundation
import ModelgateCore
import ModelgateProviders

/// A request to `POST /v1/messages`, as the `anthropic` SDKs and Claude Code send it: translated
/// into the one request every provider adapter reads. What cannot be honoured is refused by name.
struct MessagesRequest: Decodable, Sendable {
    /// A string, or content blocks.
    typealias Content = TextOrList<Block>

    struct Message: Decodable, Sendable {
        let role: String
        let content: Content
    }

    /// One content block; which fields it has depends on `type`.
    struct Block: Decodable, Sendable {
        struct ImageSource: Decodable, Sendable {
            let type: String
            let media_type: String?
            let data: String?
            let url: String?
        }

        var type: String
        var text: String?
        var source: ImageSource?
        var id: String?
        var name: String?
        var input: JSONValue?
        var tool_use_id: String?
        var content: Content?
        var is_error: Bool?
        var thinking: String?
        var signature: String?
        /// A redacted thinking block's opaque content.
        var data: String?
        var cache_control: CacheMark?

        init(type: String, text: String?) {
            self.type = type
            self.text = text
        }
    }

    struct Tool: Decodable, Sendable {
        let type: String?
        let name: String
        let description: String?
        let input_schema: JSONValue?
        let strict: Bool?
        let cache_control: CacheMark?
    }

    /// `cache_control`: `{"type": "ephemeral", "ttl"?}`.
    struct CacheMark: Decodable, Sendable {
        let type: String
        let ttl: String?
    }

    struct ToolChoiceValue: Decodable, Sendable {
        let type: String
        let name: String?
        let disable_parallel_tool_use: Bool?
    }

    struct Thinking: Decodable, Sendable {
        let type: String
        let budget_tokens: Int?
        let display: String?
    }
    struct Metadata: Decodable, Sendable { let user_id: String? }

    let model: String
    /// Required to create a message, as Anthropic requires it; not read by `count_tokens`.
    let max_tokens: Int?
    let messages: [Message]
    let system: Content?
    let tools: [Tool]?
    let tool_choice: ToolChoiceValue?
    let stop_sequences: [String]?
    let temperature: Double?
    let top_p: Double?
    let top_k: Int?
    let stream: Bool?
    let thinking: Thinking?
    let metadata: Metadata?
    /// The request-wide cache mark (Anthropic places it on the last cacheable block).
    let cache_control: CacheMark?
    // Fields of the Messages API that no provider adapter can honour yet: refused when present.
    let service_tier: JSONValue?
    let container: JSONValue?
    let context_management: JSONValue?
    let mcp_servers: JSONValue?
    let output_config: JSONValue?
    /// The structured-output beta's field (`client.beta.messages.create(output_format=…)`).
    let output_format: JSONValue?
}

extension MessagesRequest {
    /// The request for a provider; `counting` reads it only to count its prompt (no `max_tokens`).
    func providerRequest(counting: Bool = false) throws(ModelgateError) -> ProviderRequest {
        try refuseUnsupported()
        var converted: [ChatMessage] = []
        for (index, message) in messages.enumerated() {
            switch message.role {
            case "user": converted += try Self.user(message.content.blocks, at: index)
            case "assistant": converted.append(try Self.assistant(message.content.blocks, at: index))
            default: throw .invalidBody(field: "messages.\(index).role", reason: "must be user or assistant")
            }
        }
        var request = ProviderRequest(
            providerModelID: "", system: try systemText(), messages: converted, endUserID: "",
            options: counting ? GenerationOptions() : try generationOptions(),
            tools: try definitions(), toolChoice: try chosenTool(), parallelToolCalls: tool_choice?.disable_parallel_tool_use == true ? false : nil)
        request.anthropic = try anthropicExtras()
        return request
    }

    private func refuseUnsupported() throws(ModelgateError) {
        if top_k != nil { throw .unsupportedParameter(field: "top_k", reason: "top-k sampling is not passed to providers; leave it out") }
        let refused: [(String, JSONValue?)] = [("service_tier", service_tier), ("container", container), ("context_management", context_management),
                                              ("mcp_servers", mcp_servers), ("output_config", output_config),
                                              ("output_format", output_format)]
        if let field = refused.first(where: { $0.1 != nil })?.0 {
            throw .unsupportedParameter(field: field, reason: "is not supported by Modelgate's Messages API")
        }
    }

    private func generationOptions() throws(ModelgateError) -> GenerationOptions {
        guard let max_tokens else { throw .invalidBody(field: "max_tokens", reason: "is required") }
        guard (1...GenerationOptions.maxOutputTokensAllowed).contains(max_tokens) else {
            throw .invalidBody(field: "max_tokens", reason: "must be 1 to \(GenerationOptions.maxOutputTokensAllowed)")
        }
        if let temperature, !(0...1).contains(temperature) { throw .invalidBody(field: "temperature", reason: "must be between 0 and 1") }
        if let top_p, !(0...1).contains(top_p) { throw .invalidBody(field: "top_p", reason: "must be between 0 and 1") }
        let stops = stop_sequences ?? []
        guard stops.count <= 4 else { throw .unsupportedParameter(field: "stop_sequences", reason: "takes at most 4 sequences (the least every provider takes)") }
        return GenerationOptions(maxOutputTokens: max_tokens, temperature: temperature, topP: top_p, stop: stops)
    }

    /// `system` as one text: a string, or text blocks (their cache marks go to Anthropic with the blocks).
    private func systemText() throws(ModelgateError) -> String? {
        guard let system else { return nil }
        let texts = try system.blocks.enumerated().map { (index, block) throws(ModelgateError) -> String in
            guard block.type == "text" else { throw .invalidField(field: "system.\(index)", reason: "system blocks must be text") }
            return block.text ?? ""
        }
        let text = texts.joined(separator: "\n\n")
        return text.isEmpty ? nil : text
    }

    /// A user message: its tool results first (each one a tool message), then its text and images.
    private static func user(_ blocks: [Block], at index: Int) throws(ModelgateError) -> [ChatMessage] {
        var results: [ChatMessage] = []
        var parts: [ContentPart] = []
        var marks: [Int: CacheControl] = [:]
        for (number, block) in blocks.enumerated() {
            let field = "messages.\(index).content.\(number)"
            let mark = try cache(block.cache_control, field: field + ".cache_control")
            switch block.type {
            case "text", "image":
                marks[parts.count] = mark
                parts.append(try block.type == "image" ? .image(image(block.source, field: field)) : .text(block.text ?? ""))
            case "tool_result":
                guard let id = block.tool_use_id, !id.isEmpty else { throw .invalidBody(field: field + ".tool_use_id", reason: "is required") }
                let text = try block.content.map { content throws(ModelgateError) in try resultText(content, field: field + ".content") } ?? ""
                var result = ChatMessage(role: .tool, parts: [.text(block.is_error == true ? "Error: " + text : text)], toolCallID: id, sourceIndex: index)
                result.cacheMarks[0] = mark
                results.append(result)
            default:
                throw .invalidField(field: field, reason: "\(block.type) blocks are not supported in a user message")
            }
        }
        var message = ChatMessage(role: .user, parts: parts, sourceIndex: index)
        message.cacheMarks = marks
        return results + (parts.isEmpty ? [] : [message])
    }

    /// An assistant message: its text and thinking blocks in order, then its tool calls.
    private static func assistant(_ blocks: [Block], at index: Int) throws(ModelgateError) -> ChatMessage {
        var parts: [ContentPart] = []
        var calls: [ToolCall] = []
        var marks: [Int: CacheControl] = [:]
        var callMarks: [Int: CacheControl] = [:]
        for (number, block) in blocks.enumerated() {
            let field = "messages.\(index).content.\(number)"
            let mark = try cache(block.cache_control, field: field + ".cache_control")
            switch block.type {
            case "text", "thinking", "redacted_thinking":
                marks[parts.count] = mark
                parts.append(try block.type == "text" ? .text(block.text ?? "") : .thinking(thinking(block, field: field)))
            case "tool_use":
                guard let id = block.id, let name = block.name else { throw .invalidBody(field: field, reason: "a tool_use block needs id and name") }
                callMarks[calls.count] = mark
                calls.append(ToolCall(id: id, name: name, arguments: (block.input ?? .object([:])).jsonText))
            default:
                throw .invalidField(field: field, reason: "\(block.type) blocks are not supported in an assistant message")
            }
        }
        var message = ChatMessage(role: .assistant, parts: parts, toolCalls: calls, sourceIndex: index)
        message.cacheMarks = marks.merging(callMarks.map { (parts.count + $0.key, $0.value) }) { $1 }
        return message
    }

    private static func image(_ source: Block.ImageSource?, field: String) throws(ModelgateError) -> ImageInput {
        switch (source?.type, source?.media_type, source?.data, source?.url) {
        case ("base64", let type?, let data?, _): return ImageInput(source: .base64(mediaType: type.lowercased(), data: data))
        case ("url", _, _, let url?): return try CompletionRequest.image(url, field: field + ".source.url")
        default: throw .invalidBody(field: field + ".source", reason: "must be {type: base64, media_type, data} or {type: url, url}")
        }
    }

    /// A tool result's content: a string or text blocks (images in a tool result are not carried).
    private static func resultText(_ content: Content, field: String) throws(ModelgateError) -> String {
        try content.blocks.enumerated().map { (number, block) throws(ModelgateError) -> String in
            guard block.type == "text" else { throw .invalidField(field: "\(field).\(number)", reason: "tool results take text blocks only") }
            if block.cache_control != nil {
                throw .unsupportedParameter(field: "\(field).\(number).cache_control", reason: "a mark inside a tool result is not passed on; put it on the tool_result block")
            }
            return block.text ?? ""
        }.joined()
    }

    private func definitions() throws(ModelgateError) -> [ToolDefinition] {
        try (tools ?? []).enumerated().map { (index, tool) throws(ModelgateError) -> ToolDefinition in
            guard tool.type == nil || tool.type == "custom" else {
                throw .unsupportedParameter(field: "tools.\(index).type", reason: "server tools (\(tool.type ?? "")) are not supported; only client tools are")
            }
            guard !tool.name.isEmpty, tool.name.count <= 64,
                  tool.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                throw .invalidBody(field: "tools.\(index).name", reason: "must be 1–64 of a-z, A-Z, 0-9, _ and -")
            }
            guard let schema = tool.input_schema, case .object = schema else {
                throw .invalidBody(field: "tools.\(index).input_schema", reason: "is required and must be a JSON Schema object")
            }
            return ToolDefinition(name: tool.name, description: tool.description, parameters: schema, strict: tool.strict)
        }
    }

    private func chosenTool() throws(ModelgateError) -> ToolChoice? {
        guard let tool_choice else { return nil }
        switch tool_choice.type {
        case "auto": return .auto
        case "any": return .required
        case "none": return .noCalls
        case "tool":
            guard let name = tool_choice.name, tools?.contains(where: { $0.name == name }) == true else {
                throw .invalidBody(field: "tool_choice.name", reason: "must name one of the tools")
            }
            return .function(name)
        default: throw .invalidBody(field: "tool_choice.type", reason: "must be auto, any, tool or none")
        }
    }
}

extension TextOrList where Element == MessagesRequest.Block {
    /// The content as blocks: a string is one text block.
    var blocks: [MessagesRequest.Block] {
        switch self {
        case .text(let text): [MessagesRequest.Block(type: "text", text: text)]
        case .list(let blocks): blocks
        }
    }
}
