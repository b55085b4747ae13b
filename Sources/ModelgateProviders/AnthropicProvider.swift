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

    /// What `count_tokens` takes of a message's body (it refuses `max_tokens`, `stream`, `metadata` and sampling).
    static let countedFields: Set<String> = ["model", "messages", "system", "tools", "tool_choice", "thinking", "cache_control"]

    func stream(_ request: ProviderRequest) -> ProviderStream {
        streaming(request) { body in
            http.stream(url: baseURL + "/v1/messages", headers: headers(request, accept: "text/event-stream"), body: body,
                        translator: AnthropicStreamTranslator.self, errors: EnvelopeErrors.self)
        }
    }

    /// Anthropic's own count of the prompt (`POST /v1/messages/count_tokens`), free of charge.
    func countTokens(_ request: ProviderRequest) async throws -> Int? {
        struct Count: Decodable { let inputTokens: Int }
        let body = try Self.body(request).filter { Self.countedFields.contains($0.key) }
        let reply = try await http.post(url: baseURL + "/v1/messages/count_tokens", headers: headers(request, accept: "application/json"),
                                        body: ProviderJSON.encode(body), errors: EnvelopeErrors.self, limit: 64 * 1024)
        return try ProviderWire.decode(Count.self, String(decoding: reply, as: UTF8.self), what: "count").inputTokens
    }

    private func headers(_ request: ProviderRequest, accept: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "x-api-key", value: apiKey)
        headers.add(name: "anthropic-version", value: "2023-06-01")
        headers.add(name: "Accept", value: accept)
        if let beta = request.anthropicBeta { headers.add(name: "anthropic-beta", value: beta) }
        return headers
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
        if let blocks = request.anthropic.systemBlocks {
            body["system"] = blocks.map { block in marked(["type": "text", "text": block.text], block.cache) }
        } else {
            body["system"] = request.system
        }
        body["thinking"] = request.anthropic.thinking?.wire
        body["cache_control"] = request.anthropic.cacheControl?.wire
        body["temperature"] = options.temperature
        body["top_p"] = options.topP
        if !options.stop.isEmpty { body["stop_sequences"] = options.stop }
        if !request.tools.isEmpty {
            body["tools"] = request.tools.enumerated().map { index, tool -> [String: Any] in
                var definition: [String: Any] = [
                    "name": tool.name, "input_schema": tool.parameters?.foundationObject ?? ["type": "object", "properties": [String: Any]()],
                ]
                definition["description"] = tool.description
                definition["strict"] = tool.strict
                return marked(definition, request.anthropic.toolCache[index])
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
        let marks = message.cacheMarks
        switch message.role {
        case .tool:
            return [marked(["type": "tool_result", "tool_use_id": message.toolCallID ?? "", "content": message.text], marks[0])]
        case .user, .assistant:
            var blocks: [[String: Any]] = []
            for (part, content) in message.parts.enumerated() {
                switch content {
                case .text(let text) where !text.isEmpty: blocks.append(marked(["type": "text", "text": text], marks[part]))
                case .text: break
                case .image(let image): blocks.append(marked(try imageBlock(image, field: "messages.\(index).content.\(part)"), marks[part]))
                // Anthropic checks the signature: the block goes back as it came.
                case .thinking(let thinking): blocks.append(marked(thinking.wire, marks[part]))
                }
            }
            for (call, toolCall) in message.toolCalls.enumerated() {
                guard let input = ProviderJSON.object(toolCall.arguments.isEmpty ? "{}" : toolCall.arguments) else {
                    throw UnsupportedFeature(field: "messages.\(index).tool_calls.\(call).function.arguments", provider: .anthropic,
                                             reason: "must be a JSON object for Anthropic's tool_use input")
                }
                blocks.append(marked(["type": "tool_use", "id": toolCall.id, "name": toolCall.name, "input": input], marks[message.parts.count + call]))
            }
            return blocks
        }
    }

    /// `block` with the client's cache mark, if it had one.
    private static func marked(_ block: [String: Any], _ mark: CacheControl?) -> [String: Any] {
        guard let mark else { return block }
        return block.merging(["cache_control": mark.wire]) { $1 }
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
            switch (data.contentBlock?.type, data.index) {
            case ("tool_use"?, let index?):
                let call = toolBlocks.count
                toolBlocks[index] = (call, false)
                return [.toolCall(ToolCallDelta(index: call, id: data.contentBlock?.id ?? "call_\(call)", name: data.contentBlock?.name ?? "", arguments: ""))]
            case ("thinking"?, _):
                let text = data.contentBlock?.thinking ?? ""
                return [.thinking(.start)] + (text.isEmpty ? [] : [.thinking(.text(text))])
            case ("redacted_thinking"?, _): return [.thinking(.redacted(data: data.contentBlock?.data ?? ""))]
            default: return []
            }
        case "content_block_delta":
            switch data.delta?.type {
            case "text_delta": if let text = data.delta?.text, !text.isEmpty { return [.delta(text)] }
            case "thinking_delta": if let text = data.delta?.thinking, !text.isEmpty { return [.thinking(.text(text))] }
            case "signature_delta": if let signature = data.delta?.signature { return [.thinking(.signature(signature))] }
            default: break
            }
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
