import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateStore

/// Settling a call once its stream is over: tokens and cost against the budget hold, the analytics
/// event, and for `/api/chat` the exchange stored in the same transaction.
extension ChatService {
    /// Once the stream is over, whether it finished or was cut after text: settles the call's tokens
    /// and cost against its budget hold, and stores the exchange of a `/api/chat` conversation in the
    /// same transaction. Call it once per reply.
    func record(_ reply: ChatReply, for user: UserID) async throws {
        let settlement = reply.settlement(for: user)
        guard let conversation = reply.conversation else { return try await settle(settlement) }
        let now = clock.now()
        do {
            try await conversations.record(exchange(of: reply, in: conversation, user: user, settlement: settlement), at: now) { [outbox] db in
                try await SpendLedger.settle(settlement, at: now, in: db)
                _ = try await outbox.enqueue([Self.completed(settlement)], for: user, at: now, in: db)
            }
        } catch is AlreadySettled {
            // A try whose commit was not answered stored it: the turn is there once.
        }
        // Counted once it is stored: a retried write must not count twice.
        metrics.providerCost(model: settlement.model, micros: settlement.costMicros)
    }

    /// Settles a call that stores no turn (`/v1`, background tasks, embeddings) with its analytics event.
    func settle(_ settlement: CallSettlement) async throws {
        try await spend.settle(settlement, events: [Self.completed(settlement)], outbox: outbox, at: clock.now())
        metrics.providerCost(model: settlement.model, micros: settlement.costMicros)
    }

    private static func completed(_ settlement: CallSettlement) -> AnalyticsEvent {
        .modelMessageCompleted(model: settlement.model, modelCost: settlement.costMicros, inputTokens: settlement.tokens.inputTokens,
                               outputTokens: settlement.tokens.outputTokens, isEstimated: settlement.tokens.estimated)
    }

    private func exchange(of reply: ChatReply, in conversation: ChatReply.Conversation, user: UserID, settlement: CallSettlement) -> ChatExchange {
        let admission = reply.admission
        var exchange = ChatExchange(
            conversationID: conversation.id, user: user, persona: conversation.persona,
            isNewConversation: conversation.isNew, message: conversation.turn.text, reply: reply.text,
            model: admission.choice.model.id, payment: admission.payment, reason: admission.choice.reason,
            tokens: settlement.tokens, costMicros: settlement.costMicros)
        exchange.attachments = conversation.turn.attachments
        exchange.toolResults = conversation.turn.toolResults
        exchange.toolCalls = reply.toolCalls
        exchange.failoverFrom = admission.failoverFrom
        return exchange
    }
}
