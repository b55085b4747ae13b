import Foundation
import ModelgateCore
import ModelgateStore

/// The user's account as selection sees it at one instant.
struct UserStanding: Sendable {
    let entitled: Set<ModelID>
    let trialsUsed: [ModelID: Int]
    let usageToday: [ModelID: Int]
    let day: QuotaDay
}

/// What a message would use: the chosen model and how it would be paid for.
struct MessagePlan: Sendable {
    let choice: ModelChoice
    let decision: AccessDecision
    let trialsUsed: Int
    let day: QuotaDay
}

/// A message that may go ahead: its quota is already charged.
public struct Admission: Sendable {
    public let choice: ModelChoice
    public let payment: PaymentKind
    public let consumption: Consumption
    public let usage: DailyUsage
    public let trialMessagesRemaining: Int?
}

/// Selection plus access plus quota: decides which model answers and whether the user may send.
public struct ModelAccessService: Sendable {
    let cache: CatalogCache
    let entitlements: EntitlementRepository
    let ledger: QuotaLedger
    let clock: any WallClock

    func standing(of profile: Profile) async throws -> UserStanding {
        let day = profile.timeZone.day(at: clock.now())
        async let entitled = entitlements.entitledModels(of: profile.id)
        async let trials = ledger.trialsUsed(by: profile.id)
        async let usage = ledger.usage(of: profile.id, on: day.key)
        return UserStanding(entitled: try await entitled, trialsUsed: try await trials, usageToday: try await usage, day: day)
    }

    func plan(for profile: Profile, persona: PersonaID?, explicit: ModelID?) async throws -> MessagePlan {
        if let persona, cache.persona(persona) == nil { throw ModelgateError.unknownPersona(persona) }
        let choice = try ModelSelection.select(
            catalog: cache.catalog, preferences: profile.preferences, persona: persona, explicit: explicit)
        let model = choice.model
        var entitled = false
        var trialsUsed = 0
        if model.tier == .premium {
            entitled = try await entitlements.entitledModels(of: profile.id).contains(model.id)
            if !entitled { trialsUsed = try await ledger.trialsUsed(by: profile.id)[model.id] ?? 0 }
        }
        let decision = AccessPolicy.decide(model: model, entitled: entitled, trialMessagesUsed: trialsUsed)
        return MessagePlan(choice: choice, decision: decision, trialsUsed: trialsUsed, day: profile.timeZone.day(at: clock.now()))
    }

    /// Charges one message, or throws why it may not be sent. `reachable` says whether a model's
    /// provider can be called at all; an unreachable one is refused before anything is charged.
    public func admit(
        _ profile: Profile, persona: PersonaID?, explicit: ModelID?, reachable: (Provider) -> Bool = { _ in true }
    ) async throws -> Admission {
        let plan = try await plan(for: profile, persona: persona, explicit: explicit)
        let model = plan.choice.model
        guard reachable(model.provider) else { throw ModelgateError.providerNotConfigured(model.provider) }
        if let refusal = AccessPolicy.refusal(plan.decision, model: model.id) { throw refusal }
        guard case .allowed(let payment) = plan.decision else { throw ModelgateError.modelLocked(model.id, priceCents: model.priceCents) }
        let charge = QuotaCharge(
            user: profile.id, model: model.id, day: plan.day.key, dailyLimit: model.dailyMessageLimit,
            trialLimit: payment == .trial ? model.trialMessagesAllowed : nil)
        switch try await ledger.consume(charge) {
        case .consumed(let consumption):
            return Admission(
                choice: plan.choice, payment: payment, consumption: consumption,
                usage: DailyUsage(used: consumption.usedToday, limit: model.dailyMessageLimit, resetAt: ISO8601.string(plan.day.resetAt)),
                trialMessagesRemaining: consumption.trialUsed.map { max(0, model.trialMessagesAllowed - $0) })
        case .dailyLimitReached:
            throw rateLimited(model, day: plan.day)
        case .trialExhausted:
            throw ModelgateError.trialExhausted(model.id, priceCents: model.priceCents)
        }
    }

    func rateLimited(_ model: AIModel, day: QuotaDay) -> ModelgateError {
        let seconds = max(1, Int(day.resetAt.timeIntervalSince(clock.now()).rounded(.up)))
        return .rateLimited(model.id, limit: model.dailyMessageLimit ?? 0, resetAt: day.resetAt, retryAfterSeconds: seconds)
    }
}
