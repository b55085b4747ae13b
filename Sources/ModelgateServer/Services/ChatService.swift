import Foundation
import ModelgateCore
import ModelgateProviders
import ModelgateStore
import NIOConcurrencyHelpers

public struct ChatRequest: Decodable, Sendable {
    public let message: String
    public let personaId: PersonaID
    public let conversationId: String?
    public let modelId: ModelID?
}

/// A reply whose first provider event has arrived: from here on the user is charged and the HTTP
/// layer streams. One task reads events at a time; what was delivered so far is locked, because
/// the turn may be stored while a cancelled reader is still winding down.
final class ChatReply: @unchecked Sendable {
    struct Delivered: Sendable {
        var text = ""
        var usage = TokenUsage()
    }

    let admission: Admission
    let conversationID: String
    let isNewConversation: Bool
    let request: ChatRequest
    private var iterator: ProviderStream.AsyncIterator
    private var pending: ProviderEvent?
    private let delivered = NIOLockedValueBox(Delivered())
    var text: String { delivered.withLockedValue { $0.text } }
    var usage: TokenUsage { delivered.withLockedValue { $0.usage } }

    init(admission: Admission, conversationID: String, isNewConversation: Bool, request: ChatRequest, stream: ProviderStream) {
        self.admission = admission
        self.conversationID = conversationID
        self.isNewConversation = isNewConversation
        self.request = request
        self.iterator = stream.makeAsyncIterator()
    }

    /// Waits for the provider's first event, so a failure before any text can still be refused
    /// with a proper status and the charge given back.
    func awaitFirstEvent() async throws {
        pending = try await iterator.next()
        if pending == nil { throw ProviderError.unavailable(reason: "empty stream") }
    }

    /// The next event, recording text and usage for the stored turn; `nil` at the end.
    func next() async throws -> ProviderEvent? {
        let event: ProviderEvent?
        if let pending {
            event = pending
            self.pending = nil
        } else {
            event = try await iterator.next()
        }
        delivered.withLockedValue { delivered in
            switch event {
            case .delta(let delta): delivered.text += delta
            case .finish(_, let usage): delivered.usage = usage
            case nil: break
            }
        }
        return event
    }
}

/// Sends a user's message to the model selection picked, charging exactly once and only when the
/// provider answered.
public struct ChatService: Sendable {
    let access: ModelAccessService
    let conversations: ConversationRepository
    let providers: ProviderRouter
    let clock: any WallClock
    let makeID: @Sendable () -> UUID
    let historyTurns = 20
    static let maxMessageCharacters = 16_000

    func start(_ request: ChatRequest, for profile: Profile) async throws -> ChatReply {
        let message = request.message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !message.isEmpty else { throw ModelgateError.invalidField(field: "message", reason: "must not be empty") }
        guard message.count <= Self.maxMessageCharacters else {
            throw ModelgateError.invalidField(field: "message", reason: "must be at most \(Self.maxMessageCharacters) characters")
        }
        var history: [ChatTurn] = []
        if let id = request.conversationId {
            guard let conversation = try await conversations.find(id, ownedBy: profile.id) else {
                throw ModelgateError.notFound(what: "conversation", id: id)
            }
            guard conversation.personaId == request.personaId else {
                throw ModelgateError.invalidField(field: "personaId", reason: "differs from the conversation's persona '\(conversation.personaId)'")
            }
            history = try await conversations.messages(of: id, ownedBy: profile.id, limit: historyTurns).map {
                ChatTurn(role: $0.role == "user" ? .user : .assistant, text: $0.content)
            }
        }
        let admission = try await access.admit(profile, persona: request.personaId, explicit: request.modelId, reachable: providers.isAvailable)
        let model = admission.choice.model
        let providerRequest = ProviderRequest(
            providerModelID: model.providerModelID, system: access.cache.persona(request.personaId)?.systemPrompt,
            turns: history + [ChatTurn(role: .user, text: message)], endUserID: profile.id.description)
        let reply = ChatReply(
            admission: admission, conversationID: request.conversationId ?? makeID().uuidString.lowercased(),
            isNewConversation: request.conversationId == nil, request: request,
            stream: providers.stream(model.provider, providerRequest))
        do {
            try await reply.awaitFirstEvent()
        } catch {
            try await access.ledger.release(admission.consumption)
            throw Self.domainError(error, provider: model.provider)
        }
        return reply
    }

    /// Stores the exchange once the stream is over, whether it finished or was cut after text.
    func record(_ reply: ChatReply, for user: UserID) async throws {
        let admission = reply.admission
        try await conversations.record(ChatExchange(
            conversationID: reply.conversationID, user: user, persona: reply.request.personaId,
            isNewConversation: reply.isNewConversation, message: reply.request.message, reply: reply.text,
            model: admission.choice.model.id, payment: admission.payment, reason: admission.choice.reason,
            inputTokens: reply.usage.inputTokens, outputTokens: reply.usage.outputTokens), at: clock.now())
    }

    static func domainError(_ error: any Error, provider: Provider) -> any Error {
        guard let error = error as? ProviderError else { return error }
        switch error {
        case .notConfigured(let provider): return ModelgateError.providerNotConfigured(provider)
        case .rateLimited: return ModelgateError.providerFailed(.rateLimited, provider: provider)
        case .unavailable: return ModelgateError.providerFailed(.unavailable, provider: provider)
        case .failed: return ModelgateError.providerFailed(.error, provider: provider)
        }
    }
}
