import Foundation
import Logging
import ModelgateChat
import ModelgateCore
import ServiceLifecycle

/// Deletes stored Responses API answers past their retention every `interval`. Reads never return
/// an expired answer, so the purge only frees space; every instance purges, a row goes once.
struct ResponsePurger: Service {
    let responses: StoredResponses
    let clock: any WallClock
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // A shutdown ends the wait at once instead of after an interval.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return }
            await purgeOnce()
        }
    }

    func purgeOnce() async {
        do {
            let purged = try await responses.purge(at: clock.now())
            if purged > 0 { logger.info("expired stored responses deleted", metadata: ["responses": "\(purged)"]) }
        } catch {
            logger.warning("stored response purge failed", metadata: ["error": "\(error)"])
        }
    }
}
