import Foundation
import ModelgateCore
import ModelgateMetrics
import ModelgateStore

extension ModelAccessService {
    /// Charges one message, or throws why it may not be sent. A model whose provider is not
    /// configured is refused, and `check` refuses what the chosen model cannot take in this request
    /// (a feature its provider lacks, a conversation too long for it), before anything is charged.
    /// What may pay is tried in the quote's order; a source that ran out hands on to the next, and
    /// the first one's refusal is the answer when none is left.
    public func admit(
        _ profile: Profile, persona: PersonaID?, explicit: ModelID?, path: ModelgateMetrics.RequestPath = .chat,
        demand: CallDemand = .short, check: (AIModel) throws -> Void = { _ in }
    ) async throws -> Admission {
        let plan = try await plan(for: profile, persona: persona, explicit: explicit, kind: demand.kind)
        let model = plan.choice.model
        guard configuredProviders.contains(model.provider) else { throw ModelgateError.providerNotConfigured(model.provider) }
        try check(model)
        guard !plan.quote.sources.isEmpty else { throw await refuse(plan.quote, of: profile, path: path) }
        if let skipped = plan.choice.skipped.first {
            metrics.selectionFallback(reason: skipped.why, to: plan.choice.answeredBy)
        }
        let systemPrompt = persona.flatMap { cache.persona($0)?.systemPrompt }
        var refusal: ModelgateError?
        for payment in plan.quote.sources {
            switch try await attempt(plan, paying: payment, profile: profile, persona: persona,
                                     demand: demand.adding(systemPrompt: systemPrompt), systemPrompt: systemPrompt) {
            case .admitted(let admission): return admission
            case .ranOut(let error): refusal = refusal ?? error
            }
        }
        throw refusal ?? ModelgateError.modelLocked(model.id, priceCents: model.priceCents)
    }

    /// The quote's refusal, counted and recorded as an attempt to use a model without paying.
    private func refuse(_ quote: AccessQuote, of profile: Profile, path: ModelgateMetrics.RequestPath) async -> ModelgateError {
        let model = quote.model
        metrics.entitlementBypass(model: model.id, path: path)
        switch quote.decision {
        case .trialExhausted(let price):
            metrics.quota(.trialExhausted, model: model.id)
            await recordRefusal(.modelTrialExpiredPrompt(model: model.id, priceCents: price), of: profile)
        case .locked, .planPastDue, .planAllowanceExhausted, .creditsInsufficient, .allowed:
            metrics.quota(.locked, model: model.id)
        }
        return quote.refusal ?? .modelLocked(model.id, priceCents: model.priceCents)
    }

    enum Attempt {
        case admitted(Admission)
        /// This source cannot pay for the message; the error says why.
        case ranOut(ModelgateError)
    }

    /// Charges the message to one source: its counters (and its credits) or nothing.
    private func attempt(_ plan: MessagePlan, paying payment: PaymentKind, profile: Profile, persona: PersonaID?, demand: CallDemand,
                         systemPrompt: String?) async throws -> Attempt {
        let model = plan.choice.model
        let day = plan.quote.day
        let reservation: BudgetReservation?
        do {
            reservation = try await reserve(demand, of: model, for: profile, day: day, credits: payment == .credits)
        } catch let error as ModelgateError where payment == .credits {
            guard case .creditsInsufficient = error else { throw error }
            metrics.quota(.creditsInsufficient, model: model.id)
            return .ranOut(error)
        }
        let allowances = payment == .plan ? plan.quote.plan?.allowances(model: model.id, day: day.key) ?? [] : []
        switch try await charge(plan, payment: payment, profile: profile, persona: persona, allowances: allowances, holding: reservation) {
        case .consumed(let consumption):
            metrics.quota(payment == .trial ? .trial : .allowed, model: model.id)
            var admission = admission(plan.choice, payment: payment, consumption: consumption, day: day, systemPrompt: systemPrompt,
                                      reservation: reservation)
            if payment == .plan, let access = plan.quote.plan, access.subscription.source == .stripe, let meter = access.plan.meter {
                admission.metered = MeteredCall(subscription: access.subscription.id, meter: meter)
            }
            return .admitted(admission)
        case .dailyLimitReached:
            metrics.quota(.rateLimited, model: model.id)
            await recordRefusal(.modelRateLimitHit(model: model.id, dailyLimit: model.dailyLimit ?? 0, resetAt: day.resetAt), of: profile)
            return .ranOut(rateLimited(model, day: day))
        case .trialExhausted:
            metrics.quota(.trialExhausted, model: model.id)
            await recordRefusal(.modelTrialExpiredPrompt(model: model.id, priceCents: model.priceCents), of: profile)
            return .ranOut(.trialExhausted(model.id, priceCents: model.priceCents))
        case .planAllowanceExhausted:
            metrics.quota(.planAllowanceExhausted, model: model.id)
            let used = plan.quote.plan?.counting(try await paid.planUsage(of: profile.id, buckets: allowances.map(\.bucket)), model: model.id, day: day.key)
            let refusal = used.map { AccessPolicy.refusal($0.exhausted(day: day), model: model.id) } ?? nil
            return .ranOut(refusal ?? .planAllowanceExhausted(model.id, plan: "", resetAt: day.resetAt, retryAfterSeconds: 1))
        }
    }

    /// The message again, charged to `model` instead: the stand-in for `original`, whose provider failed
    /// before the first token (its charge is already given back). Only a model the user may use
    /// without spending a trial — free, or bought or granted — that is enabled, configured, able to
    /// take the request and within its daily limit and the budgets; `nil` when it may not answer.
    public func admitStandIn(_ model: AIModel, for original: Admission, profile: Profile, persona: PersonaID?, demand: CallDemand,
                             check: (AIModel) throws -> Void) async throws -> Admission? {
        guard model.enabled, model.kind == demand.kind, configuredProviders.contains(model.provider), (try? check(model)) != nil else { return nil }
        let payment: PaymentKind
        if model.tier == .premium {
            guard try await entitlements.entitledModels(of: profile.id).contains(model.id) else { return nil }
            payment = .entitled
        } else {
            payment = .free
        }
        let day = profile.timeZone.day(at: clock.now())
        let choice = ModelChoice(model: model, reason: original.choice.reason, answeredBy: original.choice.answeredBy, skipped: [])
        let reservation: BudgetReservation?
        do {
            reservation = try await reserve(demand.adding(systemPrompt: original.systemPrompt), of: model, for: profile, day: day, credits: false)
        } catch ModelgateError.tokenBudgetExhausted {
            return nil
        }
        let plan = MessagePlan(choice: choice, quote: AccessQuote(model: model, entitled: payment == .entitled, trialMessagesUsed: 0, usedToday: 0, day: day))
        guard case .consumed(let consumption) = try await charge(plan, payment: payment, profile: profile, persona: persona, allowances: [],
                                                                  holding: reservation) else {
            return nil
        }
        metrics.quota(.allowed, model: model.id)
        var admission = admission(choice, payment: payment, consumption: consumption, day: day, systemPrompt: original.systemPrompt,
                                  reservation: reservation)
        admission.failoverFrom = original.failoverFrom ?? original.choice.model.id
        return admission
    }
}
