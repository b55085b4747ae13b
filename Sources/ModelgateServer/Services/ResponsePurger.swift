import Foundation
import Logging
import ModelgateChat
import ModelgateCore

/// Deletes stored Responses API answers past their retention (run every 10 minutes). Reads never return
/// an expired answer, so the purge only frees space; every instance purges, a row goes once.
struct ResponsePurger: Sendable {
    let responses: StoredResponses
    let clock: any WallClock
    let logger: Logger

    func purgeOnce() async {
        do {
            let purged = try await responses.purge(at: clock.now())
            if purged > 0 { logger.info("expired stored responses deleted", metadata: ["responses": "\(purged)"]) }
        } catch {
            logger.warning("stored response purge failed", metadata: ["error": "\(error)"])
        }
    }
}
