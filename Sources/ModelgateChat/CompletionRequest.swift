import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders

/// A request to `POST /v1/chat/completions`, as the OpenAI SDKs send it: every field Modelgate
/// knows is read and either honoured or refused; unknown fields are ignored, as OpenAI's API does.
struct CompletionRequest: Decodable, Sendable {
    struct Message: Decodable, Sendable {
        let role: String
        /// A string, or parts (`text`, `image_url`, and the ones refused: `input_audio`, `file`).
        let content: TextOrList<Part>?
        let tool_calls: [ToolCallValue]?
        let tool_call_id: String?
    }


    struct Part: Decodable, Sendable {
        struct ImageURL: Decodable, Sendable {
            let url: String
            let detail: String?
        }

        let type: String
        let text: String?
        let image_url: ImageURL?
        let refusal: String?
    }

    struct ToolCallValue: Decodable, Sendable {
        struct Function: Decodable, Sendable {
            let name: String
            let arguments: String
        }

        let id: String
        let type: String?
        let function: Function
    }

    struct Tool: Decodable, Sendable {
        struct Function: Decodable, Sendable {
            let name: String
            let description: String?
            let parameters: JSONValue?
            let strict: Bool?
        }

        let type: String
        let function: Function?
    }

    /// `"auto" | "none" | "required" | {"type": "function", "function": {"name": …}}`.
    enum ToolChoiceValue: Decodable, Sendable {
        case mode(String)
        case function(String)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let mode = try? container.decode(String.self) {
                self = .mode(mode)
            } else {
                struct Named: Decodable { struct Function: Decodable { let name: String }; let type: String; let function: Function }
                self = .function(try container.decode(Named.self).function.name)
            }
        }
    }

    struct ResponseFormatValue: Decodable, Sendable {
        struct Schema: Decodable, Sendable {
            let name: String
            let schema: JSONValue?
            let strict: Bool?
        }

        let type: String
        let json_schema: Schema?
    }

    /// `stop`: one string or a list.
    struct Stop: Decodable, Sendable {
        let sequences: [String]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) {
                sequences = [one]
            } else {
                sequences = try container.decode([String].self)
            }
        }
    }

    struct StreamOptions: Decodable, Sendable { let include_usage: Bool? }

    let model: String
    let messages: [Message]
    let stream: Bool?
    let stream_options: StreamOptions?
    let tools: [Tool]?
    let tool_choice: ToolChoiceValue?
    let parallel_tool_calls: Bool?
    let response_format: ResponseFormatValue?
    let max_tokens: Int?
    let max_completion_tokens: Int?
    let temperature: Double?
    let top_p: Double?
    let stop: Stop?
    let seed: Int?
    let presence_penalty: Double?
    let frequency_penalty: Double?
    let user: String?
    let n: Int?
    let logprobs: Bool?
    let logit_bias: [String: Double]?
    let functions: JSONValue?
    let function_call: JSONValue?
    /// OpenRouter's fallback list: the models to try, in order, when the first fails before answering
    /// (within the caller's rights, as the catalog's stand-ins are).
    let models: [String]?
}

extension CompletionRequest {
    /// The request as every provider adapter reads it (model and end user filled in later). Fields
    /// no provider can honour are refused here; values out of OpenAI's ranges are refused as OpenAI would.
    func providerRequest() throws(ModelgateError) -> ProviderRequest {
        try refuseUnsupported()
        var system: [String] = []
        var converted: [ChatMessage] = []
        for (index, message) in messages.enumerated() {
            switch message.role {
            case "system", "developer": system.append(try Self.text(of: message, at: index))
            case "user": converted.append(ChatMessage(role: .user, parts: try Self.parts(of: message, at: index), sourceIndex: index))
            case "assistant":
                let calls = (message.tool_calls ?? []).map { ToolCall(id: $0.id, name: $0.function.name, arguments: $0.function.arguments) }
                converted.append(ChatMessage(role: .assistant, parts: [.text(try Self.text(of: message, at: index))].filter { $0 != .text("") },
                                             toolCalls: calls, sourceIndex: index))
            case "tool":
                guard let id = message.tool_call_id, !id.isEmpty else {
                    throw .invalidBody(field: "messages.\(index).tool_call_id", reason: "is required on a tool message")
                }
                converted.append(ChatMessage(role: .tool, parts: [.text(try Self.text(of: message, at: index))], toolCallID: id, sourceIndex: index))
            default:
                throw .invalidBody(field: "messages.\(index).role", reason: "must be system, developer, user, assistant or tool")
            }
        }
        return ProviderRequest(
            providerModelID: "", system: system.isEmpty ? nil : system.joined(separator: "\n\n"), messages: converted, endUserID: "",
            options: try generationOptions(), tools: try Self.definitions(of: tools), toolChoice: try chosenTool(), parallelToolCalls: parallel_tool_calls,
            responseFormat: try outputFormat())
    }

    private func refuseUnsupported() throws(ModelgateError) {
        if let n, n != 1 { throw .unsupportedParameter(field: "n", reason: "Modelgate returns one choice per request; send n = 1 or leave it out") }
        if logprobs == true { throw .unsupportedParameter(field: "logprobs", reason: "log probabilities are not passed through") }
        if let logit_bias, !logit_bias.isEmpty { throw .unsupportedParameter(field: "logit_bias", reason: "logit bias is not passed through") }
        if functions != nil { throw .unsupportedParameter(field: "functions", reason: "the legacy functions API is not supported; send tools") }
        if function_call != nil { throw .unsupportedParameter(field: "function_call", reason: "the legacy functions API is not supported; send tool_choice") }
    }

    private func generationOptions() throws(ModelgateError) -> GenerationOptions {
        let maxOutput = max_completion_tokens ?? max_tokens ?? 1024
        guard (1...GenerationOptions.maxOutputTokensAllowed).contains(maxOutput) else {
            throw .invalidBody(field: max_completion_tokens != nil ? "max_completion_tokens" : "max_tokens",
                               reason: "must be 1 to \(GenerationOptions.maxOutputTokensAllowed)")
        }
        if let temperature, !(0...2).contains(temperature) { throw .invalidBody(field: "temperature", reason: "must be between 0 and 2") }
        if let top_p, !(0...1).contains(top_p) { throw .invalidBody(field: "top_p", reason: "must be between 0 and 1") }
        for (field, value) in [("presence_penalty", presence_penalty), ("frequency_penalty", frequency_penalty)] {
            if let value, !(-2...2).contains(value) { throw .invalidBody(field: field, reason: "must be between -2 and 2") }
        }
        let stops = stop?.sequences ?? []
        guard stops.count <= 4 else { throw .invalidBody(field: "stop", reason: "takes at most 4 sequences") }
        return GenerationOptions(maxOutputTokens: maxOutput, temperature: temperature, topP: top_p, stop: stops, seed: seed,
                                 presencePenalty: presence_penalty, frequencyPenalty: frequency_penalty)
    }

    /// Function tools as providers read them (shared with `/api/chat`, which takes the same shape).
    static func definitions(of tools: [Tool]?) throws(ModelgateError) -> [ToolDefinition] {
        try (tools ?? []).enumerated().map { (index, tool) throws(ModelgateError) -> ToolDefinition in
            guard tool.type == "function", let function = tool.function else {
                throw .unsupportedParameter(field: "tools.\(index).type", reason: "only function tools are supported")
            }
            guard !function.name.isEmpty, function.name.count <= 64,
                  function.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                throw .invalidBody(field: "tools.\(index).function.name", reason: "must be 1–64 of a-z, A-Z, 0-9, _ and -")
            }
            if let parameters = function.parameters, case .object = parameters {} else if function.parameters != nil {
                throw .invalidBody(field: "tools.\(index).function.parameters", reason: "must be a JSON Schema object")
            }
            return ToolDefinition(name: function.name, description: function.description, parameters: function.parameters, strict: function.strict)
        }
    }

    private func chosenTool() throws(ModelgateError) -> ToolChoice? {
        switch tool_choice {
        case nil: return nil
        case .mode("auto"): return .auto
        case .mode("none"): return .noCalls
        case .mode("required"): return .required
        case .mode: throw .invalidBody(field: "tool_choice", reason: "must be auto, none, required or a named function")
        case .function(let name):
            guard tools?.contains(where: { $0.function?.name == name }) == true else {
                throw .invalidBody(field: "tool_choice", reason: "names '\(name)', which is not one of the tools")
            }
            return .function(name)
        }
    }

    private func outputFormat() throws(ModelgateError) -> ResponseFormat? {
        guard let response_format else { return nil }
        switch response_format.type {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            guard let format = response_format.json_schema, let schema = format.schema, case .object = schema else {
                throw .invalidBody(field: "response_format.json_schema.schema", reason: "is required and must be a JSON Schema object")
            }
            return .jsonSchema(name: format.name, schema: schema, strict: format.strict)
        default:
            throw .invalidBody(field: "response_format.type", reason: "must be text, json_object or json_schema")
        }
    }

    /// An image part's URL as a provider input: an https URL or a base64 data URL.
    static func image(_ url: String, detail: String? = nil, field: String) throws(ModelgateError) -> ImageInput {
        guard let image = ImageInput(url: url, detail: detail) else {
            throw .invalidBody(field: field, reason: "must be an https URL or a data:<type>;base64, URL")
        }
        return image
    }

    /// A message's text; system, developer, assistant and tool content may only be text (or refusal) parts.
    private static func text(of message: Message, at index: Int) throws(ModelgateError) -> String {
        switch message.content {
        case nil: return ""
        case .text(let text): return text
        case .list(let parts):
            return try parts.enumerated().map { (number, part) throws(ModelgateError) -> String in
                switch part.type {
                case "text": return part.text ?? ""
                case "refusal": return part.refusal ?? ""
                default: throw .invalidField(field: "messages.\(index).content.\(number)", reason: "a \(message.role) message takes text parts only")
                }
            }.joined()
        }
    }

    private static func parts(of message: Message, at index: Int) throws(ModelgateError) -> [ContentPart] {
        switch message.content {
        case nil: return []
        case .text(let text): return [.text(text)]
        case .list(let parts):
            return try parts.enumerated().map { (number, part) throws(ModelgateError) -> ContentPart in
                let field = "messages.\(index).content.\(number)"
                switch part.type {
                case "text": return .text(part.text ?? "")
                case "image_url":
                    guard let url = part.image_url else { throw .invalidBody(field: field, reason: "image_url is required") }
                    return .image(try Self.image(url.url, detail: url.detail, field: field + ".image_url.url"))
                case "input_audio", "file":
                    throw .invalidField(field: field, reason: "\(part.type) parts are not supported by any provider Modelgate serves")
                default:
                    throw .invalidField(field: field, reason: "unknown content part type '\(part.type)'")
                }
            }
        }
    }
}
