import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateMetrics
import ModelgateProviders
import ModelgateStore
import NIOConcurrencyHelpers
import SQLKit

/// Sends a user's message to the model selection picked, charging exactly once and only when the
/// provider answered.
public struct ChatService: Sendable {
    let access: any CallAdmitting
    public let conversations: ConversationRepository
    let failovers: Failovers
    let spend: SpendLedger
    let outbox: AnalyticsOutbox
    /// Requests of this instance skip a failing provider for a while (see `CircuitBreaker`).
    let breaker: CircuitBreaker
    let providers: ProviderRouter
    let limits: UserLimitGuard
    /// Open streams end when it says so (a deploy's grace period is over).
    let shutdown: ShutdownState
    let metrics: ModelgateMetrics
    let clock: any WallClock
    let makeID: @Sendable () -> UUID
    /// How long a message may spend on its model and its stand-ins before the user gets the error.
    var failoverDeadline: Duration = .seconds(30)

    public init(access: any CallAdmitting, conversations: ConversationRepository, failovers: Failovers, spend: SpendLedger, outbox: AnalyticsOutbox, providers: ProviderRouter, limits: UserLimitGuard, shutdown: ShutdownState, metrics: ModelgateMetrics, clock: any WallClock, makeID: @escaping @Sendable () -> UUID, failoverDeadline: Duration = .seconds(30)) {
        self.access = access
        self.conversations = conversations
        self.failovers = failovers
        self.spend = spend
        self.outbox = outbox
        self.breaker = CircuitBreaker(clock: clock)
        self.providers = providers
        self.limits = limits
        self.shutdown = shutdown
        self.metrics = metrics
        self.clock = clock
        self.makeID = makeID
        self.failoverDeadline = failoverDeadline
    }
    let historyTurns = 20
    static let maxMessageCharacters = 16_000

    /// `/api/chat`: one new message (or the app's tool results) in a (new or owned) conversation
    /// whose history goes along, images included.
    func start(_ request: ChatRequest, for profile: Profile) async throws -> ChatReply {
        let turn = try request.newTurn(makeID: makeID)
        var history: [ChatMessage] = []
        if let id = request.conversationId {
            guard let conversation = try await conversations.find(id, ownedBy: profile.id) else {
                throw ModelgateError.notFound(what: "conversation", id: id)
            }
            guard conversation.personaId == request.personaId else {
                throw ModelgateError.invalidField(field: "personaId", reason: "differs from the conversation's persona '\(conversation.personaId)'")
            }
            let stored = try await conversations.messages(of: id, ownedBy: profile.id, limit: historyTurns)
            let images = try await conversations.attachments(stored.flatMap(\.attachmentIDs), ownedBy: profile.id)
            history = ChatTurns.replay(stored, images: images)
        }
        let conversation = ChatReply.Conversation(
            id: request.conversationId ?? makeID().uuidString.lowercased(), isNew: request.conversationId == nil,
            persona: request.personaId, turn: turn)
        let call = ProviderRequest(
            providerModelID: "", system: nil, messages: history + turn.messages, endUserID: "",
            options: GenerationOptions(maxOutputTokens: request.maxTokens ?? 1024), tools: try CompletionRequest.definitions(of: request.tools))
        return try await begin(profile, call: call, conversation: conversation, persona: request.personaId, failover: .catalog) { demand, check in
            try await access.admit(profile, persona: request.personaId, explicit: request.modelId, path: .chat, demand: demand, check: check)
        }
    }

    /// `/v1/chat/completions`: the caller sends the whole history (and its tools and settings), as
    /// OpenAI's API does; `call.providerModelID` and `endUserID` are filled in here.
    /// `task` (an API key's background call) is served by the key's task model on its budget.
    func complete(_ call: ProviderRequest, persona: PersonaID?, explicit: ModelID?, task: ApiKey? = nil, failover: FailoverChoice = .catalog,
                  for profile: Profile) async throws -> ChatReply {
        guard let last = call.messages.last, last.role == .user || last.role == .tool else {
            throw ModelgateError.invalidField(field: "messages", reason: "must end with a user or tool message")
        }
        if last.role == .user {
            guard !last.parts.isEmpty, !last.text.isEmpty || !last.images.isEmpty else {
                throw ModelgateError.invalidField(field: "messages", reason: "the last message must not be empty")
            }
            // The text limit is for text: images count toward the body limit only.
            if !last.text.isEmpty { _ = try Self.validated(last.text, field: "messages") }
        }
        if let task {
            return try await begin(profile, call: call, conversation: nil, persona: nil, failover: .off) { _, check in
                try await access.admitTask(for: task, profile: profile, check: check)
            }
        }
        return try await begin(profile, call: call, conversation: nil, persona: persona, failover: failover) { demand, check in
            try await access.admit(profile, persona: persona, explicit: explicit, path: .openAI, demand: demand, check: check)
        }
    }

    /// Selects, checks that the chosen model can take the request, charges, and calls the provider.
    /// A failure before the first token gives the charge back; when it is one a stand-in can help with
    /// (rate limit, overload, 5xx, timeout, connection, open circuit), the stand-ins the user may use
    /// are tried in order within `failoverDeadline`, each charged only while it is tried.
    private func begin(
        _ profile: Profile, call: ProviderRequest, conversation: ChatReply.Conversation?, persona: PersonaID?, failover: FailoverChoice,
        admit: (_ demand: CallDemand, _ check: (AIModel) throws -> Void) async throws -> Admission
    ) async throws -> ChatReply {
        let started = clock.now()
        try limits.checkPromptSize(call.messages.reduce(call.system?.utf8.count ?? 0) { $0 + $1.text.utf8.count })
        var providerRequest = call
        providerRequest.endUserID = profile.id.description
        let demand = CallDemand(providerRequest)
        let check: (AIModel) throws -> Void = { [providerRequest] model in
            var request = providerRequest
            request.providerModelID = model.providerModelID
            try checkModelTakes(request, model: model)
        }
        let admission = try await admit(demand, check)
        do {
            return try await answer(admission, request: providerRequest, conversation: conversation)
        } catch let failure as ProviderError where failure.isRetryable {
            var tried = 0
            for standIn in failover.standIns(for: admission.choice.model.id, in: access.catalog) {
                // A provider that hung until its timeouts may have used the deadline up: one stand-in still gets its turn.
                guard tried == 0 || clock.now().timeIntervalSince(started) < failoverDeadline.seconds else { break }
                guard let model = access.catalog.model(standIn),
                      let next = try await access.admitStandIn(model, for: admission, profile: profile, persona: persona, demand: demand, check: check)
                else { continue }
                tried += 1
                do {
                    let reply = try await answer(next, request: providerRequest, conversation: conversation)
                    await recordFailover(from: admission.choice.model.id, to: model.id)
                    return reply
                } catch let error as ProviderError where error.isRetryable {
                    continue
                }
            }
            throw Self.domainError(failure, provider: admission.choice.model.provider)
        }
    }

    /// Calls the admitted model's provider — unless its circuit is open — and waits for the first
    /// event; a failure gives the charge back and is thrown as the provider's error.
    private func answer(_ admission: Admission, request: ProviderRequest, conversation: ChatReply.Conversation?) async throws -> ChatReply {
        let model = admission.choice.model
        var providerRequest = request
        providerRequest.providerModelID = model.providerModelID
        providerRequest.prependSystem(admission.systemPrompt)
        guard breaker.allows(model.provider) else {
            metrics.providerError(model.provider, code: .circuitOpen)
            try await admission.giveBack()
            throw ProviderError.unavailable(reason: "circuit open")
        }
        metrics.providerRequest(model.provider)
        let reply = ChatReply(
            admission: admission, conversation: conversation, estimatedPromptTokens: providerRequest.estimatedPromptTokens,
            stream: providers.stream(model.provider, providerRequest), metrics: metrics)
        do {
            try await reply.awaitFirstEvent()
        } catch {
            count(error, of: model.provider)
            try await admission.giveBack()
            guard let providerError = error as? ProviderError else { throw Self.domainError(error, provider: model.provider) }
            if providerError.isRetryable { throw providerError }
            throw Self.domainError(providerError, provider: model.provider)
        }
        breaker.succeeded(model.provider)
        return reply
    }

    /// Counts a provider's failure before its answer. Only failures a stand-in can help with count
    /// against the circuit; a refusal (4xx) shows the provider is up; a client that left says nothing
    /// (a probe is simply let go again).
    func count(_ error: any Error, of provider: Provider) {
        metrics.providerError(provider, code: Self.errorCode(error))
        switch error as? ProviderError {
        case let providerError? where providerError.isRetryable:
            if breaker.failed(provider) { metrics.circuitOpened(provider) }
        case .some: breaker.succeeded(provider)
        case nil: breaker.abandoned(provider)
        }
    }

    /// Counts a failover (metrics, and per day for the admin console); a failure to count it never
    /// fails the answered message.
    private func recordFailover(from: ModelID, to: ModelID) async {
        metrics.failover(from: from, to: to)
        try? await failovers.record(from: from, to: to, day: QuotaCalendar.day(at: clock.now(), zoneIdentifier: "UTC").key)
    }

    /// Refuses what `model` cannot take: an embedding model (a stand-in, a key's task model), a feature
    /// its provider lacks, or a conversation (estimated) that does not fit its context window with the reply.
    private func checkModelTakes(_ request: ProviderRequest, model: AIModel) throws {
        guard model.kind == .chat else { throw ModelgateError.modelKindMismatch(model.id, kind: model.kind, expected: .chat) }
        try checkProviderTakes(request, model: model)
        if let window = model.metadata["contextWindow"]?.numberValue.flatMap({ Int(exactly: $0) }) {
            let needed = request.estimatedPromptTokens + request.options.maxOutputTokens
            guard needed <= window else { throw ModelgateError.contextTooLong(model.id, estimatedTokens: needed, contextWindow: window) }
        }
    }

    /// Refuses a feature `model`'s provider lacks, naming the field, the model and its provider.
    func checkProviderTakes(_ request: ProviderRequest, model: AIModel) throws(ModelgateError) {
        do {
            try providers.check(model.provider, request)
        } catch {
            throw .unsupportedParameter(field: error.field, reason: "\(model.id) (\(error.provider.rawValue)) cannot take it: \(error.reason)")
        }
    }

    private static func validated(_ message: String, field: String) throws(ModelgateError) -> String {
        let trimmed = message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidField(field: field, reason: "must not be empty") }
        guard trimmed.count <= maxMessageCharacters else {
            throw .invalidField(field: field, reason: "must be at most \(maxMessageCharacters) characters")
        }
        return trimmed
    }

    /// The `code` label of a provider error.
    static func errorCode(_ error: any Error) -> ModelgateMetrics.ProviderErrorCode {
        switch error as? ProviderError {
        case .notConfigured: .notConfigured
        case .rateLimited: .rateLimited
        case .unavailable: .unavailable
        case .failed: .failed
        case nil: error is CancellationError ? .cancelled : .unavailable
        }
    }

    /// The one mapping from provider failures to domain errors.
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

/// Which stand-ins a message may fail over to.
enum FailoverChoice: Sendable, Equatable {
    /// The catalog's failover group of the model that was chosen.
    case catalog
    /// None: the caller asked for the error instead (`X-Modelgate-Failover: off`).
    case off
    /// The caller's own list (`/v1`'s `models`, as OpenRouter takes it), in order.
    case models([ModelID])

    func standIns(for model: ModelID, in catalog: CatalogSnapshot) -> [ModelID] {
        switch self {
        case .catalog: catalog.standIns[model]?.map(\.modelId) ?? []
        case .off: []
        case .models(let list): list.filter { $0 != model }
        }
    }
}
