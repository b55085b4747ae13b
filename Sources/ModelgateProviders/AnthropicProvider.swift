import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// Anthropic Messages: `POST {base}/v1/messages`, `x-api-key` with version 2023-06-01.
struct AnthropicProvider: ChatProvider {
    let http: StreamingHTTP
    let baseURL: String
    let apiKey: String

    func stream(_ request: ProviderRequest) -> ProviderStream {
        var body: [String: Any] = [
            "model": request.providerModelID, "max_tokens": request.maxOutputTokens, "stream": true,
            "messages": request.turns.map { ["role": $0.role.rawValue, "content": $0.text] },
            // Anthropic rejects any metadata key but user_id.
            "metadata": ["user_id": request.endUserID],
        ]
        if let system = request.system { body["system"] = system }
        var headers = HTTPHeaders()
        headers.add(name: "x-api-key", value: apiKey)
        headers.add(name: "anthropic-version", value: "2023-06-01")
        headers.add(name: "Accept", value: "text/event-stream")
        return http.stream(url: baseURL + "/v1/messages", headers: headers, body: ProviderJSON.encode(body),
                           translator: AnthropicStreamTranslator.self, errors: EnvelopeErrors.self)
    }
}

struct AnthropicStreamTranslator: StreamTranslator {
    private var usage = TokenUsage()
    private var stopReason: String?
    private var stopped = false

    mutating func translate(_ event: ServerSentEvent) throws -> [ProviderEvent] {
        guard let name = event.event, name != "ping" else { return [] }
        guard let data = ProviderJSON.object(event.data) else { throw ProviderError.failed(status: 200, reason: "malformed event") }
        switch name {
        case "message_start":
            let counts = ((data["message"] as? [String: Any])?["usage"] as? [String: Any]) ?? [:]
            usage = TokenUsage(inputTokens: counts["input_tokens"] as? Int ?? 0, outputTokens: counts["output_tokens"] as? Int ?? 0)
        case "content_block_delta":
            if let text = (data["delta"] as? [String: Any])?["text"] as? String, !text.isEmpty { return [.delta(text)] }
        case "message_delta":
            stopReason = ((data["delta"] as? [String: Any])?["stop_reason"] as? String) ?? stopReason
            // Counts in message_delta are cumulative totals: overwrite, never add.
            if let counts = data["usage"] as? [String: Any] {
                if let output = counts["output_tokens"] as? Int { usage.outputTokens = output }
                if let input = counts["input_tokens"] as? Int { usage.inputTokens = input }
            }
        case "message_stop":
            stopped = true
        case "error":
            let kind = (data["error"] as? [String: Any])?["type"] as? String ?? "error"
            throw kind == "overloaded_error" || kind == "api_error"
                ? ProviderError.unavailable(reason: "stream error \(kind)") : ProviderError.failed(status: 200, reason: kind)
        default:
            break
        }
        return []
    }

    mutating func end() throws -> [ProviderEvent] {
        guard stopped else { throw ProviderError.unavailable(reason: "stream ended before message_stop") }
        return [.finish(reason: stopReason ?? "end_turn", usage: usage)]
    }
}
