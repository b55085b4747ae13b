import Foundation
import ModelgateCore
import ModelgateMetrics
import ModelgateStore

extension ModelAccessService {
    /// An admitted message whose `release` gives back its charge (daily and trial units) and its budget hold.
    func admission(_ choice: ModelChoice, payment: PaymentKind, consumption: Consumption, day: QuotaDay, systemPrompt: String?,
                           reservation: BudgetReservation?) -> Admission {
        let model = choice.model
        return Admission(
            id: reservation?.id ?? newCallID(), choice: choice, payment: payment,
            usage: DailyUsage(used: consumption.usedToday, limit: model.dailyLimit, resetAt: ISO8601.string(day.resetAt)),
            trialMessagesRemaining: consumption.trialUsed.map { AccessQuote.trialMessagesLeft(of: model, used: $0) },
            systemPrompt: systemPrompt, day: day.key, reservation: reservation,
            release: { [ledger, spend, metrics, clock] in
                do {
                    try await ledger.release(consumption)
                } catch {
                    if payment == .trial { metrics.trialTrackingFailure(model: model.id) }
                    throw error
                }
                if let reservation { try await spend.release(reservation, at: clock.now()) }
            })
    }

    /// Holds the call's worst case against the model's token budget and the user's dollar budget, as
    /// far as either is set, and against the credit balance when credits pay; refuses the call when it does not fit.
    func reserve(_ demand: CallDemand, of model: AIModel, for profile: Profile, day: QuotaDay, credits: Bool) async throws -> BudgetReservation? {
        let costBudget = model.prices == nil ? nil : cache.catalog.userDailyCostBudgetMicros
        let creditPrice = credits ? model.creditPrice : nil
        guard model.dailyTokenBudget != nil || costBudget != nil || creditPrice != nil else { return nil }
        let heldCredits = creditPrice?.worstCase(promptTokens: demand.promptTokens, maxOutputTokens: demand.maxOutputTokens) ?? 0
        let reservation = BudgetReservation(
            id: newCallID(), user: profile.id, model: model.id, day: day.key,
            tokens: model.dailyTokenBudget == nil ? 0 : demand.promptTokens + demand.maxOutputTokens,
            costMicros: costBudget == nil ? 0 : model.prices?.worstCase(inputTokens: demand.promptTokens, outputTokens: demand.maxOutputTokens) ?? 0,
            expiresAt: clock.now().addingTimeInterval(OpenCallGate.callLifetime), credits: heldCredits, creditPrice: creditPrice)
        let seconds = max(1, Int(day.resetAt.timeIntervalSince(clock.now()).rounded(.up)))
        switch try await spend.reserve(reservation, within: BudgetLimits(dailyTokens: model.dailyTokenBudget, dailyCostMicros: costBudget), at: clock.now()) {
        case .reserved(let reservation): return reservation
        case .tokenBudgetExhausted:
            metrics.quota(.tokenBudgetExhausted, model: model.id)
            throw ModelgateError.tokenBudgetExhausted(model.id, budget: .tokens, limit: model.dailyTokenBudget ?? 0, resetAt: day.resetAt, retryAfterSeconds: seconds)
        case .costBudgetExhausted:
            metrics.quota(.tokenBudgetExhausted, model: model.id)
            throw ModelgateError.tokenBudgetExhausted(model.id, budget: .costMicros, limit: costBudget ?? 0, resetAt: day.resetAt, retryAfterSeconds: seconds)
        case .creditsInsufficient(let balance):
            throw ModelgateError.creditsInsufficient(model.id, needed: heldCredits, balance: balance)
        }
    }

    func newCallID() -> String { makeID().uuidString.lowercased() }

    /// Charges the message; its budget hold goes back unless the charge was taken.
    func charge(_ plan: MessagePlan, payment: PaymentKind, profile: Profile, persona: PersonaID?, allowances: [PlanAllowance],
                holding reservation: BudgetReservation?) async throws -> ConsumeOutcome {
        let outcome: ConsumeOutcome
        do {
            outcome = try await charge(plan, payment: payment, profile: profile, persona: persona, allowances: allowances)
        } catch {
            await giveBack(reservation)
            throw error
        }
        if case .consumed = outcome {} else { await giveBack(reservation) }
        return outcome
    }

    /// Returns a hold when the message was refused after it was taken; a hold that cannot be returned
    /// now is returned by the sweep when it expires (until then it only refuses too much, never grants too much).
    private func giveBack(_ reservation: BudgetReservation?) async {
        guard let reservation else { return }
        try? await spend.release(reservation, at: clock.now())
    }

    /// Takes the message's quota (and trial) units, writing its analytics events in the same transaction.
    private func charge(_ plan: MessagePlan, payment: PaymentKind, profile: Profile, persona: PersonaID?,
                        allowances: [PlanAllowance]) async throws -> ConsumeOutcome {
        let model = plan.choice.model
        // Credits pay past a free model's daily limit; a premium model's own limit still holds.
        let dailyLimit = payment == .credits && model.tier == .free ? nil : model.dailyLimit
        let charge = QuotaCharge(
            user: profile.id, model: model.id, day: plan.quote.day.key, dailyLimit: dailyLimit,
            trialLimit: payment == .trial ? model.trialMessagesAllowed : nil, planAllowances: allowances)
        let events = ChargeEvents(outbox: outbox, at: clock.now(), of: AdmittedMessage(choice: plan.choice, persona: persona, payment: payment))
        do {
            return try await ledger.consume(charge, events: events)
        } catch {
            if payment == .trial { metrics.trialTrackingFailure(model: model.id) }
            throw error
        }
    }

    /// A refused message changes no data, so its event is written on its own. A failure to write
    /// it must not turn the refusal into a server error: the event is lost, the refusal stands.
    func recordRefusal(_ event: AnalyticsEvent, of profile: Profile) async {
        try? await ledger.record([event], for: profile.id, at: clock.now(), outbox: outbox)
    }

    func rateLimited(_ model: AIModel, day: QuotaDay) -> ModelgateError {
        let seconds = max(1, Int(day.resetAt.timeIntervalSince(clock.now()).rounded(.up)))
        return .rateLimited(model.id, limit: model.dailyLimit ?? 0, resetAt: day.resetAt, retryAfterSeconds: seconds)
    }
}
