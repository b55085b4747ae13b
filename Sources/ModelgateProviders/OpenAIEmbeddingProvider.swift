import Foundation
import ModelgateCore
import NIOHTTP1

/// OpenAI's embeddings API, also spoken by Together AI: `POST {base}/embeddings`, floats asked for.
/// Together refuses `user` and `dimensions` ("Unrecognized request arguments"), so they are not sent
/// there, and `dimensions` is refused by name instead.
struct OpenAIEmbeddingProvider: EmbeddingProvider {
    let http: StreamingHTTP
    let baseURL: String
    let apiKey: String
    /// `.openai` or `.together`.
    let provider: Provider

    /// The largest reply read: 2,048 vectors of 3,072 floats as decimal text.
    static let replyLimit = 128 << 20

    func check(embedding request: EmbeddingRequest) throws(UnsupportedFeature) {
        func refuse(_ field: String, _ reason: String) -> UnsupportedFeature { UnsupportedFeature(field: field, provider: provider, reason: reason) }
        if provider == .together {
            if request.dimensions != nil { throw refuse("dimensions", "Together's embedding models have a fixed size") }
            if case .tokens = request.input { throw refuse("input", "Together takes text inputs, not token arrays") }
        } else if request.dimensions != nil, !request.providerModelID.hasPrefix("text-embedding-3") {
            throw refuse("dimensions", "only text-embedding-3 models can shorten their vectors")
        }
    }

    func embed(_ request: EmbeddingRequest, retry: RetryPolicy) async throws -> Embeddings {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        let body = Body(model: request.providerModelID, input: Input(request.input), dimensions: request.dimensions,
                        user: provider == .openai ? request.endUserID : nil)
        let encoded = try JSONEncoder().encode(body)
        let reply = try await retry.run {
            try await http.post(url: baseURL + "/embeddings", headers: headers, body: encoded, errors: EnvelopeErrors.self, limit: Self.replyLimit)
        }
        let list = try ProviderWire.decode(List.self, reply, what: "embeddings reply")
        // `index` says which input a vector belongs to: each one exactly once.
        let ordered = list.data.sorted { $0.index < $1.index }
        guard ordered.map(\.index) == Array(ordered.indices) else { throw ProviderError.failed(status: 200, reason: "embedding indexes out of order") }
        return try Embeddings.checked(ordered.map(\.embedding), promptTokens: list.usage?.promptTokens, for: request)
    }

    struct Body: Encodable {
        let model: String
        let input: Input
        let encoding_format = "float"
        let dimensions: Int?
        let user: String?
    }

    enum Input: Encodable {
        case texts([String])
        case tokens([[Int]])

        init(_ input: EmbeddingInput) {
            switch input {
            case .texts(let texts): self = .texts(texts)
            case .tokens(let arrays): self = .tokens(arrays)
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .texts(let texts): try container.encode(texts)
            case .tokens(let arrays): try container.encode(arrays)
            }
        }
    }

    struct List: Decodable {
        struct Item: Decodable {
            let index: Int
            let embedding: [Float]
        }
        struct Usage: Decodable { let promptTokens: Int? }
        let data: [Item]
        let usage: Usage?
    }
}
