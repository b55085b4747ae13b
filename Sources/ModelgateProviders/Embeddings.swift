import Foundation
import ModelgateCore

/// The texts (or token ids) of one embedding call, in the order their vectors come back.
public enum EmbeddingInput: Sendable, Equatable {
    case texts([String])
    /// Token ids of OpenAI's tokenizer, one array per input; only OpenAI can read them.
    case tokens([[Int]])

    public var count: Int {
        switch self {
        case .texts(let texts): texts.count
        case .tokens(let arrays): arrays.count
        }
    }

    /// What budgets hold before the call: token arrays count exactly, texts a token per 4 characters.
    public var estimatedTokens: Int {
        switch self {
        case .texts(let texts): texts.reduce(0) { $0 + TurnTokens.estimate(characters: $1.count) }
        case .tokens(let arrays): arrays.reduce(0) { $0 + $1.count }
        }
    }

    /// The bytes of text, for the per-request prompt size limit (a token id counts as 4).
    public var textBytes: Int {
        switch self {
        case .texts(let texts): texts.reduce(0) { $0 + $1.utf8.count }
        case .tokens(let arrays): 4 * arrays.reduce(0) { $0 + $1.count }
        }
    }
}

/// What Modelgate asks a provider for: one vector per input. Vectors always come back as floats;
/// the front door encodes them as the caller asked.
public struct EmbeddingRequest: Sendable, Equatable {
    public var providerModelID: String
    public var input: EmbeddingInput
    /// The vector size asked for (`dimensions`); `nil`: the model's own.
    public var dimensions: Int?
    /// Opaque id of the end user, for the provider's abuse monitoring (where it takes one).
    public var endUserID: String

    public init(providerModelID: String, input: EmbeddingInput, dimensions: Int?, endUserID: String) {
        self.providerModelID = providerModelID
        self.input = input
        self.dimensions = dimensions
        self.endUserID = endUserID
    }
}

/// A provider's answer: one vector per input, in input order.
public struct Embeddings: Sendable, Equatable {
    public let vectors: [[Float]]
    /// Input tokens as the provider reported them; `nil` when it reported none (Gemini, some Together models).
    public let promptTokens: Int?

    public init(vectors: [[Float]], promptTokens: Int?) {
        self.vectors = vectors
        self.promptTokens = promptTokens
    }

    /// `vectors`, unless the provider answered a different number of inputs than were sent.
    static func checked(_ vectors: [[Float]], promptTokens: Int?, for request: EmbeddingRequest) throws -> Embeddings {
        guard vectors.count == request.input.count else {
            throw ProviderError.failed(status: 200, reason: "\(vectors.count) embeddings for \(request.input.count) inputs")
        }
        return Embeddings(vectors: vectors, promptTokens: promptTokens)
    }
}

/// One provider's embeddings wire format.
public protocol EmbeddingProvider: Sendable {
    /// Throws when the request asks for something this provider or model cannot do, naming the field.
    func check(embedding request: EmbeddingRequest) throws(UnsupportedFeature)
    /// `retry` tries each upstream request again (after a rate limit, an overload, a 5xx or a connection
    /// failure) on its own, so a request that was answered is never sent, and billed, twice.
    func embed(_ request: EmbeddingRequest, retry: RetryPolicy) async throws -> Embeddings
}
