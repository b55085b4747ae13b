import Foundation
import Logging
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP

/// Settles a finished (or cut) reply — its tokens, cost and budget hold — and stores a `/api/chat`
/// exchange, for both chat routes.
public struct ReplyRecorder: Sendable {
    let chat: ChatService
    let logger: Logger

    public init(chat: ChatService, logger: Logger) {
        self.chat = chat
        self.logger = logger
    }

    /// Stores the exchange; a failure is logged and reported, never cuts a delivered reply. A
    /// database that is briefly away (a restart, a failover) is waited for up to 15 s, so its
    /// charged turn is not lost.
    func record(_ reply: ChatReply, user: UserID) async -> Problem? {
        let deadline = ContinuousClock.now.advanced(by: .seconds(15))
        var pause = Duration.milliseconds(200)
        while true {
            do {
                try await chat.record(reply, for: user)
                return nil
            } catch ModelgateError.databaseUnavailable where ContinuousClock.now < deadline && !chat.shutdown.streamsMustEnd {
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(2))
            } catch {
                return failedToRecord(reply, error)
            }
        }
    }

    /// 503 when the database stayed away (it is not this server's fault), else 500.
    private func failedToRecord(_ reply: ChatReply, _ error: any Error) -> Problem {
        logger.error("chat turn not stored", metadata: ["error": "\(String(reflecting: error))", "conversation": "\(reply.conversation?.id ?? "")"])
        let away = (error as? ModelgateError) == .databaseUnavailable
        return Problem(status: away ? .serviceUnavailable : .internalServerError, code: "history_not_saved", title: "History not saved",
                       detail: "The reply was delivered but could not be stored in the conversation history.")
    }

}
