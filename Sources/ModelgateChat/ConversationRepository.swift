import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateStore
import SQLKit

public struct ConversationSummary: Sendable, Equatable, Codable {
    public let id: String
    public let personaId: PersonaID
    public let title: String
    public let createdAt: Date
    public let updatedAt: Date
}

/// A reply as the settings page's history lists it.
public struct RecentReply: Sendable, Equatable {
    public let at: Date
    public let persona: PersonaID
    public let model: ModelID?
    public let failoverFrom: ModelID?
    public let costMicros: Int?
}

/// Who wrote a stored turn.
public enum ChatRole: String, Sendable, Codable {
    case user, assistant
}

public struct StoredMessage: Sendable, Equatable, Codable {
    public let id: Int
    public let role: ChatRole
    public let content: String
    public let modelId: ModelID?
    public let paymentKind: PaymentKind?
    public let selectionReason: SelectionReason?
    public let inputTokens: Int?
    /// Of `inputTokens`, those the provider read from its prompt cache.
    public let cachedInputTokens: Int?
    /// Of `inputTokens`, those written to the provider's prompt cache (Anthropic).
    public let cacheWriteTokens: Int?
    public let outputTokens: Int?
    /// Of `outputTokens`, hidden reasoning ("thoughts").
    public let reasoningTokens: Int?
    /// The exchange's provider cost in micro-dollars at the price in force then (on the reply).
    public let costMicros: Int?
    /// True when the provider reported no usage and the counts are estimates (characters / 4).
    public let usageEstimated: Bool?
    /// The model the message was meant for, when a stand-in answered it.
    public let failoverFrom: ModelID?
    public let createdAt: Date
    /// Images of a user turn.
    public let attachments: [AttachmentSummary]
    /// Tools an assistant turn called.
    public let toolCalls: [ToolCall]
    /// Results of those calls, sent with the next user turn.
    public let toolResults: [StoredToolResult]

    /// The attachment ids of the turn, for loading the images again.
    public var attachmentIDs: [String] { attachments.map(\.id) }
}

/// One exchange to store: the user's message and the reply, with how it was chosen and paid.
public struct ChatExchange: Sendable {
    public let conversationID: String
    public let user: UserID
    public let persona: PersonaID
    public let isNewConversation: Bool
    public let message: String
    public let reply: String
    public let model: ModelID
    public let payment: PaymentKind
    public let reason: SelectionReason
    public let tokens: TurnTokens
    public let costMicros: Int
    /// The model the message was meant for, when a stand-in (`model`) answered it.
    public var failoverFrom: ModelID?
    /// Images of the user's turn, new with it.
    public var attachments: [StoredAttachment] = []
    public var toolResults: [StoredToolResult] = []
    public var toolCalls: [ToolCall] = []

    public init(conversationID: String, user: UserID, persona: PersonaID, isNewConversation: Bool, message: String, reply: String,
                model: ModelID, payment: PaymentKind, reason: SelectionReason, tokens: TurnTokens, costMicros: Int) {
        self.conversationID = conversationID
        self.user = user
        self.persona = persona
        self.isNewConversation = isNewConversation
        self.message = message
        self.reply = reply
        self.model = model
        self.payment = payment
        self.reason = reason
        self.tokens = tokens
        self.costMicros = costMicros
    }
}

/// Chat history. Every read is filtered by the owner, so one user can never see another's turns.
public struct ConversationRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    public func find(_ id: String, ownedBy user: UserID) async throws -> ConversationSummary? {
        try await database.read { db in
            try await db.raw("""
                SELECT id, persona_id, title, created_at, updated_at FROM conversations
                WHERE id = \(bind: id) AND user_id = \(bind: user.description)
                """).first().map(Self.decodeSummary)
        }
    }

    /// The user's conversations, most recently updated first: `limit` of them after the conversation
    /// `after` (the last of the previous page; a conversation of another user starts no page).
    public func list(ownedBy user: UserID, limit: Int, after: String? = nil) async throws -> [ConversationSummary] {
        try await database.read { db in
            let page: SQLQueryString = after.map { after in
                let at: SQLQueryString = "(SELECT updated_at FROM conversations WHERE id = \(bind: after) AND user_id = \(bind: user.description))"
                return "AND (updated_at < \(at) OR (updated_at = \(at) AND id > \(bind: after)))"
            } ?? ""
            return try await db.raw("""
                SELECT id, persona_id, title, created_at, updated_at FROM conversations
                WHERE user_id = \(bind: user.description) \(page) ORDER BY updated_at DESC, id LIMIT \(bind: limit)
                """).all().map(Self.decodeSummary)
        }
    }

    /// The user's latest replies across conversations, newest first: which model answered, for whom
    /// it was meant when a stand-in did, and what it cost.
    public func recentReplies(ownedBy user: UserID, limit: Int = 10) async throws -> [RecentReply] {
        try await database.read { db in
            try await db.raw("""
                SELECT m.created_at, c.persona_id, m.model_id, m.failover_from, m.cost_micros FROM messages m
                JOIN conversations c ON c.id = m.conversation_id
                WHERE c.user_id = \(bind: user.description) AND m.role = 'assistant' ORDER BY m.id DESC LIMIT \(bind: limit)
                """).all().map { row in
                RecentReply(
                    at: try row.decode(column: "created_at", as: Date.self), persona: PersonaID(try row.decode(column: "persona_id", as: String.self)),
                    model: try row.decode(column: "model_id", as: String?.self).map(ModelID.init(rawValue:)),
                    failoverFrom: try row.decode(column: "failover_from", as: String?.self).map(ModelID.init(rawValue:)),
                    costMicros: try row.decode(column: "cost_micros", as: Int?.self))
            }
        }
    }

    /// Messages of a conversation the user owns, oldest first: the last `limit` when given, of
    /// those older than message `before` when given (the next page back).
    public func messages(of id: String, ownedBy user: UserID, limit: Int? = nil, before: Int? = nil) async throws -> [StoredMessage] {
        try await database.read { db in
            let rows = try await db.raw("""
                SELECT m.id, m.role, m.content, m.model_id, COALESCE(m.payment_source, m.payment_kind) AS payment_kind, m.selection_reason, m.input_tokens, m.cached_input_tokens,
                       m.cache_write_tokens, m.output_tokens, m.reasoning_tokens, m.cost_micros, m.usage_estimated, m.failover_from, m.created_at,
                       m.attachment_ids, m.tool_calls, m.tool_results
                FROM messages m JOIN conversations c ON c.id = m.conversation_id
                WHERE m.conversation_id = \(bind: id) AND c.user_id = \(bind: user.description) AND m.id < \(bind: before ?? Int.max)
                ORDER BY m.id DESC LIMIT \(bind: limit ?? Int(Int32.max))
                """).all()
            let ids: [[String]] = try rows.map { try JSONColumn.decode(try $0.decode(column: "attachment_ids", as: String?.self), column: "attachment_ids") }
            let summaries = try await attachmentSummaries(ids.flatMap { $0 }, in: id, ownedBy: user, in: db)
            return try zip(rows, ids).reversed().map { row, ids in
                StoredMessage(
                    id: try row.decode(column: "id", as: Int.self),
                    role: try row.decodeEnum(column: "role", as: ChatRole.self),
                    content: try row.decode(column: "content", as: String.self),
                    modelId: try row.decode(column: "model_id", as: String?.self).map(ModelID.init(rawValue:)),
                    paymentKind: try row.decodeEnum(column: "payment_kind", as: PaymentKind?.self),
                    selectionReason: try row.decodeEnum(column: "selection_reason", as: SelectionReason?.self),
                    inputTokens: try row.decode(column: "input_tokens", as: Int?.self),
                    cachedInputTokens: try row.decode(column: "cached_input_tokens", as: Int?.self),
                    cacheWriteTokens: try row.decode(column: "cache_write_tokens", as: Int?.self),
                    outputTokens: try row.decode(column: "output_tokens", as: Int?.self),
                    reasoningTokens: try row.decode(column: "reasoning_tokens", as: Int?.self),
                    costMicros: try row.decode(column: "cost_micros", as: Int?.self),
                    usageEstimated: try row.decode(column: "usage_estimated", as: Bool?.self),
                    failoverFrom: try row.decode(column: "failover_from", as: String?.self).map(ModelID.init(rawValue:)),
                    createdAt: try row.decode(column: "created_at", as: Date.self),
                    attachments: ids.compactMap { summaries[$0] },
                    toolCalls: try JSONColumn.decode(try row.decode(column: "tool_calls", as: String?.self), column: "tool_calls"),
                    toolResults: try JSONColumn.decode(try row.decode(column: "tool_results", as: String?.self), column: "tool_results"))
            }
        }
    }

    /// Stores both turns of an exchange (and the conversation when new) in one transaction, with
    /// what `alsoWrite` writes (the call's settlement).
    public func record(_ exchange: ChatExchange, at now: Date,
                       alsoWrite extra: @escaping @Sendable (any SQLDatabase) async throws -> Void = { _ in }) async throws {
        try await database.transaction { db in
            if exchange.isNewConversation {
                try await db.raw("""
                    INSERT INTO conversations (id, user_id, persona_id, title, created_at, updated_at)
                    VALUES (\(bind: exchange.conversationID), \(bind: exchange.user.description), \(bind: exchange.persona.rawValue),
                            \(bind: String(exchange.message.prefix(80))), \(bind: now), \(bind: now))
                    """).run()
            } else {
                try await db.raw("UPDATE conversations SET updated_at = \(bind: now) WHERE id = \(bind: exchange.conversationID)").run()
            }
            try await Self.insert(exchange.attachments, user: exchange.user, at: now, in: db)
            let tokens = exchange.tokens
            // The first schema's CHECK on `payment_kind` names three kinds; later ones go to `payment_source`.
            let laterKind = [.plan, .credits].contains(exchange.payment) ? exchange.payment.rawValue : nil
            let firstKind = laterKind == nil ? exchange.payment.rawValue : nil
            try await db.raw("""
                INSERT INTO messages (conversation_id, role, content, model_id, payment_kind, payment_source, selection_reason, input_tokens,
                                      cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_micros, usage_estimated,
                                      failover_from, created_at, attachment_ids, tool_calls, tool_results)
                VALUES (\(bind: exchange.conversationID), 'user', \(bind: exchange.message), \(bind: exchange.model.rawValue),
                        \(bind: firstKind), \(bind: laterKind), \(bind: exchange.reason.rawValue), \(bind: tokens.inputTokens),
                        \(bind: tokens.cachedInputTokens), \(bind: tokens.cacheWriteTokens), NULL, NULL, NULL, \(bind: tokens.estimated),
                        \(bind: exchange.failoverFrom?.rawValue), \(bind: now),
                        \(bind: JSONColumn.encode(exchange.attachments.map(\.id))), NULL, \(bind: JSONColumn.encode(exchange.toolResults))),
                       (\(bind: exchange.conversationID), 'assistant', \(bind: exchange.reply), \(bind: exchange.model.rawValue),
                        \(bind: firstKind), \(bind: laterKind), \(bind: exchange.reason.rawValue), NULL, NULL, NULL, \(bind: tokens.outputTokens),
                        \(bind: tokens.reasoningTokens), \(bind: exchange.costMicros), \(bind: tokens.estimated),
                        \(bind: exchange.failoverFrom?.rawValue), \(bind: now),
                        NULL, \(bind: JSONColumn.encode(exchange.toolCalls)), NULL)
                """).run()
            try await extra(db)
        }
    }

    private static func decodeSummary(_ row: any SQLRow) throws -> ConversationSummary {
        ConversationSummary(
            id: try row.decode(column: "id", as: String.self),
            personaId: PersonaID(try row.decode(column: "persona_id", as: String.self)),
            title: try row.decode(column: "title", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Date.self),
            updatedAt: try row.decode(column: "updated_at", as: Date.self))
    }
}
