import Foundation
import Hummingbird
import NIOCore

/// The vectors and token counts the fake providers answer embedding calls with, so tests can
/// predict them: every value is a sixteenth between -0.5 and 0.5, exact in float32 and in JSON.
public enum FakeEmbeddings {
    public static func vector(_ text: String, dimensions: Int) -> [Float] {
        let seed = text.utf8.reduce(0) { $0 + Int($1) }
        return (0..<dimensions).map { Float((seed + $0) % 17 - 8) / 16 }
    }

    /// What the fake OpenAI counts: a token per word.
    public static func tokens(_ text: String) -> Int { text.split(separator: " ").count }

    /// The size a model's vectors have when the caller asks none.
    static func defaultDimensions(_ model: String, format: WireFormat, together: Bool) -> Int {
        if format == .gemini { return 3_072 }
        if together { return 768 }
        return model == "text-embedding-3-large" ? 3_072 : 1_536
    }
}

/// OpenAI's `POST /v1/embeddings` (Together's too) and Gemini's `:batchEmbedContents` and
/// `:embedContent`, refusing what the real APIs refuse.
extension Responder {
    struct OpenAIRequest: Decodable {
        let model: String
        let input: Input
        let encoding_format: String?
        let dimensions: Int?
        let user: String?
    }

    /// `"text"`, `["text"]`, `[1, 2]` or `[[1, 2]]`, as (text, tokens) pairs; a token array's text is its ids.
    struct Input: Decodable {
        let items: [(text: String, tokens: Int)]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                items = [(text, FakeEmbeddings.tokens(text))]
            } else if let texts = try? container.decode([String].self) {
                items = texts.map { ($0, FakeEmbeddings.tokens($0)) }
            } else if let tokens = try? container.decode([Int].self) {
                items = [(tokens.map(String.init).joined(separator: " "), tokens.count)]
            } else {
                items = try container.decode([[Int]].self).map { ($0.map(String.init).joined(separator: " "), $0.count) }
            }
        }
    }

    struct GeminiRequest: Decodable {
        struct Content: Decodable {
            struct Part: Decodable { let text: String? }
            let parts: [Part]
        }
        let model: String?
        let content: Content
        let outputDimensionality: Int?
    }

    struct GeminiBatch: Decodable { let requests: [GeminiRequest] }

    func embed(_ request: Request, format: WireFormat, model: String?) async throws -> Response {
        let body = Data(buffer: try await request.body.collect(upTo: 64 << 20))
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let scripted = next(recording: FakeProviderServer.RecordedRequest(path: request.uri.path, headers: headers, body: body))
        let together = request.uri.path.hasPrefix("/together/")
        let reply: Result<String, FakeRefusal>
        if let model {
            if let scenario = Self.scenario(forModel: model) ?? Self.failure(scripted) { return failing(scenario, format: format) }
            reply = request.uri.path.hasSuffix(":embedContent") ? gemini(single: body, model: model) : gemini(batch: body, model: model)
        } else {
            guard let decoded = try? JSONDecoder().decode(OpenAIRequest.self, from: body) else {
                return FakeProviderServer.json(format.errorBody(status: 400, message: "'$.input' is invalid."), status: .badRequest)
            }
            if let scenario = Self.scenario(forModel: decoded.model) ?? Self.failure(scripted) { return failing(scenario, format: format) }
            reply = openAI(decoded, together: together)
        }
        switch reply {
        case .success(let text): return FakeProviderServer.json(text)
        case .failure(let refusal): return FakeProviderServer.json(format.errorBody(status: 400, message: refusal.message), status: .badRequest)
        }
    }

    struct FakeRefusal: Error { let message: String }

    /// A scripted failure; any other scenario answers normally.
    static func failure(_ scenario: FakeProviderServer.Scenario) -> FakeProviderServer.Scenario? {
        switch scenario {
        case .status, .rateLimited: scenario
        default: nil
        }
    }

    func failing(_ scenario: FakeProviderServer.Scenario, format: WireFormat) -> Response {
        guard case .rateLimited(let retryAfter) = scenario else {
            let status = if case .status(let code) = scenario { code } else { 500 }
            return FakeProviderServer.json(format.errorBody(status: status), status: .init(code: status), headers: ["x-should-retry": "false"])
        }
        return FakeProviderServer.json(format.errorBody(status: 429), status: .tooManyRequests,
                                       headers: ["retry-after": String(retryAfter), "x-should-retry": "false"])
    }

    private func openAI(_ request: OpenAIRequest, together: Bool) -> Result<String, FakeRefusal> {
        if together {
            let unknown = [request.dimensions.map { _ in "dimensions" }, request.user.map { _ in "user" }].compactMap { $0 }
            if !unknown.isEmpty { return .failure(FakeRefusal(message: "Unrecognized request arguments supplied: \(unknown.joined(separator: ", "))")) }
        }
        let items = request.input.items
        if items.isEmpty || items.contains(where: { $0.text.isEmpty }) { return .failure(FakeRefusal(message: "'$.input' is invalid.")) }
        if request.dimensions != nil, !request.model.hasPrefix("text-embedding-3") {
            return .failure(FakeRefusal(message: "This model does not support specifying dimensions."))
        }
        let base64 = request.encoding_format == "base64"
        let size = request.dimensions ?? FakeEmbeddings.defaultDimensions(request.model, format: .openAI, together: together)
        let data = items.enumerated().map { index, item in
            let vector = FakeEmbeddings.vector(item.text, dimensions: size)
            return #"{"object":"embedding","index":\#(index),"embedding":\#(base64 ? Self.base64(vector) : Self.numbers(vector))}"#
        }.joined(separator: ",")
        let tokens = items.reduce(0) { $0 + $1.tokens }
        // Together's models do not all report usage: this fake's never do.
        let usage = together ? #","request_id":"o9Xfake""# : #","usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}"#
        return .success(#"{"object":"list","data":[\#(data)],"model":"\#(request.model)"\#(usage)}"#)
    }

    private func gemini(batch body: Data, model: String) -> Result<String, FakeRefusal> {
        guard let batch = try? JSONDecoder().decode(GeminiBatch.self, from: body), !batch.requests.isEmpty else {
            return .failure(FakeRefusal(message: "Invalid JSON payload received."))
        }
        guard batch.requests.count <= 100 else { return .failure(FakeRefusal(message: "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch")) }
        var values: [String] = []
        for request in batch.requests {
            guard request.model == "models/\(model)" else {
                return .failure(FakeRefusal(message: "Model \(request.model ?? "") differs from the model specified in the request: models/\(model)"))
            }
            values.append(#"{"values":\#(Self.numbers(Self.vector(of: request)))}"#)
        }
        return .success(#"{"embeddings":[\#(values.joined(separator: ","))]}"#)
    }

    private func gemini(single body: Data, model: String) -> Result<String, FakeRefusal> {
        guard let request = try? JSONDecoder().decode(GeminiRequest.self, from: body) else { return .failure(FakeRefusal(message: "Invalid JSON payload received.")) }
        return .success(#"{"embedding":{"values":\#(Self.numbers(Self.vector(of: request)))}}"#)
    }

    private static func vector(of request: GeminiRequest) -> [Float] {
        let text = request.content.parts.compactMap(\.text).joined()
        return FakeEmbeddings.vector(text, dimensions: request.outputDimensionality ?? FakeEmbeddings.defaultDimensions("", format: .gemini, together: false))
    }

    static func numbers(_ vector: [Float]) -> String { "[" + vector.map { "\($0)" }.joined(separator: ",") + "]" }

    static func base64(_ vector: [Float]) -> String {
        var bytes: [UInt8] = []
        for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return "\"" + Data(bytes).base64EncodedString() + "\""
    }
}
