import Foundation
import ModelgateCore
import ModelgateMetrics
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
    let outbox: AnalyticsOutbox
    let metrics: ModelgateMetrics
    let clock: any WallClock
    let modelSelection: Bool

    /// The user's choices as selection may use them: none while model selection is switched off.
    func preferences(of profile: Profile) -> ModelPreferences {
        modelSelection ? profile.preferences : ModelPreferences()
    }

    func requireModelSelection() throws(ModelgateError) {
        guard modelSelection else { throw .modelSelectionDisabled }
    }

    func standing(of profile: Profile) async throws -> UserStanding {
        let day = profile.timeZone.day(at: clock.now())
        async let entitled = entitlements.entitledModels(of: profile.id)
        async let trials = ledger.trialsUsed(by: profile.id)
        async let usage = ledger.usage(of: profile.id, on: day.key)
        return UserStanding(entitled: try await entitled, trialsUsed: try await trials, usageToday: try await usage, day: day)
    }

    func plan(for profile: Profile, persona: PersonaID?, explicit: ModelID?) async throws -> MessagePlan {
        let started = ContinuousClock.now
        defer { metrics.selection(seconds: (ContinuousClock.now - started).seconds) }
        if let persona, cache.persona(persona) == nil { throw ModelgateError.unknownPersona(persona) }
        let choice = try ModelSelection.select(
            catalog: cache.catalog, preferences: preferences(of: profile), persona: persona, explicit: modelSelection ? explicit : nil)
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

    /// Charges one message, or throws why it may not be sent. `check` refuses what the chosen model
    /// cannot take (its provider is not configured, a feature it lacks, a conversation too long for
    /// it) before anything is charged.
    public func admit(
        _ profile: Profile, persona: PersonaID?, explicit: ModelID?, path: ModelgateMetrics.RequestPath = .chat,
        check: (AIModel) throws -> Void = { _ in }
    ) async throws -> Admission {
        let plan = try await plan(for: profile, persona: persona, explicit: explicit)
        let model = plan.choice.model
        try check(model)
        if let refusal = AccessPolicy.refusal(plan.decision, model: model.id) {
            metrics.entitlementBypass(model: model.id, path: path)
            if case .trialExhausted = plan.decision {
                metrics.quota(.trialExhausted, model: model.id)
                await recordRefusal(.modelTrialExpiredPrompt(model: model.id, priceCents: model.priceCents), of: profile)
            } else {
                metrics.quota(.locked, model: model.id)
            }
            throw refusal
        }
        if let skipped = plan.choice.skipped.first {
            metrics.selectionFallback(reason: skipped.why, to: landing(of: plan.choice, preferences: profile.preferences, persona: persona))
        }
        guard case .allowed(let payment) = plan.decision else { throw ModelgateError.modelLocked(model.id, priceCents: model.priceCents) }
        switch try await charge(plan, payment: payment, profile: profile, persona: persona) {
        case .consumed(let consumption):
            metrics.quota(payment == .trial ? .trial : .allowed, model: model.id)
            return Admission(
                choice: plan.choice, payment: payment, consumption: consumption,
                usage: DailyUsage(used: consumption.usedToday, limit: model.dailyMessageLimit, resetAt: ISO8601.string(plan.day.resetAt)),
                trialMessagesRemaining: consumption.trialUsed.map { max(0, model.trialMessagesAllowed - $0) })
        case .dailyLimitReached:
            metrics.quota(.rateLimited, model: model.id)
            await recordRefusal(.modelRateLimitHit(model: model.id, dailyLimit: model.dailyMessageLimit ?? 0, resetAt: plan.day.resetAt), of: profile)
            throw rateLimited(model, day: plan.day)
        case .trialExhausted:
            metrics.quota(.trialExhausted, model: model.id)
            await recordRefusal(.modelTrialExpiredPrompt(model: model.id, priceCents: model.priceCents), of: profile)
            throw ModelgateError.trialExhausted(model.id, priceCents: model.priceCents)
        }
    }

    /// Takes the message's quota (and trial) units, writing its analytics events in the same transaction.
    private func charge(_ plan: MessagePlan, payment: PaymentKind, profile: Profile, persona: PersonaID?) async throws -> ConsumeOutcome {
        let model = plan.choice.model
        let charge = QuotaCharge(
            user: profile.id, model: model.id, day: plan.day.key, dailyLimit: model.dailyMessageLimit,
            trialLimit: payment == .trial ? model.trialMessagesAllowed : nil)
        let events = ChargeEvents(outbox: outbox, at: clock.now()) { [choice = plan.choice] consumption in
            Self.admissionEvents(choice, persona: persona, payment: payment, consumption: consumption)
        }
        do {
            return try await ledger.consume(charge, events: events)
        } catch {
            if payment == .trial { metrics.trialTrackingFailure(model: model.id) }
            throw error
        }
    }

    /// Which step of the chain answered after a skip (`ModelChoice` only says `fallback`).
    private func landing(of choice: ModelChoice, preferences: ModelPreferences, persona: PersonaID?) -> SelectionReason {
        let id = choice.model.id
        if let persona, preferences.personaOverrides[persona] == id { return .personaOverride }
        if preferences.defaultModelId == id { return .userDefault }
        return id == cache.catalog.systemDefaultID ? .systemDefault : .fallback
    }

    /// `model_selected`, `model_message_sent`, and for a trial message `model_trial_started` (the
    /// first one) and `model_trial_message_used`: written with the charge.
    static func admissionEvents(_ choice: ModelChoice, persona: PersonaID?, payment: PaymentKind, consumption: Consumption) -> [AnalyticsEvent] {
        let model = choice.model
        var events: [AnalyticsEvent] = [
            .modelSelected(
                model: model.id, persona: persona, isDefault: choice.reason == .userDefault || choice.reason == .systemDefault,
                isOverride: choice.reason == .personaOverride),
            .modelMessageSent(model: model.id, persona: persona, isTrialMessage: payment == .trial),
        ]
        if let used = consumption.trialUsed {
            let remaining = max(0, model.trialMessagesAllowed - used)
            if used == 1 { events.append(.modelTrialStarted(model: model.id, trialMessagesRemaining: remaining)) }
            events.append(.modelTrialMessageUsed(model: model.id, trialMessagesRemaining: remaining))
        }
        return events
    }

    /// A refused message changes no data, so its event is written on its own. A failure to write
    /// it must not turn the refusal into a server error: the event is lost, the refusal stands.
    private func recordRefusal(_ event: AnalyticsEvent, of profile: Profile) async {
        try? await outbox.record([event], for: profile.id, at: clock.now(), in: ledger.database)
    }

    func rateLimited(_ model: AIModel, day: QuotaDay) -> ModelgateError {
        let seconds = max(1, Int(day.resetAt.timeIntervalSince(clock.now()).rounded(.up)))
        return .rateLimited(model.id, limit: model.dailyMessageLimit ?? 0, resetAt: day.resetAt, retryAfterSeconds: seconds)
    }
}

extension Duration {
    /// Seconds as a `Double`, for metrics.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
