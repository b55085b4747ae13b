import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// A settlement tried again after its first try committed (its answer was lost): nothing is written twice.
public struct AlreadySettled: Error {}

extension SpendLedger {
    /// Each hold is a row as well as part of the day's counters: the row says when it expires.
    static func recordHold(_ reservation: BudgetReservation, in db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO budget_holds (id, user_id, model_id, day, tokens, cost_micros, expires_at)
            VALUES (\(bind: reservation.id), \(bind: reservation.user.description), \(bind: reservation.model.rawValue),
                    \(bind: reservation.day), \(bind: reservation.tokens), \(bind: reservation.costMicros), \(bind: reservation.expiresAt))
            """).run()
    }

    /// Removes the hold's row; false when it was gone already (returned by a sweep or a settlement),
    /// so its amounts are taken off the counters once.
    static func dropHold(_ id: String, in db: any SQLDatabase) async throws -> Bool {
        try await db.raw("DELETE FROM budget_holds WHERE id = \(bind: id) RETURNING id").first() != nil
    }

    /// Returns every hold that expired by `now` unsettled (its call's instance died, or its
    /// settlement never reached the database), and forgets settled calls older than two days (a
    /// settlement is retried for minutes, never days). Returns how many holds it returned.
    @discardableResult
    public func sweep(at now: Date, batch: Int = 500) async throws -> Int {
        let expired = try await database.read { db in
            try await db.raw("""
                SELECT id, user_id, model_id, day, tokens, cost_micros, expires_at FROM budget_holds
                WHERE expires_at <= \(bind: now) ORDER BY expires_at LIMIT \(bind: batch)
                """).all().map { row in
                BudgetReservation(
                    id: try row.decode(column: "id", as: String.self), user: try row.decodeUserID(column: "user_id"),
                    model: ModelID(try row.decode(column: "model_id", as: String.self)), day: try row.decode(column: "day", as: String.self),
                    tokens: try row.decode(column: "tokens", as: Int.self), costMicros: try row.decode(column: "cost_micros", as: Int.self),
                    expiresAt: try row.decode(column: "expires_at", as: Date.self))
            }
        }
        for hold in expired { try await release(hold) }
        try await database.write { db in
            try await db.raw("DELETE FROM settled_calls WHERE settled_at < \(bind: now.addingTimeInterval(-2 * 86_400))").run()
        }
        return expired.count
    }
}
