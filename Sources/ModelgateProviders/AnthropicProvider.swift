import AsyncHTTPClient
import Foundation
import ModelgateCore
import NIOHTTP1

/// Anthropic Messages: `POST {base}/v1/messages`, `x-api-key` with version 2023-06-01. OpenAI's
/// request is translated (`../shared/reference/wire-formats-tools-images.md` §1, §5); what Messages
/// cannot say is refused with the field named.
struct AnthropicProvider: ChatProvider, TranslatedRequest {
    let http: StreamingHTTP
    let baseURL: String
    let apiKey: String

    /// The image types Messages accepts inline.
    static let imageTypes: Set<String> = ["image/jpeg", "image/png", "image/gif", "image/webp"]

    func stream(_ request: ProviderRequest) -> ProviderStream {
        streaming(request) { body in
            var headers = HTTPHeaders()
            headers.add(name: "x-api-key", value: apiKey)
            headers.add(name: "anthropic-version", value: "2023-06-01")
            headers.add(name: "Accept", value: "text/event-stream")
            if let beta = request.anthropicBeta { headers.add(name: "anthropic-beta", value: beta) }
            return http.stream(url: baseURL + "/v1/messages", headers: headers, body: body,
                               translator: AnthropicStreamTranslator.self, errors: EnvelopeErrors.self)
        }
    }

    static func body(_ request: ProviderRequest) throws(UnsupportedFeature) -> [String: Any] {
        func refuse(_ field: String, _ reason: String) -> UnsupportedFeature { UnsupportedFeature(field: field, provider: .anthropic, reason: reason) }
        let options = request.options
        if options.seed != nil { throw refuse("seed", "Anthropic has no seed") }
        if options.presencePenalty != nil { throw refuse("presence_penalty", "Anthropic has no presence penalty") }
        if options.frequencyPenalty != nil { throw refuse("frequency_penalty", "Anthropic has no frequency penalty") }
        if let temperature = options.temperature, !(0...1).contains(temperature) {
            throw refuse("temperature", "Anthropic accepts 0 to 1")
        }
        if options.temperature != nil, options.topP != nil { throw refuse("top_p", "Anthropic takes temperature or top_p, not both") }
        var body: [String: Any] = [
            "model": request.providerModelID, "max_tokens": options.maxOutputTokens, "stream": true,
            "messages": try messages(request.messages),
            // Anthropic rejects any metadata key but user_id.
            "metadata": ["user_id": request.endUserID],
        ]
        body["system"] = request.system
        body["temperature"] = options.temperature
        body["top_p"] = options.topP
        if !options.stop.isEmpty { body["stop_sequences"] = options.stop }
        if !request.tools.isEmpty {
            body["tools"] = request.tools.map { tool -> [String: Any] in
                var definition: [String: Any] = [
                    "name": tool.name, "input_schema": tool.parameters?.foundationObject ?? ["type": "object", "properties": [String: Any]()],
                ]
                definition["description"] = tool.description
                definition["strict"] = tool.strict
                return definition
            }
        }
        var choice: [String: Any]? = switch request.toolChoice {
        case .auto: ["type": "auto"]
        case .noCalls: ["type": "none"]
        case .required: ["type": "any"]
        case .function(let name): ["type": "tool", "name": name]
        case nil: nil
        }
        if request.parallelToolCalls == false {
            if request.toolChoice == .noCalls { throw refuse("parallel_tool_calls", "cannot be set with tool_choice none on Anthropic") }
            choice = (choice ?? ["type": "auto"]).merging(["disable_parallel_tool_use": true]) { $1 }
        }
        body["tool_choice"] = choice
        switch request.responseFormat {
        case .jsonObject: throw refuse("response_format", "Anthropic has no JSON mode without a schema; send type json_schema")
        case .jsonSchema(_, let schema, _): body["output_config"] = ["format": ["type": "json_schema", "schema": schema.foundationObject]]
        case .text, nil: break
        }
        return body
    }

    /// OpenAI messages as Anthropic turns: tool results become `tool_result` blocks of a user turn,
    /// and consecutive turns of one role are merged (Anthropic alternates roles).
    private static func messages(_ messages: [ChatMessage]) throws(UnsupportedFeature) -> [[String: Any]] {
        var turns: [(role: String, blocks: [[String: Any]])] = []
        for (position, message) in messages.enumerated() {
            let index = message.sourceIndex ?? position
            let role = message.role == .assistant ? "assistant" : "user"
            let blocks = try blocks(of: message, at: index)
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].blocks += blocks
            } else {
                turns.append((role, blocks))
            }
        }
        return turns.map { ["role": $0.role, "content": $0.blocks] }
    }

    private static func blocks(of message: ChatMessage, at index: Int) throws(UnsupportedFeature) -> [[String: Any]] {
        switch message.role {
        case .tool:
            return [["type": "tool_result", "tool_use_id": message.toolCallID ?? "", "content": message.text]]
        case .user, .assistant:
            var blocks: [[String: Any]] = []
            for (part, content) in message.parts.enumerated() {
                switch content {
                case .text(let text) where !text.isEmpty: blocks.append(["type": "text", "text": text])
                case .text: break
                case .image(let image): blocks.append(try imageBlock(image, field: "messages.\(index).content.\(part)"))
                }
            }
            for (call, toolCall) in message.toolCalls.enumerated() {
                guard let input = ProviderJSON.object(toolCall.arguments.isEmpty ? "{}" : toolCall.arguments) else {
                    throw UnsupportedFeature(field: "messages.\(index).tool_calls.\(call).function.arguments", provider: .anthropic,
                                             reason: "must be a JSON object for Anthropic's tool_use input")
                }
                blocks.append(["type": "tool_use", "id": toolCall.id, "name": toolCall.name, "input": input])
            }
            return blocks
        }
    }

    private static func imageBlock(_ image: ImageInput, field: String) throws(UnsupportedFeature) -> [String: Any] {
        switch image.source {
        case .base64(let mediaType, let data):
            guard imageTypes.contains(mediaType) else {
                throw UnsupportedFeature(field: field, provider: .anthropic, reason: "\(mediaType) is not one of image/jpeg, image/png, image/gif, image/webp")
            }
            return ["type": "image", "source": ["type": "base64", "media_type": mediaType, "data": data]]
        case .url(let url):
            return ["type": "image", "source": ["type": "url", "url": url]]
        }
    }
}

struct AnthropicStreamTranslator: StreamTranslator {
    private var usage = TokenUsage()
    private var stopReason: FinishReason = .stop
    private var stopped = false
    /// Anthropic's content block index → the OpenAI tool call index, and whether it had input.
    private var toolBlocks: [Int: (call: Int, hasInput: Bool)] = [:]

    mutating func translate(_ event: ServerSentEvent) throws -> [ProviderEvent] {
        guard let name = event.event, name != "ping" else { return [] }
        let data = try ProviderWire.decode(AnthropicEvent.self, event.data, what: "event")
        switch name {
        case "message_start":
            count(data.message?.usage)
        case "content_block_start":
            guard let block = data.contentBlock, block.type == "tool_use", let index = data.index else { return [] }
            let call = toolBlocks.count
            toolBlocks[index] = (call, false)
            return [.toolCall(ToolCallDelta(index: call, id: block.id ?? "call_\(call)", name: block.name ?? "", arguments: ""))]
        case "content_block_delta":
            if data.delta?.type == "text_delta", let text = data.delta?.text, !text.isEmpty { return [.delta(text)] }
            if let fragment = data.delta?.partialJson, !fragment.isEmpty, let index = data.index, let block = toolBlocks[index] {
                toolBlocks[index] = (block.call, true)
                return [.toolCall(ToolCallDelta(index: block.call, arguments: fragment))]
            }
        case "content_block_stop":
            // A tool call without arguments still needs a JSON object for OpenAI clients.
            if let index = data.index, let block = toolBlocks[index], !block.hasInput {
                return [.toolCall(ToolCallDelta(index: block.call, arguments: "{}"))]
            }
        case "message_delta":
            if let reason = data.delta?.stopReason { stopReason = Self.finishReason(reason) }
            // Counts in message_delta are cumulative totals: overwrite, never add.
            count(data.usage)
        case "message_stop":
            stopped = true
        case "error":
            let kind = data.error?.type ?? "error"
            throw kind == "overloaded_error" || kind == "api_error"
                ? ProviderError.unavailable(reason: "stream error \(kind)") : ProviderError.failed(status: 200, reason: kind)
        default:
            break
        }
        return []
    }

    /// Anthropic's input count excludes cache reads and writes; OpenAI's prompt count includes them.
    private mutating func count(_ counts: AnthropicEvent.Usage?) {
        guard let counts else { return }
        if let output = counts.outputTokens { usage.outputTokens = output }
        guard let input = counts.inputTokens else { return }
        let read = counts.cacheReadInputTokens ?? 0
        let written = counts.cacheCreationInputTokens ?? 0
        usage.inputTokens = input + read + written
        usage.cachedInputTokens = read
        usage.cacheWriteTokens = written
    }

    mutating func end() throws -> [ProviderEvent] {
        guard stopped else { throw ProviderError.unavailable(reason: "stream ended before message_stop") }
        return [.finish(reason: stopReason, usage: usage)]
    }

    static func finishReason(_ reason: String) -> FinishReason {
        switch reason {
        case "tool_use": .toolCalls
        case "max_tokens", "model_context_window_exceeded": .length
        case "refusal": .contentFilter
        default: .stop
        }
    }
}
