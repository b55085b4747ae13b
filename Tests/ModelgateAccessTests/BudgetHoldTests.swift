import Foundation
import ModelgateAccess
import ModelgateAppTesting
import ModelgateCore
import ModelgateStore
import ModelgateTestSupport
import SQLKit
import Testing

/// A budget hold lives as long as its call at most: a call whose settlement never lands (its
/// instance died, the database stayed away) has its hold returned by the sweep once it expires,
/// and a settlement tried again after a commit whose answer was lost books nothing twice.
@Suite(.timeLimit(.minutes(5))) struct BudgetHoldTests {
    let now = Date(timeIntervalSince1970: 1_796_000_000)
    let budget = BudgetLimits(dailyTokens: 1_000, dailyCostMicros: nil)

    func hold(_ id: String, _ user: UserID, tokens: Int) -> BudgetReservation {
        BudgetReservation(id: id, user: user, model: "gpt-4o-mini", day: "2026-11-30", tokens: tokens, costMicros: 0,
                          expiresAt: now.addingTimeInterval(OpenCallGate.callLifetime))
    }

    func settlement(_ id: String, _ user: UserID, reservation: BudgetReservation?) -> CallSettlement {
        CallSettlement(id: id, user: user, model: "gpt-4o-mini", day: "2026-11-30", tokens: TurnTokens(inputTokens: 10, outputTokens: 4),
                       costMicros: 5, reservation: reservation)
    }

    /// The day's row of gpt-4o-mini: tokens held, tokens used, calls settled.
    func row(_ database: Database, _ user: UserID) async throws -> (held: Int, used: Int, calls: Int) {
        try await database.read { db in
            let row = try #require(try await db.raw("""
                SELECT tokens_reserved, input_tokens + output_tokens AS used, calls FROM model_usage_daily
                WHERE user_id = \(bind: user.description) AND model_id = 'gpt-4o-mini' AND day = '2026-11-30'
                """).first())
            return (try row.decode(column: "tokens_reserved", as: Int.self), try row.decode(column: "used", as: Int.self),
                    try row.decode(column: "calls", as: Int.self))
        }
    }

    @Test func aHoldWhoseCallNeverSettledIsReturnedWhenItExpiresAndItsLateSettlementBooksOnce() async throws {
        try await TestDatabase.with { database, _ in
            let user = testUser(61)
            _ = try await ProfileRepository(database: database).findOrCreate(user, email: "holds@example.com", at: now)
            let ledger = SpendLedger(database: database)
            let first = hold("call-a", user, tokens: 1_000)
            #expect(try await ledger.reserve(first, within: budget, at: now) == .reserved(first))
            #expect(try await ledger.reserve(hold("call-b", user, tokens: 1), within: budget, at: now) == .tokenBudgetExhausted)

            // Not expired yet: the sweep leaves it, and it still refuses.
            #expect(try await ledger.sweep(at: now.addingTimeInterval(60)) == 0)
            #expect(try await ledger.reserve(hold("call-c", user, tokens: 1), within: budget, at: now) == .tokenBudgetExhausted)

            // Its call never settled: once expired the sweep returns it, once, and the budget is free.
            #expect(try await ledger.sweep(at: now.addingTimeInterval(OpenCallGate.callLifetime + 1)) == 1)
            #expect(try await ledger.sweep(at: now.addingTimeInterval(OpenCallGate.callLifetime + 2)) == 0)
            let next = hold("call-d", user, tokens: 900)
            #expect(try await ledger.reserve(next, within: budget, at: now) == .reserved(next))

            // The first call's settlement lands late, and again: its cost is booked once, and the hold
            // the sweep returned is not taken off a second time (the next call still holds 900).
            let outbox = AnalyticsOutbox(makeID: { UUID() })
            for _ in 0..<2 {
                try await ledger.settle(settlement("call-a", user, reservation: first), events: [], outbox: outbox, at: now)
            }
            var figures = try await row(database, user)
            #expect(figures.held == 900 && figures.used == 14 && figures.calls == 1, "\(figures)")

            // A settlement in the caller's transaction (a stored turn) refuses to book twice.
            try await database.transaction { db in try await SpendLedger.settle(settlement("call-d", user, reservation: next), at: now, in: db) }
            await #expect(throws: AlreadySettled.self) {
                try await database.transaction { db in try await SpendLedger.settle(settlement("call-d", user, reservation: next), at: now, in: db) }
            }
            figures = try await row(database, user)
            #expect(figures.held == 0 && figures.used == 28 && figures.calls == 2, "\(figures)")
            #expect(try await ledger.sweep(at: now.addingTimeInterval(3 * OpenCallGate.callLifetime)) == 0, "a settled hold is not returned again")
        }
    }
}
