import Foundation
import ModelgateCore
import ModelgateProviders

/// A request to `POST /v1/embeddings`, as the OpenAI SDKs send it. Unknown fields are ignored, as
/// OpenAI's API does; every known one is honoured or refused.
struct EmbeddingsRequest: Decodable, Sendable {
    /// How vectors are written back: JSON numbers, or the base64 of their little-endian float32 bytes
    /// (the openai Python SDK's default, decoded by it).
    enum EncodingFormat: String, Sendable {
        case float, base64
    }

    /// `"text"`, `["text", …]`, `[token, …]` or `[[token, …], …]`.
    struct Input: Decodable, Sendable {
        let value: EmbeddingInput

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                value = .texts([text])
                return
            }
            guard var list = try? decoder.unkeyedContainer() else { throw Self.shapeError }
            // The first item says which of the list shapes it is; every item must then be of it.
            var probe = list
            if list.isAtEnd || (try? probe.decode(String.self)) != nil {
                var texts: [String] = []
                while !list.isAtEnd { texts.append(try list.decode(String.self)) }
                value = .texts(texts)
            } else if (try? probe.decode(Int.self)) != nil {
                var tokens: [Int] = []
                while !list.isAtEnd { tokens.append(try list.decode(Int.self)) }
                value = .tokens([tokens])
            } else if (try? probe.decode([Int].self)) != nil {
                var arrays: [[Int]] = []
                while !list.isAtEnd { arrays.append(try list.decode([Int].self)) }
                value = .tokens(arrays)
            } else {
                throw Self.shapeError
            }
        }

        static let shapeError = ModelgateError.invalidBody(field: "input", reason: "must be a string, a list of strings, or token arrays")
    }

    let model: String
    let input: Input
    let dimensions: Int?
    static let mostDimensions = 8_192
    let encoding_format: String?

    /// OpenAI's limits: at most 2,048 inputs, none of them empty.
    static let maxInputs = 2_048

    var encodingFormat: EncodingFormat {
        get throws(ModelgateError) {
            guard let text = encoding_format else { return .float }
            guard let format = EncodingFormat(rawValue: text) else { throw .invalidBody(field: "encoding_format", reason: "must be float or base64") }
            return format
        }
    }

    /// The provider request (its model and end user are filled in once admitted), or the first
    /// problem of the input, named.
    func embeddingRequest() throws(ModelgateError) -> EmbeddingRequest {
        let input = input.value
        guard input.count > 0 else { throw .invalidBody(field: "input", reason: "must not be empty") }
        guard input.count <= Self.maxInputs else { throw .invalidBody(field: "input", reason: "takes at most \(Self.maxInputs) inputs") }
        switch input {
        case .texts(let texts):
            if let empty = texts.firstIndex(where: \.isEmpty) { throw .invalidBody(field: "input.\(empty)", reason: "must not be empty") }
        case .tokens(let arrays):
            if let empty = arrays.firstIndex(where: \.isEmpty) { throw .invalidBody(field: "input.\(empty)", reason: "must not be empty") }
            if arrays.joined().contains(where: { $0 < 0 }) { throw .invalidBody(field: "input", reason: "token ids are 0 or more") }
        }
        // No provider makes vectors longer than a few thousand numbers; the bound keeps a request from
        // asking for an unbounded one of a model whose size is not declared.
        if let dimensions, !(1...Self.mostDimensions).contains(dimensions) {
            throw .invalidBody(field: "dimensions", reason: "must be 1 to \(Self.mostDimensions)")
        }
        return EmbeddingRequest(providerModelID: "", input: input, dimensions: dimensions, endUserID: "")
    }
}
