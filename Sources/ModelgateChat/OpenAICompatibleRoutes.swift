import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders

struct OpenAIModel: Encodable, Sendable {
    /// What a model can take, from its catalog metadata (`capabilities`), else its provider's defaults.
    struct Capabilities: Encodable, Sendable {
        let tools: Bool
        let images: Bool
        let structured_output: Bool

        init(_ model: AIModel) {
            let declared = model.metadata["capabilities"]
            func flag(_ key: String, default value: Bool) -> Bool {
                if case .bool(let flag)? = declared?[key] { return flag }
                return value
            }
            // Together serves many open models; few of them read images.
            tools = flag("tools", default: true)
            images = flag("images", default: model.provider != .together)
            structured_output = flag("structuredOutput", default: true)
        }
    }

    let id: String
    let object = "model"
    let created: Int
    let owned_by: String
    /// Modelgate's own: `chat`, or `embedding` for a model only `/v1/embeddings` serves.
    let kind: ModelKind
    /// Extensions that clients such as Open WebUI show: display name, context window, capabilities.
    let name: String
    let context_window: Int?
    let capabilities: Capabilities?

    init(_ model: AIModel, created: Int) {
        id = model.id.rawValue
        self.created = created
        owned_by = model.provider.rawValue
        kind = model.kind
        name = model.displayName
        context_window = model.metadata["contextWindow"]?.numberValue.flatMap { Int(exactly: $0) }
        // Tools, images and structured output are a chat model's.
        capabilities = model.kind == .chat ? Capabilities(model) : nil
    }

    /// `auto`: the model selection picks for the persona.
    init(auto created: Int) {
        id = "auto"
        self.created = created
        owned_by = "modelgate"
        kind = .chat
        name = "Automatic (your coach's model)"
        context_window = nil
        capabilities = nil
    }
}

struct OpenAIList<Item: Encodable & Sendable>: Encodable, Sendable {
    let object = "list"
    let data: [Item]
}

/// OpenAI's Chat Completions API over Modelgate's selection, quotas and trials, so any OpenAI SDK
/// can talk to the user's models with the user's own token. `model` is a catalog id or `auto`.
public struct OpenAICompatibleRoutes: Sendable {
    let chat: ChatService
    let userModels: UserModelsService
    let clock: any WallClock
    let maxBodyBytes: Int
    let recorder: ReplyRecorder
    /// The Responses API's stored answers.
    let storedResponses: StoredResponses

    public init(chat: ChatService, userModels: UserModelsService, clock: any WallClock, maxBodyBytes: Int, recorder: ReplyRecorder,
                storedResponses: StoredResponses) {
        self.chat = chat
        self.userModels = userModels
        self.clock = clock
        self.maxBodyBytes = maxBodyBytes
        self.recorder = recorder
        self.storedResponses = storedResponses
    }

    static let personaHeader = HTTPField.Name("X-Persona-Id")!
    /// `task` marks a background call (a title, tags): the key's task model and budget answer it.
    static let purposeHeader = HTTPField.Name("X-Modelgate-Purpose")!
    /// `off`: a failure before the first token is the caller's error; no stand-in answers.
    static let failoverHeader = HTTPField.Name("X-Modelgate-Failover")!
    /// On the response: the model the message was meant for, when a stand-in answered.
    static let failoverFromHeader = HTTPField.Name("X-Modelgate-Failover-From")!

    /// `calls` carries the chat call's admission; the other routes are on `group`.
    public func register(on group: RouterGroup<AppRequestContext>, calls: RouterGroup<AppRequestContext>) {
        group.get("models", use: listModels)
        group.get("responses/:id", use: storedResponse)
        group.delete("responses/:id", use: deleteStoredResponse)
        calls.post("chat/completions", use: completions)
        calls.post("responses", use: responses)
        calls.post("embeddings", use: embeddings)
    }

    /// OpenAI's list, or Anthropic's when the caller speaks the Messages API (Claude Code's model discovery).
    @Sendable func listModels(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let profile = try context.requireIdentity().profile
        let created = Int(clock.now().timeIntervalSince1970)
        let usable = try await userModels.usableModels(for: profile)
        if request.headers[.init("anthropic-version")!] != nil || request.headers[.init("x-api-key")!] != nil {
            return try JSONBody(AnthropicModelList(usable.filter { $0.kind == .chat }, created: clock.now())).response()
        }
        let models = [OpenAIModel(auto: created)] + usable.map { OpenAIModel($0, created: created) }
        return try JSONBody(OpenAIList(data: models)).response()
    }

    @Sendable func completions(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        let profile = try context.requireIdentity().profile
        let body = try await request.decodeJSON(CompletionRequest.self, limit: maxBodyBytes)
        let persona = request.headers[Self.personaHeader].map(PersonaID.init(rawValue:))
        let call = try body.providerRequest()
        if let key = try CallPurpose.taskKey(header: request.headers[Self.purposeHeader], key: context.apiKey) {
            let reply = try await chat.complete(call, persona: nil, explicit: nil, task: key, for: profile)
            return try await respond(reply, to: body, id: context.id, user: profile.id)
        }
        let explicit = try Self.model(named: body.model, in: userModels.catalog)
        // With model choice switched off, a caller's own list would be a choice too: the catalog's groups answer.
        let models = userModels.isModelSelectionEnabled ? body.models : nil
        let failover = try Self.failover(request.headers[Self.failoverHeader], models: models, catalog: userModels.catalog)
        let reply = try await chat.complete(call, persona: persona, explicit: explicit, failover: failover, for: profile)
        return try await respond(reply, to: body, id: context.id, user: profile.id)
    }

    /// The catalog model a client names, through the admins' aliases, or `nil` for `auto` (the
    /// coach's model). Unlike /api/chat, a name that maps to no enabled model is a 404, not a fallback.
    static func model(named name: String, in catalog: CatalogSnapshot) throws(ModelgateError) -> ModelID? {
        guard name != "auto" else { return nil }
        guard let id = catalog.resolve(name), catalog.model(id)?.enabled == true else { throw .notFound(what: "model", id: name) }
        return id
    }

    /// The stand-ins a `/v1` call may fail over to: the header can switch failover off; `models` names
    /// the caller's own list (each must be in the catalog: an unknown one is refused, not dropped).
    static func failover(_ header: String?, models: [String]?, catalog: CatalogSnapshot) throws(ModelgateError) -> FailoverChoice {
        switch header?.lowercased() {
        case nil, "on": break
        case "off": return .off
        default: throw .invalidField(field: "X-Modelgate-Failover", reason: "must be on or off")
        }
        guard let models else { return .catalog }
        guard models.count <= 8 else { throw .invalidField(field: "models", reason: "takes at most 8 models") }
        for (index, model) in models.enumerated() where catalog.model(ModelID(model)) == nil {
            throw .invalidField(field: "models.\(index)", reason: "'\(model)' is not a model of this server")
        }
        return .models(models.map(ModelID.init(rawValue:)))
    }

    private func respond(_ reply: ChatReply, to body: CompletionRequest, id: String, user: UserID) async throws -> Response {
        let completion = CompletionWriter(
            id: "chatcmpl-" + id, created: Int(clock.now().timeIntervalSince1970), model: reply.admission.choice.model.id.rawValue,
            settle: { [recorder] in _ = await recorder.record(reply, user: user) })
        var response = body.stream == true
            ? completion.streaming(reply, includeUsage: body.stream_options?.include_usage == true, shutdown: chat.shutdown)
            : try await completion.whole(reply)
        if let from = reply.admission.failoverFrom { response.headers[Self.failoverFromHeader] = from.rawValue }
        return response
    }
}

/// Renders a reply in OpenAI's completion shapes.
struct CompletionWriter: Sendable {
    let id: String
    let created: Int
    let model: String
    /// Settles the call's tokens and cost once its stream is over, however it ended.
    let settle: @Sendable () async -> Void

    func whole(_ reply: ChatReply) async throws -> Response {
        try await SettledReply(reply: reply, settle: settle).drain()
        let calls = reply.toolCalls
        var message: [String: JSONValue] = [
            "role": .string("assistant"), "content": reply.text.isEmpty && !calls.isEmpty ? .null : .string(reply.text), "refusal": .null,
        ]
        if !calls.isEmpty {
            message["tool_calls"] = .array(calls.map { call in
                .object(["id": .string(call.id), "type": .string("function"),
                         "function": .object(["name": .string(call.name), "arguments": .string(call.arguments)])])
            })
        }
        let body: JSONValue = .object([
            "id": .string(id), "object": .string("chat.completion"), "created": .number(Double(created)), "model": .string(model),
            "choices": .array([.object([
                "index": .number(0), "message": .object(message), "logprobs": .null,
                "finish_reason": .string((reply.finishReason ?? .stop).rawValue),
            ])]),
            "usage": Self.usage(reply.tokens, costMicros: reply.costMicros),
            // Modelgate's own: the model meant, when `model` stood in for it.
            "failover_from": reply.admission.failoverFrom.map { .string($0.rawValue) } ?? .null,
        ])
        return try JSONBody(body).response()
    }

    /// The reply as OpenAI's chunks; a failure (a provider's, or the end of a deploy's grace
    /// period) is an error envelope before `[DONE]`.
    func streaming(_ reply: ChatReply, includeUsage: Bool, shutdown: ShutdownState) -> Response {
        SettledReply(reply: reply, settle: settle).stream { writer in try await write(reply, includeUsage: includeUsage, shutdown: shutdown, to: &writer) }
    }

    private func write(_ reply: ChatReply, includeUsage: Bool, shutdown: ShutdownState, to writer: inout any ResponseBodyWriter) async throws {
        try await writer.write(chunk(delta: .object(["role": .string("assistant"), "content": .string("")]), finish: nil))
        loop: for await item in ReplyPump.items(of: reply, heartbeat: .seconds(1), shutdown: shutdown) {
            switch item {
            case .event(.delta(let text)): try await writer.write(chunk(delta: .object(["content": .string(text)]), finish: nil))
            case .event(.toolCall(let call)): try await writer.write(chunk(delta: .object(["tool_calls": .array([Self.toolCall(call)])]), finish: nil))
            case .event(.finish(let reason, _)):
                try await writer.write(chunk(delta: .object([:]), finish: reason.rawValue))
                if includeUsage { try await writer.write(line(usageChunk(reply.tokens, costMicros: reply.costMicros))) }
            case .heartbeat: continue
            case .failed(let error):
                try await writer.write(line(OpenAIError(Problem(error)).envelope))
                break loop
            }
        }
        try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
    }

    private func chunk(delta: JSONValue, finish: String?) -> ByteBuffer {
        line(.object([
            "id": .string(id), "object": .string("chat.completion.chunk"), "created": .number(Double(created)), "model": .string(model),
            "choices": .array([.object(["index": .number(0), "delta": delta, "finish_reason": finish.map(JSONValue.string) ?? .null])]),
            "usage": .null,
        ]))
    }

    private func usageChunk(_ usage: TokenUsage, costMicros: Int) -> JSONValue {
        .object([
            "id": .string(id), "object": .string("chat.completion.chunk"), "created": .number(Double(created)), "model": .string(model),
            "choices": .array([]), "usage": Self.usage(usage, costMicros: costMicros),
        ])
    }

    private func line(_ value: JSONValue) -> ByteBuffer {
        ByteBuffer(string: "data: " + value.jsonText + "\n\n")
    }

    /// OpenAI's usage object, plus Modelgate's `cost_micros` (the provider cost at list prices, in
    /// micro-dollars) and `estimated` (the provider reported no usage: counts are characters / 4).
    static func usage(_ usage: TokenUsage, costMicros: Int) -> JSONValue {
        .object([
            "prompt_tokens": .number(Double(usage.inputTokens)), "completion_tokens": .number(Double(usage.outputTokens)),
            "total_tokens": .number(Double(usage.inputTokens + usage.outputTokens)),
            "prompt_tokens_details": .object(["cached_tokens": .number(Double(usage.cachedInputTokens))]),
            "completion_tokens_details": .object(["reasoning_tokens": .number(Double(usage.reasoningTokens))]),
            "cost_micros": .number(Double(costMicros)), "estimated": .bool(usage.estimated),
        ])
    }

    /// A tool call piece as OpenAI streams it: `id`, `type` and `name` only in a call's first piece
    /// (the SDKs concatenate repeated strings).
    static func toolCall(_ call: ToolCallDelta) -> JSONValue {
        var function: [String: JSONValue] = ["arguments": .string(call.arguments)]
        var entry: [String: JSONValue] = ["index": .number(Double(call.index))]
        if let id = call.id {
            entry["id"] = .string(id)
            entry["type"] = .string("function")
        }
        if let name = call.name { function["name"] = .string(name) }
        entry["function"] = .object(function)
        return .object(entry)
    }
}
