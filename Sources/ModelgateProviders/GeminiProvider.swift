import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// Google Gemini: `POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`.
struct GeminiProvider: ChatProvider {
    let http: StreamingHTTP
    let baseURL: String
    let apiKey: String

    func stream(_ request: ProviderRequest) -> ProviderStream {
        var body: [String: Any] = [
            "contents": request.turns.map { ["role": $0.role == .user ? "user" : "model", "parts": [["text": $0.text]]] },
            "generationConfig": ["maxOutputTokens": request.maxOutputTokens],
        ]
        if let system = request.system { body["systemInstruction"] = ["role": "user", "parts": [["text": system]]] }
        var headers = HTTPHeaders()
        headers.add(name: "x-goog-api-key", value: apiKey)
        let model = request.providerModelID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? request.providerModelID
        return http.stream(url: "\(baseURL)/v1beta/models/\(model):streamGenerateContent?alt=sse", headers: headers,
                           body: ProviderJSON.encode(body), translator: GeminiStreamTranslator.self, errors: EnvelopeErrors.self)
    }
}

struct GeminiStreamTranslator: StreamTranslator {
    private var usage = TokenUsage()
    private var finishReason: String?

    mutating func translate(_ event: ServerSentEvent) throws -> [ProviderEvent] {
        guard let chunk = ProviderJSON.object(event.data) else { throw ProviderError.failed(status: 200, reason: "malformed chunk") }
        if let error = chunk["error"] as? [String: Any] {
            let code = error["code"] as? Int ?? 500
            throw StreamingHTTP.classify(status: code, headers: [:], reason: error["status"] as? String ?? "")
        }
        if let counts = chunk["usageMetadata"] as? [String: Any] {
            usage = TokenUsage(inputTokens: counts["promptTokenCount"] as? Int ?? usage.inputTokens,
                               outputTokens: counts["candidatesTokenCount"] as? Int ?? usage.outputTokens)
        }
        var events: [ProviderEvent] = []
        for candidate in chunk["candidates"] as? [[String: Any]] ?? [] {
            let parts = (candidate["content"] as? [String: Any])?["parts"] as? [[String: Any]] ?? []
            for part in parts { if let text = part["text"] as? String, !text.isEmpty { events.append(.delta(text)) } }
            if let reason = candidate["finishReason"] as? String { finishReason = reason }
        }
        return events
    }

    mutating func end() throws -> [ProviderEvent] {
        // Gemini has no end marker: a reply is complete when its last chunk carried a finishReason.
        guard let finishReason else { throw ProviderError.unavailable(reason: "stream ended before finishReason") }
        return [.finish(reason: finishReason, usage: usage)]
    }
}
