import Foundation
import Logging
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP

/// Settles a finished (or cut) reply — its tokens, cost and budget hold — and stores a `/api/chat`
/// exchange, for every door (embeddings too).
public struct ReplyRecorder: Sendable {
    let chat: ChatService
    let logger: Logger

    public init(chat: ChatService, logger: Logger) {
        self.chat = chat
        self.logger = logger
    }

    /// Settles the call and stores the exchange; a failure is logged and reported, never cuts a
    /// delivered reply. A database that is briefly away (a restart, a failover) is waited for up to
    /// 15 s; past that the settlement goes on being tried in the background for the call's lifetime,
    /// after which the sweep has returned its hold (it is idempotent: a try whose commit went
    /// unanswered is not booked twice).
    func record(_ reply: ChatReply, user: UserID) async -> Problem? {
        await record(call: reply.admission.id, conversation: reply.conversation?.id) { [chat] in try await chat.record(reply, for: user) }
    }

    /// Settles an embedding call, as a chat call without a conversation is.
    func record(_ reply: EmbeddingReply, user: UserID) async -> Problem? {
        await record(call: reply.admission.id, conversation: nil) { [chat] in
            try await chat.settle(reply.admission.settlement(for: user, tokens: reply.tokens))
        }
    }

    private func record(call: String, conversation: String?, _ write: @escaping @Sendable () async throws -> Void) async -> Problem? {
        guard let error = await tryRecording(write, for: .seconds(15)) else { return nil }
        if (error as? ModelgateError) == .databaseUnavailable {
            Task { [self] in
                if let error = await tryRecording(write, for: .seconds(OpenCallGate.callLifetime)) {
                    logger.error("chat call never settled", metadata: ["error": "\(String(reflecting: error))", "call": "\(call)"])
                }
            }
        }
        return failedToRecord(conversation: conversation, error)
    }

    /// Tries to record until it succeeds, fails otherwise than by the database being away, the
    /// instance's streams must end, or `patience` is over: the error it ended with, nil once recorded.
    private func tryRecording(_ write: () async throws -> Void, for patience: Duration) async -> (any Error)? {
        let deadline = ContinuousClock.now.advanced(by: patience)
        var pause = Duration.milliseconds(200)
        while true {
            do {
                try await write()
                return nil
            } catch ModelgateError.databaseUnavailable where ContinuousClock.now < deadline && !chat.shutdown.streamsMustEnd {
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(5))
            } catch {
                return error
            }
        }
    }

    /// 503 when the database stayed away (it is not this server's fault), else 500.
    private func failedToRecord(conversation: String?, _ error: any Error) -> Problem {
        logger.error("chat turn not stored", metadata: ["error": "\(String(reflecting: error))", "conversation": "\(conversation ?? "")"])
        let away = (error as? ModelgateError) == .databaseUnavailable
        return Problem(status: away ? .serviceUnavailable : .internalServerError, code: "history_not_saved", title: "History not saved",
                       detail: "The reply was delivered but could not be stored in the conversation history yet.")
    }

}
