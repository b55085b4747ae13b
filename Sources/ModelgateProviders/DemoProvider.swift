/// A local responder for trying Modelgate without provider keys. Its replies say what they are.
struct DemoProvider: ChatProvider {
    let providerName: String

    func check(_ request: ProviderRequest) throws(UnsupportedFeature) {}

    func stream(_ request: ProviderRequest) -> ProviderStream {
        let last = request.messages.last { $0.role == .user }?.text ?? ""
        let reply = "[demo reply from \(providerName)/\(request.providerModelID) — no provider key is set] You said: \(last.prefix(200))"
        let words = reply.split(separator: " ", omittingEmptySubsequences: false)
        return AsyncThrowingStream { continuation in
            for (index, word) in words.enumerated() {
                continuation.yield(.delta(index == 0 ? String(word) : " " + word))
            }
            continuation.yield(.finish(
                reason: .stop,
                usage: TokenUsage(inputTokens: request.messages.reduce(0) { $0 + $1.text.split(separator: " ").count }, outputTokens: words.count)))
            continuation.finish()
        }
    }
}

extension DemoProvider: EmbeddingProvider {
    func check(embedding request: EmbeddingRequest) throws(UnsupportedFeature) {}

    /// Unit vectors that depend only on each input (the same text, the same vector), 8 dimensions
    /// unless the caller asked for others.
    func embed(_ request: EmbeddingRequest, retry: RetryPolicy) async throws -> Embeddings {
        let inputs: [String] = switch request.input {
        case .texts(let texts): texts
        case .tokens(let arrays): arrays.map { $0.map(String.init).joined(separator: " ") }
        }
        let vectors = inputs.map { text -> [Float] in
            // FNV-1a of the text seeds a linear congruential sequence.
            var state = text.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
            let values = (0..<(request.dimensions ?? 8)).map { _ -> Float in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(state >> 40) / Float(1 << 24) - 0.5
            }
            let length = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return length > 0 ? values.map { $0 / length } : values
        }
        return Embeddings(vectors: vectors, promptTokens: request.input.estimatedTokens)
    }
}
