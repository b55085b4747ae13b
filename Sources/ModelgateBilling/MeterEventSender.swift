import Foundation
import Logging
import ModelgateCore
import ModelgateMetrics
import ModelgateStore
import ServiceLifecycle
import SQLKit

/// Reports metered calls to Stripe from the outbox, oldest first, until Stripe has each one: a row
/// is marked delivered only after Stripe accepted it (or said it already had it), so every call is
/// counted exactly once whatever dies in between. On PostgreSQL a batch is claimed with
/// `FOR UPDATE SKIP LOCKED` in a transaction that lasts until Stripe answered, so instances never
/// send the same event at the same time; on SQLite (one process) rows are read, sent, then marked.
public final class MeterEventSender: Service, Sendable {
    public enum Pass: Sendable, Equatable {
        case idle
        /// Events Stripe now has, and events it refused or could not be reached for.
        case sent(delivered: Int, failed: Int)
    }

    let stripe: StripeClient
    let database: Database
    let clock: any WallClock
    let metrics: ModelgateMetrics
    let logger: Logger
    let batchSize: Int
    let pollInterval: Duration
    let backoff: Backoff
    let sleep: @Sendable (Duration) async throws -> Void

    public init(stripe: StripeClient, database: Database, clock: any WallClock, metrics: ModelgateMetrics, logger: Logger, batchSize: Int = 50,
                pollInterval: Duration = .seconds(1), backoff: Backoff = Backoff(),
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.stripe = stripe
        self.database = database
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.backoff = backoff
        self.sleep = sleep
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown { try await self.loop() }
        _ = await deliverOnce()
    }

    func loop() async throws {
        var failures = 0
        while !Task.isCancelled {
            let pass = await deliverOnce()
            if let depth = try? await depth() { metrics.meterOutboxDepth(depth) }
            switch pass {
            case .sent(let delivered, 0) where delivered == batchSize:
                failures = 0
            case .idle, .sent(_, 0):
                failures = 0
                try await sleep(pollInterval)
            case .sent:
                failures += 1
                try await sleep(backoff.delay(afterFailures: failures, random: Double.random(in: 0..<1)))
            }
        }
    }

    /// Sends one batch of pending events and marks each by Stripe's answer.
    public func deliverOnce() async -> Pass {
        do {
            switch database.backend {
            case .postgres:
                return try await database.transaction { db in
                    try await self.settle(try await MeterOutbox.pending(limit: self.batchSize, lock: true, in: db), in: db)
                }
            case .sqlite:
                let limit = batchSize
                let events = try await database.read { try await MeterOutbox.pending(limit: limit, lock: false, in: $0) }
                let results = await send(events)
                return try await database.write { try await self.mark(results, in: $0) }
            }
        } catch {
            if !Task.isCancelled { logger.warning("meter outbox unavailable", metadata: ["error": "\(error)"]) }
            return .sent(delivered: 0, failed: 1)
        }
    }

    private func settle(_ events: [PendingMeterEvent], in db: any SQLDatabase) async throws -> Pass {
        try await mark(await send(events), in: db)
    }

    private func send(_ events: [PendingMeterEvent]) async -> [(PendingMeterEvent, Result<MeterEventReceipt, any Error>)] {
        var results: [(PendingMeterEvent, Result<MeterEventReceipt, any Error>)] = []
        for event in events {
            do {
                results.append((event, .success(try await stripe.reportMeterEvent(event))))
            } catch {
                // Stopping mid-request: the rest stay pending for the next run.
                if Task.isCancelled { break }
                results.append((event, .failure(error)))
            }
        }
        return results
    }

    private func mark(_ results: [(PendingMeterEvent, Result<MeterEventReceipt, any Error>)], in db: any SQLDatabase) async throws -> Pass {
        guard !results.isEmpty else { return .idle }
        var failed = 0
        for (event, result) in results {
            switch result {
            case .success:
                try await MeterOutbox.markDelivered(event.id, at: clock.now(), in: db)
            case .failure(let error):
                failed += 1
                logger.warning("Stripe did not take a meter event", metadata: ["identifier": "\(event.id)", "error": "\(error)"])
                try await MeterOutbox.markFailed(event.id, error: "\(error)", in: db)
            }
        }
        metrics.meterEvents(.delivered, count: results.count - failed)
        metrics.meterEvents(.failed, count: failed)
        return .sent(delivered: results.count - failed, failed: failed)
    }

    /// Events still waiting for Stripe.
    public func depth() async throws -> Int {
        try await database.read { try await MeterOutbox.depth(in: $0) }
    }
}
