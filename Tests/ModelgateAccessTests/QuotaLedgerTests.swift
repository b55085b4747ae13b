import Foundation
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore
import ModelgateTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct QuotaLedgerTests {
    private func makeUser(_ number: Int, in database: Database) async throws -> UserID {
        let user = testUser(number)
        _ = try await ProfileRepository(database: database).findOrCreate(user, email: "u\(number)@example.com", at: Date())
        return user
    }

    private func consumeConcurrently(_ count: Int, _ charge: QuotaCharge, ledger: QuotaLedger) async throws -> [ConsumeOutcome] {
        try await withThrowingTaskGroup(of: ConsumeOutcome.self) { group in
            for _ in 0..<count { group.addTask { try await ledger.consume(charge) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test func twoHundredConcurrentMessagesAgainstALimitOfFiftyChargeExactlyFifty() async throws {
        try await TestDatabase.with { database, _ in
            let user = try await makeUser(1, in: database)
            let ledger = QuotaLedger(database: database)
            let charge = QuotaCharge(user: user, model: "gpt-4o", day: "2026-11-25", dailyLimit: 50, trialLimit: nil)
            let outcomes = try await consumeConcurrently(200, charge, ledger: ledger)
            let consumed = outcomes.compactMap { if case .consumed(let c) = $0 { c.usedToday } else { nil } }
            #expect(consumed.count == 50)
            #expect(Set(consumed) == Set(1...50))
            #expect(outcomes.filter { $0 == .dailyLimitReached }.count == 150)
            #expect(try await ledger.usage(of: user, on: "2026-11-25")["gpt-4o"] == 50)
        }
    }

    @Test func fiftyConcurrentTrialAttemptsSpendExactlyTwoTrialMessages() async throws {
        try await TestDatabase.with { database, _ in
            let user = try await makeUser(2, in: database)
            let ledger = QuotaLedger(database: database)
            let charge = QuotaCharge(user: user, model: "gpt-4o", day: "2026-11-25", dailyLimit: 50, trialLimit: 2)
            let outcomes = try await consumeConcurrently(50, charge, ledger: ledger)
            #expect(outcomes.filter { if case .consumed = $0 { true } else { false } }.count == 2)
            #expect(outcomes.filter { $0 == .trialExhausted }.count == 48)
            #expect(try await ledger.trialsUsed(by: user)["gpt-4o"] == 2)
            #expect(try await ledger.usage(of: user, on: "2026-11-25")["gpt-4o"] == 2)
        }
    }

    @Test func aTrialMessageOverTheDailyLimitSpendsNoTrialUnit() async throws {
        try await TestDatabase.with { database, _ in
            let user = try await makeUser(3, in: database)
            let ledger = QuotaLedger(database: database)
            let daily = QuotaCharge(user: user, model: "gpt-4o", day: "2026-11-25", dailyLimit: 1, trialLimit: nil)
            _ = try await ledger.consume(daily)
            let trial = QuotaCharge(user: user, model: "gpt-4o", day: "2026-11-25", dailyLimit: 1, trialLimit: 2)
            #expect(try await ledger.consume(trial) == .dailyLimitReached)
            #expect(try await ledger.trialsUsed(by: user)["gpt-4o"] == nil)
        }
    }

    @Test func releaseGivesBackBothUnits() async throws {
        try await TestDatabase.with { database, _ in
            let user = try await makeUser(4, in: database)
            let ledger = QuotaLedger(database: database)
            let charge = QuotaCharge(user: user, model: "gpt-4o", day: "2026-11-25", dailyLimit: 50, trialLimit: 2)
            guard case .consumed(let consumption) = try await ledger.consume(charge) else {
                Issue.record("expected a consumption")
                return
            }
            try await ledger.release(consumption)
            #expect(try await ledger.usage(of: user, on: "2026-11-25")["gpt-4o"] == 0)
            #expect(try await ledger.trialsUsed(by: user)["gpt-4o"] == 0)
        }
    }

    @Test func eachDayHasItsOwnCounterAndOldRowsStay() async throws {
        try await TestDatabase.with { database, _ in
            let user = try await makeUser(5, in: database)
            let ledger = QuotaLedger(database: database)
            for day in ["2026-11-24", "2026-11-24", "2026-11-25"] {
                _ = try await ledger.consume(QuotaCharge(user: user, model: "gpt-4o-mini", day: day, dailyLimit: 2, trialLimit: nil))
            }
            #expect(try await ledger.consume(QuotaCharge(user: user, model: "gpt-4o-mini", day: "2026-11-24", dailyLimit: 2, trialLimit: nil)) == .dailyLimitReached)
            #expect(try await ledger.usage(of: user, on: "2026-11-24")["gpt-4o-mini"] == 2)
            #expect(try await ledger.usage(of: user, on: "2026-11-25")["gpt-4o-mini"] == 1)
        }
    }

    @Test func aZeroLimitAllowsNothing() async throws {
        try await TestDatabase.with { database, _ in
            let user = try await makeUser(6, in: database)
            let ledger = QuotaLedger(database: database)
            #expect(try await ledger.consume(QuotaCharge(user: user, model: "gpt-4o", day: "2026-11-25", dailyLimit: 0, trialLimit: nil)) == .dailyLimitReached)
            #expect(try await ledger.usage(of: user, on: "2026-11-25").isEmpty)
        }
    }
}
