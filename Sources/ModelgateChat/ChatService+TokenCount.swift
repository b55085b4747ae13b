import ModelgateCore
import ModelgateProviders

extension ChatService {
    /// The prompt's tokens as `model`'s provider counts them (nothing is charged, no quota is
    /// spent), or nil when it has no counter; a request the model cannot take (an embedding model,
    /// a feature its provider lacks) is refused as a message would be.
    func countTokens(_ call: ProviderRequest, model: AIModel) async throws -> Int? {
        guard model.kind == .chat else { throw ModelgateError.modelKindMismatch(model.id, kind: model.kind, expected: .chat) }
        var request = call
        request.providerModelID = model.providerModelID
        try checkProviderTakes(request, model: model)
        do {
            return try await providers.countTokens(model.provider, request)
        } catch {
            throw Self.domainError(error, provider: model.provider)
        }
    }
}
