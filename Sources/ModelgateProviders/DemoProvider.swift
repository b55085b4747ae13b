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
