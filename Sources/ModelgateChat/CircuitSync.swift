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

    /// One round: publish, then read. A database that is away is tried again next round, with what
    /// could not be published.
    func syncOnce() async {
        var changes = breaker.takeChanges()
        do {
            while let change = changes.first {
                try await circuits.publish(change.provider, openUntil: change.openUntil)
                changes.removeFirst()
            }
            breaker.adopt(try await circuits.open(at: clock.now()))
        } catch {
            breaker.requeue(changes)
            logger.warning("provider circuits not shared this round", metadata: ["error": "\(error)"])
        }
    }
}

extension ChatService {
    /// Shares this instance's circuits with the other instances on one PostgreSQL, every `interval`.
    public func circuitSync(database: Database, interval: Duration, logger: Logger) -> some Service {
        CircuitSync(breaker: breaker, circuits: ProviderCircuits(database: database), clock: clock, interval: interval, logger: logger)
    }
}
