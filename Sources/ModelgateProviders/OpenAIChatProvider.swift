import AsyncHTTPClient
import Foundation
import ModelgateCore
import NIOHTTP1

/// OpenAI Chat Completions, also spoken by Together AI: `POST {base}/chat/completions`. Every
/// request feature passes through as the client sent it.
struct OpenAIChatProvider: ChatProvider {
    let http: StreamingHTTP
    let baseURL: String
    let apiKey: String

    func check(_ request: ProviderRequest) throws(UnsupportedFeature) {}

    func stream(_ request: ProviderRequest) -> ProviderStream {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        headers.add(name: "Accept", value: "text/event-stream")
        return http.stream(url: baseURL + "/chat/completions", headers: headers, body: ProviderJSON.encode(Self.body(request)),
                           translator: OpenAIStreamTranslator.self, errors: EnvelopeErrors.self)
    }

    static func body(_ request: ProviderRequest) -> [String: Any] {
        var messages: [[String: Any]] = []
        if let system = request.system { messages.append(["role": "system", "content": system]) }
        messages += request.messages.map(message)
        var body: [String: Any] = [
            "model": request.providerModelID, "messages": messages, "stream": true,
            "stream_options": ["include_usage": true], "max_tokens": request.options.maxOutputTokens, "user": request.endUserID,
        ]
        let options = request.options
        body["temperature"] = options.temperature
        body["top_p"] = options.topP
        if !options.stop.isEmpty { body["stop"] = options.stop }
        body["seed"] = options.seed
        body["presence_penalty"] = options.presencePenalty
        body["frequency_penalty"] = options.frequencyPenalty
        if !request.tools.isEmpty {
            body["tools"] = request.tools.map { tool -> [String: Any] in
                var function: [String: Any] = ["name": tool.name]
                function["description"] = tool.description
                function["parameters"] = tool.parameters?.foundationObject
                function["strict"] = tool.strict
                return ["type": "function", "function": function]
            }
        }
        switch request.toolChoice {
        case .auto: body["tool_choice"] = "auto"
        case .noCalls: body["tool_choice"] = "none"
        case .required: body["tool_choice"] = "required"
        case .function(let name): body["tool_choice"] = ["type": "function", "function": ["name": name]]
        case nil: break
        }
        body["parallel_tool_calls"] = request.parallelToolCalls
        switch request.responseFormat {
        case .text: body["response_format"] = ["type": "text"]
        case .jsonObject: body["response_format"] = ["type": "json_object"]
        case .jsonSchema(let name, let schema, let strict):
            var format: [String: Any] = ["name": name, "schema": schema.foundationObject]
            format["strict"] = strict
            body["response_format"] = ["type": "json_schema", "json_schema": format]
        case nil: break
        }
        return body
    }

    private static func message(_ message: ChatMessage) -> [String: Any] {
        var encoded: [String: Any] = ["role": message.role.rawValue]
        switch message.role {
        case .user:
            let textOnly = message.parts.allSatisfy { if case .text = $0 { true } else { false } }
            encoded["content"] = textOnly ? message.text as Any : message.parts.compactMap { part -> [String: Any]? in
                switch part {
                case .text(let text): return ["type": "text", "text": text]
                case .image(let image):
                    var url: [String: Any] = ["url": image.url]
                    url["detail"] = image.detail
                    return ["type": "image_url", "image_url": url]
                // Refused before it gets here (`ProviderRouter.check`): thinking is Anthropic's.
                case .thinking: return nil
                }
            }
        case .assistant:
            encoded["content"] = message.text.isEmpty && !message.toolCalls.isEmpty ? NSNull() : message.text
            if !message.toolCalls.isEmpty {
                encoded["tool_calls"] = message.toolCalls.map {
                    ["id": $0.id, "type": "function", "function": ["name": $0.name, "arguments": $0.arguments]] as [String: Any]
                }
            }
        case .tool:
            encoded["content"] = message.text
            encoded["tool_call_id"] = message.toolCallID
        }
        return encoded
    }
}

struct OpenAIStreamTranslator: StreamTranslator {
    private var finishReason: FinishReason?
    private var usage = TokenUsage()

    mutating func translate(_ event: ServerSentEvent) throws -> [ProviderEvent] {
        if event.data.hasPrefix("[DONE]") { return [] }
        let chunk = try ProviderWire.decode(OpenAIChunk.self, event.data)
        if let error = chunk.error { throw ProviderError.unavailable(reason: "stream error \(error.kind)") }
        if let counts = chunk.usage {
            usage = TokenUsage(
                inputTokens: counts.promptTokens ?? 0, outputTokens: counts.completionTokens ?? 0,
                cachedInputTokens: counts.promptTokensDetails?.cachedTokens ?? 0,
                reasoningTokens: counts.completionTokensDetails?.reasoningTokens ?? 0)
        }
        var events: [ProviderEvent] = []
        for choice in chunk.choices ?? [] {
            if let text = choice.delta?.content, !text.isEmpty { events.append(.delta(text)) }
            for call in choice.delta?.toolCalls ?? [] {
                guard let index = call.index else { throw ProviderError.failed(status: 200, reason: "tool call without index") }
                events.append(.toolCall(ToolCallDelta(index: index, id: call.id, name: call.function?.name, arguments: call.function?.arguments ?? "")))
            }
            if let reason = choice.finishReason { finishReason = Self.finishReason(reason) }
        }
        return events
    }

    mutating func end() throws -> [ProviderEvent] {
        guard let finishReason else { throw ProviderError.unavailable(reason: "stream ended before finish") }
        return [.finish(reason: finishReason, usage: usage)]
    }

    static func finishReason(_ reason: String) -> FinishReason {
        switch reason {
        case "length": .length
        case "tool_calls", "function_call": .toolCalls
        case "content_filter": .contentFilter
        default: .stop
        }
    }
}
