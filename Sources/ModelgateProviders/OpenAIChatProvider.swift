import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// OpenAI Chat Completions, also spoken by Together AI: `POST {base}/chat/completions`.
struct OpenAIChatProvider: ChatProvider {
    let http: StreamingHTTP
    let baseURL: String
    let apiKey: String

    func stream(_ request: ProviderRequest) -> ProviderStream {
        var messages: [[String: Any]] = []
        if let system = request.system { messages.append(["role": "system", "content": system]) }
        messages += request.turns.map { ["role": $0.role.rawValue, "content": $0.text] }
        let body: [String: Any] = [
            "model": request.providerModelID, "messages": messages, "stream": true,
            "stream_options": ["include_usage": true], "max_tokens": request.maxOutputTokens, "user": request.endUserID,
        ]
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        headers.add(name: "Accept", value: "text/event-stream")
        return http.stream(url: baseURL + "/chat/completions", headers: headers, body: ProviderJSON.encode(body),
                           translator: OpenAIStreamTranslator.self, errors: EnvelopeErrors.self)
    }
}

struct OpenAIStreamTranslator: StreamTranslator {
    private var finishReason: String?
    private var usage = TokenUsage()
    private var done = false

    mutating func translate(_ event: ServerSentEvent) throws -> [ProviderEvent] {
        if event.data.hasPrefix("[DONE]") {
            done = true
            return []
        }
        guard let chunk = ProviderJSON.object(event.data) else { throw ProviderError.failed(status: 200, reason: "malformed chunk") }
        if let error = chunk["error"] as? [String: Any] {
            throw ProviderError.unavailable(reason: "stream error \(error["type"] ?? error["code"] ?? "")")
        }
        if let counts = chunk["usage"] as? [String: Any] {
            usage = TokenUsage(inputTokens: counts["prompt_tokens"] as? Int ?? 0, outputTokens: counts["completion_tokens"] as? Int ?? 0)
        }
        var events: [ProviderEvent] = []
        for choice in chunk["choices"] as? [[String: Any]] ?? [] {
            if let text = (choice["delta"] as? [String: Any])?["content"] as? String, !text.isEmpty { events.append(.delta(text)) }
            if let reason = choice["finish_reason"] as? String { finishReason = reason }
        }
        return events
    }

    mutating func end() throws -> [ProviderEvent] {
        guard let finishReason else { throw ProviderError.unavailable(reason: "stream ended before finish") }
        return [.finish(reason: finishReason, usage: usage)]
    }
}
