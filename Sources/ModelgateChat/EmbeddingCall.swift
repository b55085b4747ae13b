import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateProviders

/// An answered embedding call: admitted and charged like a message, its vectors in input order.
struct EmbeddingReply: Sendable {
    let admission: Admission
    let embeddings: Embeddings
    /// The input's tokens, estimated: what the call counts as when its provider reports none.
    let estimatedTokens: Int

    /// As the provider reported them, else the estimate, marked so (Gemini reports none).
    var tokens: TurnTokens {
        guard let reported = embeddings.promptTokens else { return TurnTokens(inputTokens: estimatedTokens, estimated: true) }
        return TurnTokens(inputTokens: reported)
    }

    var costMicros: Int { admission.choice.model.prices?.cost(of: tokens) ?? 0 }
}

extension ChatService {
    /// `/v1/embeddings`: the same identity, access decision, daily limits and budgets as a message
    /// (the input's estimated tokens are held), then one provider call. There is no failover: a
    /// stand-in's vectors would live in another model's space. A failure gives the charge back.
    func embed(_ request: EmbeddingRequest, model: ModelID?, for profile: Profile) async throws -> EmbeddingReply {
        try limits.checkPromptSize(request.input.textBytes)
        var call = request
        call.endUserID = profile.id.description
        let demand = CallDemand(embedding: call)
        let admission = try await access.admit(profile, persona: nil, explicit: model, path: .openAI, demand: demand) { [call] model in
            try checkModelEmbeds(call, model: model)
        }
        let chosen = admission.choice.model
        call.providerModelID = chosen.providerModelID
        guard breaker.allows(chosen.provider) else {
            metrics.providerError(chosen.provider, code: .circuitOpen)
            try await admission.giveBack()
            throw ModelgateError.providerFailed(.unavailable, provider: chosen.provider)
        }
        metrics.providerRequest(chosen.provider)
        let started = ContinuousClock.now
        do {
            let embeddings = try await providers.embed(chosen.provider, call)
            breaker.succeeded(chosen.provider)
            metrics.providerFinished(chosen.provider, seconds: (ContinuousClock.now - started).seconds)
            return EmbeddingReply(admission: admission, embeddings: embeddings, estimatedTokens: call.input.estimatedTokens)
        } catch {
            count(error, of: chosen.provider)
            try await admission.giveBack()
            throw Self.domainError(error, provider: chosen.provider)
        }
    }

    /// Refuses what `model` cannot take: a chat model, a field its provider or model cannot honour,
    /// more dimensions than it makes, an input longer (estimated) than it reads.
    private func checkModelEmbeds(_ request: EmbeddingRequest, model: AIModel) throws {
        guard model.kind == .embedding else { throw ModelgateError.modelKindMismatch(model.id, kind: model.kind, expected: .embedding) }
        var request = request
        request.providerModelID = model.providerModelID
        do {
            try providers.check(model.provider, embedding: request)
        } catch {
            throw ModelgateError.unsupportedParameter(field: error.field, reason: "\(model.id) (\(error.provider.rawValue)) cannot take it: \(error.reason)")
        }
        func declared(_ key: String) -> Int? { model.metadata[key]?.numberValue.flatMap { Int(exactly: $0) } }
        if let dimensions = request.dimensions, let most = declared("dimensions"), dimensions > most {
            throw ModelgateError.unsupportedParameter(field: "dimensions", reason: "\(model.id) makes vectors of at most \(most) dimensions")
        }
        guard let window = declared("contextWindow") else { return }
        let sizes: [Int] = switch request.input {
        case .texts(let texts): texts.map { TurnTokens.estimate(characters: $0.count) }
        case .tokens(let arrays): arrays.map(\.count)
        }
        if let (index, size) = sizes.enumerated().first(where: { $0.element > window }) {
            throw ModelgateError.invalidBody(field: "input.\(index)", reason: "is about \(size) tokens; \(model.id) reads at most \(window) per input")
        }
    }
}
