import Foundation
import Hummingbird
import Logging
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders
import ModelgateStore

struct ChatMeta: Encodable, Sendable {
    let modelId: ModelID
    let reason: SelectionReason
    let isTrialMessage: Bool
    let paymentKind: PaymentKind
    let usage: UsageView
    let trialMessagesRemaining: Int?
    let conversationId: String
    let skipped: [SkippedChoice]
    /// The model the message was meant for when a stand-in answers (its provider failed before the first token).
    let failoverFrom: ModelID?

    init(_ reply: ChatReply) {
        let admission = reply.admission
        modelId = admission.choice.model.id
        reason = admission.choice.reason
        isTrialMessage = admission.payment == .trial
        paymentKind = admission.payment
        usage = UsageView(admission.usage)
        trialMessagesRemaining = admission.trialMessagesRemaining
        conversationId = reply.conversation?.id ?? ""
        skipped = admission.choice.skipped
        failoverFrom = admission.failoverFrom
    }
}

struct ChatDelta: Encodable, Sendable { let text: String }

struct ChatDone: Encodable, Sendable {
    let finishReason: FinishReason
    /// As the provider reported it, or estimated (characters / 4) and marked `estimated` when it did not.
    let usage: TokenUsage
    /// The provider cost of the exchange at list prices, in micro-dollars.
    let costMicros: Int
    /// The tools the reply called (the app runs them and sends `toolResults` back).
    let toolCalls: [ToolCall]
}

/// Reads a reply on its own task and interleaves heartbeats, so the writer notices a client that
/// left even while the provider is silent. Ending the iteration cancels the provider call.
enum ReplyPump {
    enum Item<Event: Sendable>: Sendable {
        case event(Event)
        case heartbeat
        case failed(any Error)
    }

    /// A reply's events as the doors without thinking show them (they never ask for it).
    enum TextEvent: Sendable {
        case delta(String)
        case toolCall(ToolCallDelta)
        case finish(reason: FinishReason, usage: TokenUsage)

        init?(_ event: ProviderEvent) {
            switch event {
            case .delta(let text): self = .delta(text)
            case .toolCall(let call): self = .toolCall(call)
            case .finish(let reason, let usage): self = .finish(reason: reason, usage: usage)
            case .thinking: return nil
            }
        }
    }

    /// The reply's events but thinking, a heartbeat every `heartbeat`, and — once `shutdown` says
    /// open streams must end — a `shuttingDown` failure that ends it.
    static func items(of reply: ChatReply, heartbeat: Duration, shutdown: ShutdownState) -> AsyncStream<Item<TextEvent>> {
        pump(reply, heartbeat: heartbeat, shutdown: shutdown, TextEvent.init)
    }

    /// Every event of the reply, thinking included (the Messages API's).
    static func allItems(of reply: ChatReply, heartbeat: Duration, shutdown: ShutdownState) -> AsyncStream<Item<ProviderEvent>> {
        pump(reply, heartbeat: heartbeat, shutdown: shutdown) { $0 }
    }

    private static func pump<Event: Sendable>(_ reply: ChatReply, heartbeat: Duration, shutdown: ShutdownState,
                                              _ shown: @escaping @Sendable (ProviderEvent) -> Event?) -> AsyncStream<Item<Event>> {
        AsyncStream { continuation in
            let reader = Task {
                do {
                    while let event = try await reply.next() {
                        if let shown = shown(event) { continuation.yield(.event(shown)) }
                    }
                } catch {
                    continuation.yield(.failed(error))
                }
                continuation.finish()
            }
            let ticker = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: heartbeat)
                    guard !shutdown.streamsMustEnd else {
                        continuation.yield(.failed(ModelgateError.shuttingDown))
                        continuation.finish()
                        return
                    }
                    continuation.yield(.heartbeat)
                }
            }
            continuation.onTermination = { _ in
                reader.cancel()
                ticker.cancel()
            }
        }
    }
}

/// A page of the user's conversations, most recently updated first.
struct ConversationList: Encodable, Sendable {
    let data: [ConversationSummary]
    /// Pass as `after` for the next page; `null` when there is none.
    let nextAfter: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(nextAfter, forKey: .nextAfter)
    }

    enum CodingKeys: String, CodingKey { case data, nextAfter }
}

/// A page of a conversation: its newest messages (or those before a cursor), oldest first.
struct ConversationDetail: Encodable, Sendable {
    let conversation: ConversationSummary
    let messages: [StoredMessage]
    /// Pass as `before` for the page of older messages; `null` when there are none.
    let nextBefore: Int?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(conversation, forKey: .conversation)
        try container.encode(messages, forKey: .messages)
        try container.encode(nextBefore, forKey: .nextBefore)
    }

    enum CodingKeys: String, CodingKey { case conversation, messages, nextBefore }
}

/// `POST /api/chat` streams a reply as server-sent events: `meta`, `delta`…, then `done` or one `error`.
public struct ChatRoutes: Sendable {
    let chat: ChatService
    let maxBodyBytes: Int
    let recorder: ReplyRecorder
    var heartbeat: Duration = .seconds(1)

    public init(chat: ChatService, maxBodyBytes: Int, recorder: ReplyRecorder, heartbeat: Duration = .seconds(1)) {
        self.chat = chat
        self.maxBodyBytes = maxBodyBytes
        self.recorder = recorder
        self.heartbeat = heartbeat
    }

    /// `calls` carries the chat call's admission; the other routes are on `group`.
    public func register(on group: RouterGroup<AppRequestContext>, calls: RouterGroup<AppRequestContext>) {
        calls.post("chat", use: startChat)
        group.get("conversations", use: conversations)
        group.get("conversations/:id", use: conversation)
        group.get("conversations/:id/attachments/:attachment", use: attachment)
    }

    @Sendable func startChat(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        let identity = try context.requireIdentity()
        let body = try await request.decodeJSON(ChatRequest.self, limit: maxBodyBytes)
        let reply = try await chat.start(body, for: identity.profile)
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                try await stream(reply, user: identity.user, requestID: context.id, to: &writer)
            })
    }

    @Sendable func conversation(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        let user = try context.requireIdentity().user
        let id = try context.parameters.require("id")
        let query = Query(request)
        let limit = try query.int("limit", default: 100, in: 1...500)
        let before = query.string("before") == nil ? nil : try query.int("before", default: 0, in: 1...Int.max)
        guard let conversation = try await chat.conversations.find(id, ownedBy: user) else {
            throw ModelgateError.notFound(what: "conversation", id: id)
        }
        // One more than the page tells whether an older page exists.
        let found = try await chat.conversations.messages(of: id, ownedBy: user, limit: limit + 1, before: before)
        let page = Array(found.suffix(limit))
        return JSONBody(ConversationDetail(conversation: conversation, messages: page, nextBefore: found.count > limit ? page.first?.id : nil))
    }

    @Sendable func attachment(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        let user = try context.requireIdentity().user
        let id = try context.parameters.require("id"), attachmentID = try context.parameters.require("attachment")
        guard try await chat.conversations.find(id, ownedBy: user) != nil,
              let attachment = try await chat.conversations.attachments([attachmentID], ownedBy: user).first else {
            throw ModelgateError.notFound(what: "attachment", id: attachmentID)
        }
        guard let data = attachment.data.flatMap({ Data(base64Encoded: $0) }) else {
            return Response.redirect(to: attachment.url ?? "/", type: .found)
        }
        return Response(status: .ok, headers: [.contentType: attachment.mediaType, .cacheControl: "private, max-age=86400"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A page of the caller's conversations; one more than the page tells whether another follows.
    @Sendable private func conversations(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<ConversationList> {
        let query = Query(request)
        let limit = try query.int("limit", default: 100, in: 1...500)
        let found = try await chat.conversations.list(ownedBy: try context.requireIdentity().user, limit: limit + 1, after: query.string("after"))
        let page = Array(found.prefix(limit))
        return JSONBody(ConversationList(data: page, nextAfter: found.count > limit ? page.last?.id : nil))
    }

    private func stream(_ reply: ChatReply, user: UserID, requestID: String, to writer: inout any ResponseBodyWriter) async throws {
        let items = ReplyPump.items(of: reply, heartbeat: heartbeat, shutdown: chat.shutdown)
        var recorded = false
        do {
            try await writer.write(Self.event("meta", ChatMeta(reply)))
            loop: for await item in items {
                switch item {
                case .event(.delta(let text)): try await writer.write(Self.event("delta", ChatDelta(text: text)))
                case .event(.finish(let reason, _)):
                    // Stored before `done` goes out: a client that saw its reply finish finds it in the
                    // history, even if this instance dies the next moment.
                    let failure = await recorder.record(reply, user: user)
                    recorded = true
                    try await writer.write(Self.event("done", ChatDone(finishReason: reason, usage: reply.tokens, costMicros: reply.costMicros, toolCalls: reply.toolCalls)))
                    if let failure { try await writer.write(Self.problemEvent(failure, requestID: requestID)) }
                // Tool calls arrive whole in `done`; the pieces are for OpenAI clients.
                case .event(.toolCall): break
                // A comment the client ignores; writing it is how a vanished client is noticed.
                case .heartbeat: try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                case .failed(let error):
                    // Text was already delivered: the message stays charged and the partial reply is kept.
                    let problem = Problem(error)
                    try await writer.write(Self.problemEvent(problem, requestID: requestID))
                    break loop
                }
            }
        } catch {
            // The client went away: store what was delivered; ending `items` cancels the provider call.
            if !recorded { _ = await recorder.record(reply, user: user) }
            throw error
        }
        if !recorded, let failure = await recorder.record(reply, user: user) {
            try await writer.write(Self.problemEvent(failure, requestID: requestID))
        }
        try await writer.finish(nil)
    }

    static func event(_ name: String, _ value: some Encodable) throws -> ByteBuffer {
        let data = String(decoding: try JSONEncoder.sorted.encode(value), as: UTF8.self)
        return ByteBuffer(string: ServerSentEvent(event: name, data: data).encoded)
    }

    static func problemEvent(_ problem: Problem, requestID: String) -> ByteBuffer {
        let text = String(decoding: problem.body(requestID: requestID), as: UTF8.self)
        return ByteBuffer(string: ServerSentEvent(event: "error", data: text).encoded)
    }
}
