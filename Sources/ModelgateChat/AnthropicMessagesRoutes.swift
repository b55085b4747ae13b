import Foundation
import HTTPTypes
import Hummingbird
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders

/// Anthropic's Messages API over the same request path as `/v1/chat/completions`: the same
/// identity, access decision, budgets, failover and settlement; only the shapes differ.
public struct AnthropicMessagesRoutes: Sendable {
    let chat: ChatService
    let userModels: UserModelsService
    let maxBodyBytes: Int
    let recorder: ReplyRecorder

    public init(chat: ChatService, userModels: UserModelsService, maxBodyBytes: Int, recorder: ReplyRecorder) {
        self.chat = chat
        self.userModels = userModels
        self.maxBodyBytes = maxBodyBytes
        self.recorder = recorder
    }

    /// `calls` carries the chat call's admission; counting tokens is no call and goes on `group`.
    public func register(on group: RouterGroup<AppRequestContext>, calls: RouterGroup<AppRequestContext>) {
        calls.post("messages", use: messages)
        group.post("messages/count_tokens", use: countTokens)
    }

    @Sendable func messages(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let profile = try context.requireIdentity().profile
        let body = try await request.decodeJSON(MessagesRequest.self, limit: maxBodyBytes)
        var call = try body.providerRequest()
        // Betas are Anthropic's features: forwarded when an Anthropic model answers, meaningless to the others.
        call.anthropicBeta = request.headers[Self.betaHeader]
        let explicit = try model(body.model)
        let persona = request.headers[OpenAICompatibleRoutes.personaHeader].map(PersonaID.init(rawValue:))
        let failover = try OpenAICompatibleRoutes.failover(request.headers[OpenAICompatibleRoutes.failoverHeader], models: nil,
                                                          catalog: userModels.catalog)
        let task = try CallPurpose.taskKey(header: request.headers[OpenAICompatibleRoutes.purposeHeader], key: context.apiKey)
        let reply = try await chat.complete(call, persona: persona, explicit: explicit, task: task, failover: failover, for: profile)
        let writer = MessagesWriter(id: "msg_" + context.id.filter { $0.isLetter || $0.isNumber }, model: reply.admission.choice.model.id.rawValue,
                                    settle: { [recorder] in _ = await recorder.record(reply, user: profile.id) })
        var response = body.stream == true ? writer.streaming(reply, shutdown: chat.shutdown) : try await writer.whole(reply)
        if let from = reply.admission.failoverFrom { response.headers[OpenAICompatibleRoutes.failoverFromHeader] = from.rawValue }
        return response
    }

    /// Anthropic's own count for an Anthropic model (a failure to reach it is the error, never a
    /// silent estimate); for the others an estimate (a token per 4 characters, 765 per image).
    /// `x-modelgate-estimated` says which. Counting charges no message and spends no quota.
    @Sendable func countTokens(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let body = try await request.decodeJSON(MessagesRequest.self, limit: maxBodyBytes)
        var call = try body.providerRequest(counting: true)
        call.anthropicBeta = request.headers[Self.betaHeader]
        var counted: Int?
        if let id = try model(body.model), let chosen = userModels.catalog.model(id) { counted = try await chat.countTokens(call, model: chosen) }
        var response = try JSONBody(JSONValue.object(["input_tokens": .number(Double(counted ?? call.estimatedPromptTokens))])).response()
        response.headers[Self.estimatedHeader] = counted == nil ? "true" : "false"
        return response
    }

    static let betaHeader = HTTPField.Name("anthropic-beta")!
    static let estimatedHeader = HTTPField.Name("x-modelgate-estimated")!

    private func model(_ name: String) throws -> ModelID? {
        try OpenAICompatibleRoutes.model(named: name, in: userModels.catalog)
    }
}

/// `GET /v1/models` in Anthropic's shape: every model the caller may use, one page.
struct AnthropicModelList: Encodable, Sendable {
    struct Model: Encodable, Sendable {
        let type = "model"
        let id: String
        let display_name: String
        let created_at: String
    }

    let data: [Model]
    let has_more = false
    let first_id: String?
    let last_id: String?

    init(_ models: [AIModel], created: Date) {
        data = models.map { Model(id: $0.id.rawValue, display_name: $0.displayName, created_at: ISO8601.string(created)) }
        first_id = data.first?.id
        last_id = data.last?.id
    }
}
