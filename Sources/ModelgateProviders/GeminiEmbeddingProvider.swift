import Foundation
import ModelgateCore
import NIOHTTP1

/// Gemini's `POST {base}/v1beta/models/{model}:batchEmbedContents`, as the google-genai SDK calls it:
/// `dimensions` is `outputDimensionality`. Gemini takes at most 100 requests a batch, so longer inputs
/// go in several batches whose vectors are put back in input order. Its reply counts no tokens.
struct GeminiEmbeddingProvider: EmbeddingProvider {
    let http: StreamingHTTP
    let baseURL: String
    let apiKey: String

    static let batchSize = 100

    func check(embedding request: EmbeddingRequest) throws(UnsupportedFeature) {
        _ = try Self.texts(of: request)
    }

    static func texts(of request: EmbeddingRequest) throws(UnsupportedFeature) -> [String] {
        switch request.input {
        case .texts(let texts): texts
        case .tokens: throw UnsupportedFeature(field: "input", provider: .google, reason: "Gemini takes text inputs, not token arrays")
        }
    }

    func embed(_ request: EmbeddingRequest, retry: RetryPolicy) async throws -> Embeddings {
        let texts = try Self.texts(of: request)
        var headers = HTTPHeaders()
        headers.add(name: "x-goog-api-key", value: apiKey)
        let model = request.providerModelID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? request.providerModelID
        var vectors: [[Float]] = []
        for start in stride(from: 0, to: texts.count, by: Self.batchSize) {
            let batch = texts.dropFirst(start).prefix(Self.batchSize)
            let body = Batch(requests: batch.map { text in
                Batch.Request(model: "models/\(request.providerModelID)", content: .init(parts: [.init(text: text)]),
                              outputDimensionality: request.dimensions)
            })
            let encoded = try JSONEncoder().encode(body)
            // Each batch is retried alone: the batches already answered are not asked (and billed) again.
            let reply = try await retry.run {
                try await http.post(url: "\(baseURL)/v1beta/models/\(model):batchEmbedContents", headers: headers,
                                    body: encoded, errors: EnvelopeErrors.self, limit: OpenAIEmbeddingProvider.replyLimit)
            }
            let answered = try ProviderWire.decode(Reply.self, reply, snakeCase: false, what: "embeddings reply").embeddings.map(\.values)
            guard answered.count == batch.count else {
                throw ProviderError.failed(status: 200, reason: "\(answered.count) embeddings for a batch of \(batch.count)")
            }
            vectors += answered
        }
        return try Embeddings.checked(vectors, promptTokens: nil, for: request)
    }

    struct Batch: Encodable {
        struct Request: Encodable {
            struct Content: Encodable {
                struct Part: Encodable { let text: String }
                let parts: [Part]
            }
            let model: String
            let content: Content
            let outputDimensionality: Int?
        }
        let requests: [Request]
    }

    struct Reply: Decodable {
        struct Embedding: Decodable { let values: [Float] }
        let embeddings: [Embedding]
    }
}
