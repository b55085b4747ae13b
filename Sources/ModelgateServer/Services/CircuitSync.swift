import Foundation
import Logging
import ModelgateCore
import ModelgateStore
import ServiceLifecycle

/// On PostgreSQL: publishes the circuits this instance opened or closed and takes in the others',
/// every `interval`, so an outage one instance found is skipped by all within about two intervals.
struct CircuitSync: Service {
    let breaker: CircuitBreaker
    let circuits: ProviderCircuits
    let clock: any WallClock
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await syncOnce()
            try? await Task.sleep(for: interval)
        }
    }

    /// One round: publish, then read. A database that is away is tried again next round.
    func syncOnce() async {
        let changes = breaker.takeChanges()
        do {
            for change in changes { try await circuits.publish(change.provider, openUntil: change.openUntil) }
            breaker.adopt(try await circuits.open(at: clock.now()))
        } catch {
            logger.warning("provider circuits not shared this round", metadata: ["error": "\(error)"])
        }
    }
}
