import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateMetrics
import ModelgateProviders
import ModelgateStore
import NIOConcurrencyHelpers
import SQLKit

/// A reply whose first provider event has arrived: from here on the user is charged and the HTTP
/// layer streams. One task reads events at a time; what was delivered so far is locked, because
/// the turn may be stored while a cancelled reader is still winding down.
final class ChatReply: @unchecked Sendable {
    struct Delivered: Sendable {
        var text = ""
        var toolCalls: [ToolCall] = []
        /// Anthropic's thinking blocks, in order (only the Messages API asks for them).
        var thinking: [ThinkingBlock] = []
        var finishReason: FinishReason?
        var usage = TokenUsage()

        /// Adds a piece of thinking: `start` and a redacted block open a block, text appends to the
        /// open one, a signature replaces its signature.
        mutating func add(_ delta: ThinkingDelta) {
            switch (delta, thinking.last) {
            case (.start, _): thinking.append(.thinking(text: "", signature: ""))
            case (.redacted(let data), _): thinking.append(.redacted(data: data))
            case (.text(let piece), .thinking(let text, let signature)?): thinking[thinking.count - 1] = .thinking(text: text + piece, signature: signature)
            case (.signature(let signature), .thinking(let text, _)?): thinking[thinking.count - 1] = .thinking(text: text, signature: signature)
            case (.text(let piece), _): thinking.append(.thinking(text: piece, signature: ""))
            case (.signature(let signature), _): thinking.append(.thinking(text: "", signature: signature))
            }
        }

        /// Adds a streamed piece of a tool call: a new index starts a call, others extend its arguments.
        mutating func add(_ delta: ToolCallDelta) {
            if delta.index >= toolCalls.count {
                toolCalls.append(ToolCall(id: delta.id ?? "call_\(delta.index)", name: delta.name ?? "", arguments: ""))
            }
            guard toolCalls.indices.contains(delta.index) else { return }
            toolCalls[delta.index].arguments += delta.arguments
        }
    }

    /// Where a `/api/chat` exchange is stored; the `/v1` doors keep none (the Responses API stores its own answers).
    struct Conversation: Sendable {
        let id: String
        let isNew: Bool
        let persona: PersonaID
        let turn: NewTurn
    }

    let admission: Admission
    let conversation: Conversation?
    /// The prompt's tokens, estimated: what the call is counted as when its provider reports no usage.
    let estimatedPromptTokens: Int
    private let metrics: ModelgateMetrics
    private let started = ContinuousClock.now
    private var iterator: ProviderStream.AsyncIterator
    private var pending: ProviderEvent?
    private let delivered = NIOLockedValueBox(Delivered())
    var text: String { delivered.withLockedValue { $0.text } }
    var toolCalls: [ToolCall] { delivered.withLockedValue { $0.toolCalls } }
    var thinking: [ThinkingBlock] { delivered.withLockedValue { $0.thinking } }
    var finishReason: FinishReason? { delivered.withLockedValue { $0.finishReason } }
    var usage: TokenUsage { delivered.withLockedValue { $0.usage } }

    init(admission: Admission, conversation: Conversation?, estimatedPromptTokens: Int, stream: ProviderStream, metrics: ModelgateMetrics) {
        self.admission = admission
        self.conversation = conversation
        self.estimatedPromptTokens = estimatedPromptTokens
        self.metrics = metrics
        self.iterator = stream.makeAsyncIterator()
    }

    private var provider: Provider { admission.choice.model.provider }

    /// What the call used as its provider reported it, or — when it reported nothing (a cut stream,
    /// a provider without usage) — estimated from the prompt and what was delivered, marked so.
    var tokens: TurnTokens {
        let delivered = delivered.withLockedValue { $0 }
        guard delivered.usage.inputTokens == 0, delivered.usage.outputTokens == 0 else { return delivered.usage }
        let thoughts = delivered.thinking.reduce(0) { total, block in if case .thinking(let text, _) = block { total + text.count } else { total } }
        let replyCharacters = delivered.text.count + thoughts + delivered.toolCalls.reduce(0) { $0 + $1.name.count + $1.arguments.count }
        return TurnTokens(inputTokens: estimatedPromptTokens, outputTokens: TurnTokens.estimate(characters: replyCharacters), estimated: true)
    }

    /// The call's provider cost in micro-dollars at the price in force when it was admitted.
    var costMicros: Int { admission.choice.model.prices?.cost(of: tokens) ?? 0 }

    func settlement(for user: UserID) -> CallSettlement { admission.settlement(for: user, tokens: tokens) }

    /// Waits for the provider's first event, so a failure before any text can still be refused
    /// with a proper status and the charge given back.
    func awaitFirstEvent() async throws {
        pending = try await iterator.next()
        if pending == nil { throw ProviderError.unavailable(reason: "empty stream") }
        metrics.providerFirstToken(provider, seconds: (ContinuousClock.now - started).seconds)
    }

    /// The next event, recording text and usage for the stored turn; `nil` at the end. A provider
    /// failure is thrown as the domain error the HTTP layer maps.
    func next() async throws -> ProviderEvent? {
        let event: ProviderEvent?
        if let pending {
            event = pending
            self.pending = nil
        } else {
            do {
                event = try await iterator.next()
            } catch {
                metrics.providerError(provider, code: .streamCut)
                throw ChatService.domainError(error, provider: provider)
            }
        }
        if event == nil { metrics.providerFinished(provider, seconds: (ContinuousClock.now - started).seconds) }
        delivered.withLockedValue { delivered in
            switch event {
            case .delta(let delta): delivered.text += delta
            case .toolCall(let delta): delivered.add(delta)
            case .thinking(let delta): delivered.add(delta)
            case .finish(let reason, let usage):
                delivered.finishReason = reason
                delivered.usage = usage
            case nil: break
            }
        }
        return event
    }
}

extension Admission {
    /// The call's tokens and cost at the price in force when it was admitted, and its budget hold to return.
    func settlement(for user: UserID, tokens: TurnTokens) -> CallSettlement {
        CallSettlement(id: id, user: user, model: choice.model.id, day: day, tokens: tokens, costMicros: choice.model.prices?.cost(of: tokens) ?? 0,
                       reservation: reservation, metered: metered)
    }
}
