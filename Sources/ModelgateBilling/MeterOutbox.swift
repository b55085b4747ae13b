import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// A meter event waiting for Stripe, with the customer its subscription bills.
struct PendingMeterEvent: Sendable, Equatable {
    /// The call's id: Stripe's `identifier`.
    let id: String
    let eventName: String
    let customer: String
    let value: Int
    let occurredAt: Date
}

/// The meter events' outbox: written in the settlement's transaction (`SpendLedger`), read and
/// marked here.
enum MeterOutbox {
    /// The oldest undelivered events whose subscription has a Stripe customer, fewest attempts first
    /// so one event Stripe keeps refusing does not hold back the rest. With `lock` (PostgreSQL,
    /// inside a transaction) other instances skip them meanwhile.
    static func pending(limit: Int, lock: Bool, in db: any SQLDatabase) async throws -> [PendingMeterEvent] {
        let locking: SQLQueryString = lock ? " FOR UPDATE OF m SKIP LOCKED" : ""
        return try await db.raw("""
            SELECT m.id, m.event_name, s.customer_id, m.value, m.occurred_at FROM meter_events m
            JOIN subscriptions s ON s.id = m.subscription_id
            WHERE m.delivered_at IS NULL AND s.customer_id IS NOT NULL
            ORDER BY m.attempts, m.occurred_at, m.id LIMIT \(literal: limit)
            """ + locking).all().map { row in
            PendingMeterEvent(id: try row.decode(column: "id", as: String.self), eventName: try row.decode(column: "event_name", as: String.self),
                              customer: try row.decode(column: "customer_id", as: String.self), value: try row.decode(column: "value", as: Int.self),
                              occurredAt: try row.decode(column: "occurred_at", as: Date.self))
        }
    }

    static func markDelivered(_ id: String, at now: Date, in db: any SQLDatabase) async throws {
        try await db.raw("""
            UPDATE meter_events SET delivered_at = \(bind: now), attempts = attempts + 1, last_error = NULL WHERE id = \(bind: id)
            """).run()
    }

    static func markFailed(_ id: String, error: String, in db: any SQLDatabase) async throws {
        try await db.raw("""
            UPDATE meter_events SET attempts = attempts + 1, last_error = \(bind: String(error.prefix(500))) WHERE id = \(bind: id)
            """).run()
    }

    /// Undelivered events.
    static func depth(in db: any SQLDatabase) async throws -> Int {
        try await db.raw("SELECT COUNT(*) AS n FROM meter_events WHERE delivered_at IS NULL").first()?.decode(column: "n", as: Int.self) ?? 0
    }
}
