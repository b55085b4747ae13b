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
            INSERT INTO budget_holds (id, user_id, model_id, day, tokens, cost_micros, expires_at, credits, credit_price)
            VALUES (\(bind: reservation.id), \(bind: reservation.user.description), \(bind: reservation.model.rawValue),
                    \(bind: reservation.day), \(bind: reservation.tokens), \(bind: reservation.costMicros), \(bind: reservation.expiresAt),
                    \(bind: reservation.credits), \(bind: try reservation.creditPrice.map(JSONColumn.text)))
            """).run()
    }

    /// Removes the hold's row; false when it was gone already (returned by a sweep or a settlement),
    /// so its amounts are taken off the counters once.
    static func dropHold(_ id: String, in db: any SQLDatabase) async throws -> Bool {
        try await db.raw("DELETE FROM budget_holds WHERE id = \(bind: id) RETURNING id").first() != nil
    }

    /// Returns every hold that expired by `now` unsettled (its call's instance died, or its
    /// settlement never reached the database), and forgets settled calls older than twice a call's
    /// lifetime (a settlement is tried for one lifetime at most). Returns how many holds it returned.
    @discardableResult
    public func sweep(at now: Date, batch: Int = 500) async throws -> Int {
        let expired = try await database.read { db in
            try await db.raw("""
                SELECT id, user_id, model_id, day, tokens, cost_micros, expires_at, credits, credit_price FROM budget_holds
                WHERE expires_at <= \(bind: now) ORDER BY expires_at LIMIT \(bind: batch)
                """).all().map { row in
                BudgetReservation(
                    id: try row.decode(column: "id", as: String.self), user: try row.decodeUserID(column: "user_id"),
                    model: ModelID(try row.decode(column: "model_id", as: String.self)), day: try row.decode(column: "day", as: String.self),
                    tokens: try row.decode(column: "tokens", as: Int.self), costMicros: try row.decode(column: "cost_micros", as: Int.self),
                    expiresAt: try row.decode(column: "expires_at", as: Date.self), credits: try row.decode(column: "credits", as: Int.self),
                    creditPrice: try row.decode(column: "credit_price", as: String?.self).map { try JSONColumn.decode($0, column: "credit_price") })
            }
        }
        for hold in expired { try await release(hold, at: now) }
        try await database.transaction { db in _ = try await CreditWallet.expireLots(at: now, in: db) }
        try await database.write { db in
            try await db.raw("DELETE FROM settled_calls WHERE settled_at < \(bind: now.addingTimeInterval(-2 * OpenCallGate.callLifetime))").run()
        }
        return expired.count
    }

    enum Refusal: Error { case tokens, cost, credits(balance: Int) }

    /// Adds `tokens` to the day's hold unless settled plus held tokens would pass `budget`.
    static func holdTokens(_ tokens: Int, of reservation: BudgetReservation, budget: Int, in db: any SQLDatabase) async throws -> Int? {
        try await db.raw("""
            INSERT INTO model_usage_daily (user_id, model_id, day, message_count, tokens_reserved)
            SELECT \(bind: reservation.user.description), \(bind: reservation.model.rawValue), \(bind: reservation.day), 0, \(bind: tokens)
            WHERE \(bind: tokens) <= \(bind: budget)
            ON CONFLICT (user_id, model_id, day) DO UPDATE SET tokens_reserved = model_usage_daily.tokens_reserved + excluded.tokens_reserved
            WHERE model_usage_daily.input_tokens + model_usage_daily.output_tokens + model_usage_daily.tokens_reserved
                + excluded.tokens_reserved <= \(bind: budget)
            RETURNING tokens_reserved
            """).first()?.decode(column: "tokens_reserved", as: Int.self)
    }

    /// Adds `cost` to the day's hold unless spent plus held micro-dollars would pass `budget`.
    static func holdCost(_ cost: Int, of reservation: BudgetReservation, budget: Int, in db: any SQLDatabase) async throws -> Int? {
        try await db.raw("""
            INSERT INTO user_spend_daily (user_id, day, reserved_micros)
            SELECT \(bind: reservation.user.description), \(bind: reservation.day), \(bind: cost)
            WHERE \(bind: cost) <= \(bind: budget)
            ON CONFLICT (user_id, day) DO UPDATE SET reserved_micros = user_spend_daily.reserved_micros + excluded.reserved_micros
            WHERE user_spend_daily.cost_micros + user_spend_daily.reserved_micros + excluded.reserved_micros <= \(bind: budget)
            RETURNING reserved_micros
            """).first()?.decode(column: "reserved_micros", as: Int.self)
    }

    static func unhold(_ reservation: BudgetReservation, at now: Date, in db: any SQLDatabase) async throws {
        let user = reservation.user.description
        if reservation.credits > 0 {
            try await CreditWallet.release(reservation.credits, call: reservation.id, user: reservation.user, at: now, in: db)
        }
        if reservation.tokens > 0 {
            try await db.raw("""
                UPDATE model_usage_daily SET tokens_reserved = CASE WHEN tokens_reserved > \(bind: reservation.tokens)
                    THEN tokens_reserved - \(bind: reservation.tokens) ELSE 0 END
                WHERE user_id = \(bind: user) AND model_id = \(bind: reservation.model.rawValue) AND day = \(bind: reservation.day)
                """).run()
        }
        if reservation.costMicros > 0 {
            try await db.raw("""
                UPDATE user_spend_daily SET reserved_micros = CASE WHEN reserved_micros > \(bind: reservation.costMicros)
                    THEN reserved_micros - \(bind: reservation.costMicros) ELSE 0 END
                WHERE user_id = \(bind: user) AND day = \(bind: reservation.day)
                """).run()
        }
    }
}
