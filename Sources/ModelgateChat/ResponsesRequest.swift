import Foundation
import ModelgateCore
import ModelgateProviders

/// A request to `POST /v1/responses`, as the `openai` SDK, the Agents SDK and Codex send it:
/// translated into the one request every provider adapter reads; what cannot be honoured is
/// refused by name. A `previous_response_id` continues a stored response's conversation.
struct ResponsesRequest: Decodable, Sendable {
    /// One input item: a message (`role`), a `function_call` or a `function_call_output`; stored
    /// responses keep their conversation as these (an output item reads as one too).
    struct Item: Codable, Sendable {
        let type: String?
        let role: String?
        let content: TextOrList<Part>?
        let call_id: String?
        let name: String?
        let arguments: String?
        let output: String?
    }

    struct Part: Codable, Sendable {
        let type: String
        let text: String?
        let refusal: String?
        let image_url: String?
        let detail: String?
    }

    struct Tool: Decodable, Sendable {
        let type: String
        let name: String?
        let description: String?
        let parameters: JSONValue?
        let strict: Bool?
    }

    struct TextOptions: Decodable, Sendable {
        struct Format: Decodable, Sendable {
            let type: String
            let name: String?
            let schema: JSONValue?
            let strict: Bool?
        }

        let format: Format?
        let verbosity: String?
    }

    let model: String
    /// A string (one user message), or items.
    let input: TextOrList<Item>
    let instructions: String?
    let tools: [Tool]?
    let tool_choice: JSONValue?
    let parallel_tool_calls: Bool?
    let text: TextOptions?
    let max_output_tokens: Int?
    let temperature: Double?
    let top_p: Double?
    let user: String?
    let metadata: JSONValue?
    let stream: Bool?
    let store: Bool?
    let previous_response_id: String?
    let background: Bool?
    let reasoning: JSONValue?
    let include: [String]?
    let truncation: String?
    let conversation: JSONValue?
    let prompt: JSONValue?
    let top_logprobs: Int?
    let service_tier: String?
    let max_tool_calls: Int?
}

extension ResponsesRequest {
    /// Whether the answer is to be stored: OpenAI's default, unless `store` is false.
    var storesAnswer: Bool { store ?? true }

    /// The request's own input as items: a string is one user message.
    var inputItems: [Item] {
        switch input {
        case .text(let text): [Item(type: "message", role: "user", content: .text(text), call_id: nil, name: nil, arguments: nil, output: nil)]
        case .list(let items): items
        }
    }

    /// The call for the providers: `history` (a stored response's conversation) then `input`.
    /// The stored response's `instructions` are not carried over: only this request's count.
    func providerRequest(continuing history: [Item] = []) throws(ModelgateError) -> ProviderRequest {
        try refuseUnsupported()
        var system = instructions.map { [$0] } ?? []
        var messages: [ChatMessage] = []
        for (position, item) in (history + inputItems).enumerated() {
            let index: Int? = position < history.count ? nil : position - history.count
            let field = index.map { "input.\($0)" } ?? "previous_response_id"
            switch item.type ?? (item.role != nil ? "message" : "") {
            case "message":
                switch item.role {
                case "system", "developer": system.append(try Self.text(of: item, field: field))
                case "user": messages.append(ChatMessage(role: .user, parts: try Self.parts(of: item, field: field), sourceIndex: index))
                case "assistant":
                    let text = try Self.text(of: item, field: field)
                    messages.append(ChatMessage(role: .assistant, parts: text.isEmpty ? [] : [.text(text)], sourceIndex: index))
                default: throw .invalidBody(field: field + ".role", reason: "must be user, assistant, system or developer")
                }
            case "function_call":
                guard let id = item.call_id, let name = item.name else { throw .invalidBody(field: field, reason: "a function_call needs call_id and name") }
                let call = ToolCall(id: id, name: name, arguments: item.arguments ?? "{}")
                if let last = messages.last, last.role == .assistant {
                    messages[messages.count - 1].toolCalls.append(call)
                } else {
                    messages.append(ChatMessage(role: .assistant, parts: [], toolCalls: [call], sourceIndex: index))
                }
            case "function_call_output":
                guard let id = item.call_id else { throw .invalidBody(field: field + ".call_id", reason: "is required") }
                messages.append(ChatMessage(role: .tool, parts: [.text(item.output ?? "")], toolCallID: id, sourceIndex: index))
            default:
                throw .unsupportedParameter(field: field, reason: "\(item.type ?? "untyped") items are not supported; send messages, function_call and function_call_output")
            }
        }
        return ProviderRequest(
            providerModelID: "", system: system.isEmpty ? nil : system.joined(separator: "\n\n"), messages: messages, endUserID: "",
            options: try generationOptions(), tools: try definitions(), toolChoice: try chosenTool(), parallelToolCalls: parallel_tool_calls,
            responseFormat: try outputFormat())
    }

    private func refuseUnsupported() throws(ModelgateError) {
        let refused: [(String, Bool, String)] = [
            ("background", background == true, "background responses are not supported"),
            ("reasoning", reasoning != nil && reasoning != .null, "reasoning settings are not passed to providers"),
            // Replies carry no reasoning items, so their encrypted content (which Codex asks for) is there vacuously.
            ("include", !(include ?? []).allSatisfy { $0 == "reasoning.encrypted_content" }, "no extra output can be included"),
            ("truncation", truncation != nil && truncation != "disabled", "only disabled truncation is supported"),
            ("conversation", conversation != nil && conversation != .null, "conversations are not stored"),
            ("text.verbosity", text?.verbosity != nil && text?.verbosity != "medium", "verbosity is not passed to providers"),
            ("prompt", prompt != nil && prompt != .null, "prompt templates are OpenAI's own; send the instructions and input"),
            ("top_logprobs", (top_logprobs ?? 0) > 0, "log probabilities are not passed to providers"),
            ("service_tier", service_tier.map { !["auto", "default"].contains($0) } ?? false, "only the default service tier is offered"),
            ("max_tool_calls", max_tool_calls != nil, "a cap on built-in tool calls has nothing to cap: built-in tools are refused"),
        ]
        if let (field, _, reason) = refused.first(where: { $0.1 }) { throw .unsupportedParameter(field: field, reason: reason) }
    }

    private func generationOptions() throws(ModelgateError) -> GenerationOptions {
        let maxOutput = max_output_tokens ?? 1024
        guard (1...GenerationOptions.maxOutputTokensAllowed).contains(maxOutput) else {
            throw .invalidBody(field: "max_output_tokens", reason: "must be 1 to \(GenerationOptions.maxOutputTokensAllowed)")
        }
        if let temperature, !(0...2).contains(temperature) { throw .invalidBody(field: "temperature", reason: "must be between 0 and 2") }
        if let top_p, !(0...1).contains(top_p) { throw .invalidBody(field: "top_p", reason: "must be between 0 and 1") }
        return GenerationOptions(maxOutputTokens: maxOutput, temperature: temperature, topP: top_p)
    }

    private func definitions() throws(ModelgateError) -> [ToolDefinition] {
        let nested = (tools ?? []).map { tool in
            CompletionRequest.Tool(type: tool.type, function: tool.name.map {
                CompletionRequest.Tool.Function(name: $0, description: tool.description, parameters: tool.parameters, strict: tool.strict)
            })
        }
        return try CompletionRequest.definitions(of: nested)
    }

    private func chosenTool() throws(ModelgateError) -> ToolChoice? {
        switch tool_choice {
        case nil, .null?: return nil
        case .string("auto")?: return .auto
        case .string("none")?: return .noCalls
        case .string("required")?: return .required
        case .object(let choice)? where choice["type"] == .string("function"):
            guard case .string(let name)? = choice["name"], tools?.contains(where: { $0.name == name }) == true else {
                throw .invalidBody(field: "tool_choice.name", reason: "must name one of the function tools")
            }
            return .function(name)
        default: throw .unsupportedParameter(field: "tool_choice", reason: "must be auto, none, required or {type: function, name}")
        }
    }

    private func outputFormat() throws(ModelgateError) -> ResponseFormat? {
        guard let format = text?.format else { return nil }
        switch format.type {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            guard let schema = format.schema, case .object = schema else {
                throw .invalidBody(field: "text.format.schema", reason: "is required and must be a JSON Schema object")
            }
            return .jsonSchema(name: format.name ?? "response", schema: schema, strict: format.strict)
        default: throw .invalidBody(field: "text.format.type", reason: "must be text, json_object or json_schema")
        }
    }

    private static func text(of item: Item, field: String) throws(ModelgateError) -> String {
        switch item.content {
        case nil: return ""
        case .text(let text)?: return text
        case .list(let parts)?:
            return try parts.enumerated().map { (number, part) throws(ModelgateError) -> String in
                switch part.type {
                case "input_text", "output_text", "text": return part.text ?? ""
                case "refusal": return part.refusal ?? ""
                default: throw .invalidField(field: "\(field).content.\(number)", reason: "a \(item.role ?? "") message takes text parts only")
                }
            }.joined()
        }
    }

    private static func parts(of item: Item, field: String) throws(ModelgateError) -> [ContentPart] {
        switch item.content {
        case nil: return []
        case .text(let text)?: return [.text(text)]
        case .list(let parts)?:
            return try parts.enumerated().map { (number, part) throws(ModelgateError) -> ContentPart in
                let field = "\(field).content.\(number)"
                switch part.type {
                case "input_text": return .text(part.text ?? "")
                case "input_image":
                    guard let url = part.image_url else { throw .invalidBody(field: field + ".image_url", reason: "is required (file_id is not supported)") }
                    return .image(try CompletionRequest.image(url, detail: part.detail, field: field + ".image_url"))
                default: throw .invalidField(field: field, reason: "\(part.type) parts are not supported")
                }
            }
        }
    }
}
