import Foundation
import ModelgateCore
import Testing

/// The one access decision, as a table: a model, the user's standing, and what follows.
@Suite(.timeLimit(.minutes(5))) struct AccessQuoteTests {
    struct Row: Sendable, CustomStringConvertible {
        let name: String
        let tier: Tier
        let trials: Int
        let limit: Int?
        let entitled: Bool
        let trialsUsed: Int
        let usedToday: Int
        let decision: AccessDecision
        let outcome: AccessQuote.Outcome
        let remaining: Int?
        let unlocked: Bool
        var description: String { name }
    }

    static let rows: [Row] = [
        Row(name: "free, unlimited", tier: .free, trials: 0, limit: nil, entitled: false, trialsUsed: 0, usedToday: 40,
            decision: .allowed(.free), outcome: .allowed, remaining: nil, unlocked: true),
        Row(name: "free, at its limit", tier: .free, trials: 0, limit: 5, entitled: false, trialsUsed: 0, usedToday: 5,
            decision: .allowed(.free), outcome: .rateLimited, remaining: nil, unlocked: true),
        Row(name: "premium, bought", tier: .premium, trials: 2, limit: 50, entitled: true, trialsUsed: 2, usedToday: 49,
            decision: .allowed(.entitled), outcome: .allowed, remaining: 0, unlocked: true),
        Row(name: "premium, bought, at its limit", tier: .premium, trials: 2, limit: 50, entitled: true, trialsUsed: 0, usedToday: 50,
            decision: .allowed(.entitled), outcome: .rateLimited, remaining: 2, unlocked: true),
        Row(name: "premium, a trial left", tier: .premium, trials: 2, limit: 50, entitled: false, trialsUsed: 1, usedToday: 1,
            decision: .allowed(.trial), outcome: .allowed, remaining: 1, unlocked: false),
        Row(name: "premium, trials spent", tier: .premium, trials: 2, limit: 50, entitled: false, trialsUsed: 2, usedToday: 2,
            decision: .trialExhausted(priceCents: 299), outcome: .trialExhausted, remaining: 0, unlocked: false),
        Row(name: "premium, no trial offered", tier: .premium, trials: 0, limit: 30, entitled: false, trialsUsed: 0, usedToday: 0,
            decision: .locked(priceCents: 299), outcome: .modelLocked, remaining: 0, unlocked: false),
        Row(name: "premium, more trials used than allowed now", tier: .premium, trials: 1, limit: nil, entitled: false, trialsUsed: 3, usedToday: 0,
            decision: .trialExhausted(priceCents: 299), outcome: .trialExhausted, remaining: 0, unlocked: false),
    ]

    @Test(arguments: rows)
    func theQuoteFollowsFromTheStanding(_ row: Row) {
        let model = AIModel(id: "m", provider: .openai, providerModelID: "m", displayName: "M", description: "", enabled: true, tier: row.tier,
                            priceCents: row.tier == .premium ? 299 : nil, dailyMessageLimit: row.limit, trialMessagesAllowed: row.trials, sortOrder: 0)
        let day = QuotaDay(key: "2026-11-28", resetAt: Date(timeIntervalSince1970: 1_795_000_000))
        let quote = AccessQuote(model: model, entitled: row.entitled, trialMessagesUsed: row.trialsUsed, usedToday: row.usedToday, day: day)
        #expect(quote.decision == row.decision)
        #expect(quote.outcome == row.outcome)
        #expect(quote.trialMessagesRemaining == row.remaining)
        #expect(quote.isUnlocked == row.unlocked)
        #expect(quote.purchased == (row.tier == .premium ? row.entitled : nil))
        #expect(quote.refusal == AccessPolicy.refusal(row.decision, model: "m"))
        #expect(quote.usage == DailyUsage(used: row.usedToday, limit: row.limit, resetAt: "2026-11-18T11:06:40Z"))
    }
}
