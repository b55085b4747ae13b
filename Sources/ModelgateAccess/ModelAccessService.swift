import Foundation
import ModelgateCore
import ModelgateHTTP
import ModelgateMetrics
import ModelgateProviders
import ModelgateStore

/// Selection plus access plus quota: decides which model answers and whether the user may send.
/// Its parts are its own; other services ask it questions and get answers.
public struct ModelAccessService: Sendable {
    let cache: CatalogCache
    private let entitlements: EntitlementRepository
    private let ledger: QuotaLedger
    private let spend: SpendLedger
    private let outbox: AnalyticsOutbox
    let metrics: ModelgateMetrics
    let clock: any WallClock
    let keys: TaskBudgetLedger
    let makeID: @Sendable () -> UUID
    /// The providers that can be called (a key, or the demo responder); given when it is built.
    let configuredProviders: Set<Provider>
    /// Operators can switch model choice off (feature flag): everyone gets the system default.
    let isModelSelectionEnabled: Bool

    public init(cache: CatalogCache, entitlements: EntitlementRepository, ledger: QuotaLedger, spend: SpendLedger, outbox: AnalyticsOutbox, metrics: ModelgateMetrics,
         clock: any WallClock, makeID: @escaping @Sendable () -> UUID, keys: TaskBudgetLedger, configuredProviders: Set<Provider>, modelSelection: Bool) {
        self.keys = keys
        self.makeID = makeID
        self.configuredProviders = configuredProviders
        self.cache = cache
        self.entitlements = entitlements
        self.ledger = ledger
        self.spend = spend
        self.outbox = outbox
        self.metrics = metrics
        self.clock = clock
        isModelSelectionEnabled = modelSelection
    }

    public var catalog: CatalogSnapshot { cache.catalog }
    var personas: [Persona] { cache.personas }
    func persona(_ id: PersonaID) -> Persona? { cache.persona(id) }

    /// The user's choices as selection may use them: none while model selection is switched off.
    func preferences(of profile: Profile) -> ModelPreferences {
        isModelSelectionEnabled ? profile.preferences : ModelPreferences()
    }

    func requireModelSelection() throws(ModelgateError) {
        guard isModelSelectionEnabled else { throw .modelSelectionDisabled }
    }

    func standing(of profile: Profile) async throws -> UserStanding {
        let day = profile.timeZone.day(at: clock.now())
        async let entitled = entitlements.entitledModels(of: profile.id)
        async let trials = ledger.trialsUsed(by: profile.id)
        async let today = spend.day(of: profile.id, on: day.key)
        let (usage, spent) = try await today
        return UserStanding(entitled: try await entitled, trialsUsed: try await trials, usageToday: usage, spendToday: spent,
                            costBudgetMicros: cache.catalog.userDailyCostBudgetMicros, day: day)
    }

    /// The user's last `count` local days, oldest first, with their totals (zero when idle).
    public func recentDays(of profile: Profile, count: Int = 7) async throws -> [(day: String, usage: UsageDay)] {
        let today = profile.timeZone.day(at: clock.now()).key
        let first = QuotaCalendar.day(at: DayRange.start(of: today).addingTimeInterval(Double(1 - count) * 86_400), zoneIdentifier: "UTC").key
        let history = try await spend.history(of: profile.id, from: first, through: today)
        return DayRange.days(from: first, through: today).map { ($0, history[$0] ?? .idle) }
    }

    /// What a message would use now, consuming nothing; a premium model named explicitly but not
    /// usable counts as an attempt to get it without paying.
    func preview(for profile: Profile, persona: PersonaID?, explicit: ModelID?) async throws -> MessagePlan {
        let plan = try await plan(for: profile, persona: persona, explicit: explicit, withUsage: true)
        if explicit != nil, plan.quote.refusal != nil { metrics.entitlementBypass(model: plan.choice.model.id, path: .preview) }
        return plan
    }

    /// Refuses saving `models` as choices unless each premium one is unlocked (bought or granted).
    func requireUnlocked(_ models: [AIModel], for profile: Profile) async throws {
        guard models.contains(where: { $0.tier == .premium }) else { return }
        let standing = try await standing(of: profile)
        for model in models where !standing.quote(for: model).isUnlocked {
            metrics.entitlementBypass(model: model.id, path: .preferences)
            throw ModelgateError.premiumChoiceLocked(model.id, priceCents: model.priceCents)
        }
    }

    func isEntitled(_ profile: Profile, to model: ModelID) async throws -> Bool {
        try await entitlements.entitledModels(of: profile.id).contains(model)
    }

    private func plan(for profile: Profile, persona: PersonaID?, explicit: ModelID?, withUsage: Bool = false) async throws -> MessagePlan {
        let started = ContinuousClock.now
        defer { metrics.selection(seconds: (ContinuousClock.now - started).seconds) }
        if let persona, cache.persona(persona) == nil { throw ModelgateError.unknownPersona(persona) }
        let choice = try ModelSelection.select(
            catalog: cache.catalog, preferences: preferences(of: profile), persona: persona, explicit: isModelSelectionEnabled ? explicit : nil)
        let model = choice.model
        let day = profile.timeZone.day(at: clock.now())
        var entitled = false
        var trialsUsed = 0
        if model.tier == .premium {
            entitled = try await entitlements.entitledModels(of: profile.id).contains(model.id)
            if !entitled { trialsUsed = try await ledger.trialsUsed(by: profile.id)[model.id] ?? 0 }
        }
        // Admission needs no count: its charge checks the limit atomically.
        guard withUsage else {
            return MessagePlan(choice: choice, quote: AccessQuote(model: model, entitled: entitled, trialMessagesUsed: trialsUsed, usedToday: 0, day: day))
        }
        let (usedToday, spendToday) = try await spend.day(of: profile.id, on: day.key)
        return MessagePlan(choice: choice, quote: AccessQuote(
            model: model, entitled: entitled, trialMessagesUsed: trialsUsed, usedToday: usedToday[model.id] ?? 0, day: day,
            tokens: BudgetUsage(used: spendToday.tokens[model.id] ?? 0, limit: model.dailyTokenBudget),
            costMicros: BudgetUsage(used: spendToday.costMicros, limit: cache.catalog.userDailyCostBudgetMicros)))
    }

    /// Charges one message, or throws why it may not be sent. A model whose provider is not
    /// configured is refused, and `check` refuses what the chosen model cannot take in this request
    /// (a feature its provider lacks, a conversation too long for it), before anything is charged.
    public func admit(
        _ profile: Profile, persona: PersonaID?, explicit: ModelID?, path: ModelgateMetrics.RequestPath = .chat,
        demand: CallDemand = .short, check: (AIModel) throws -> Void = { _ in }
    ) async throws -> Admission {
        let plan = try await plan(for: profile, persona: persona, explicit: explicit)
        let model = plan.choice.model
        let day = plan.quote.day
        guard configuredProviders.contains(model.provider) else { throw ModelgateError.providerNotConfigured(model.provider) }
        try check(model)
        let payment: PaymentKind
        switch plan.quote.decision {
        case .allowed(let kind): payment = kind
        case .trialExhausted(let price):
            metrics.entitlementBypass(model: model.id, path: path)
            metrics.quota(.trialExhausted, model: model.id)
            await recordRefusal(.modelTrialExpiredPrompt(model: model.id, priceCents: price), of: profile)
            throw ModelgateError.trialExhausted(model.id, priceCents: price)
        case .locked(let price):
            metrics.entitlementBypass(model: model.id, path: path)
            metrics.quota(.locked, model: model.id)
            throw ModelgateError.modelLocked(model.id, priceCents: price)
        }
        if let skipped = plan.choice.skipped.first {
            metrics.selectionFallback(reason: skipped.why, to: plan.choice.answeredBy)
        }
        let systemPrompt = persona.flatMap { cache.persona($0)?.systemPrompt }
        let reservation = try await reserve(demand.adding(systemPrompt: systemPrompt), of: model, for: profile, day: day)
        switch try await charge(plan, payment: payment, profile: profile, persona: persona, holding: reservation) {
        case .consumed(let consumption):
            metrics.quota(payment == .trial ? .trial : .allowed, model: model.id)
            return admission(plan.choice, payment: payment, consumption: consumption, day: day, systemPrompt: systemPrompt, reservation: reservation)
        case .dailyLimitReached:
            metrics.quota(.rateLimited, model: model.id)
            await recordRefusal(.modelRateLimitHit(model: model.id, dailyLimit: model.dailyLimit ?? 0, resetAt: day.resetAt), of: profile)
            throw rateLimited(model, day: day)
        case .trialExhausted:
            metrics.quota(.trialExhausted, model: model.id)
            await recordRefusal(.modelTrialExpiredPrompt(model: model.id, priceCents: model.priceCents), of: profile)
            throw ModelgateError.trialExhausted(model.id, priceCents: model.priceCents)
        }
    }

    /// The message again, charged to `model` instead: the stand-in for `original`, whose provider failed
    /// before the first token (its charge is already given back). Only a model the user may use
    /// without spending a trial — free, or bought or granted — that is enabled, configured, able to
    /// take the request and within its daily limit and the budgets; `nil` when it may not answer.
    public func admitStandIn(_ model: AIModel, for original: Admission, profile: Profile, persona: PersonaID?, demand: CallDemand,
                      check: (AIModel) throws -> Void) async throws -> Admission? {
        guard model.enabled, configuredProviders.contains(model.provider), (try? check(model)) != nil else { return nil }
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
            reservation = try await reserve(demand.adding(systemPrompt: original.systemPrompt), of: model, for: profile, day: day)
        } catch ModelgateError.tokenBudgetExhausted {
            return nil
        }
        let plan = MessagePlan(choice: choice, quote: AccessQuote(model: model, entitled: payment == .entitled, trialMessagesUsed: 0, usedToday: 0, day: day))
        guard case .consumed(let consumption) = try await charge(plan, payment: payment, profile: profile, persona: persona, holding: reservation) else {
            return nil
        }
        metrics.quota(.allowed, model: model.id)
        var admission = admission(choice, payment: payment, consumption: consumption, day: day, systemPrompt: original.systemPrompt,
                                  reservation: reservation)
        admission.failoverFrom = original.failoverFrom ?? original.choice.model.id
        return admission
    }

    /// An admitted message whose `release` gives back its charge (daily and trial units) and its budget hold.
    private func admission(_ choice: ModelChoice, payment: PaymentKind, consumption: Consumption, day: QuotaDay, systemPrompt: String?,
                           reservation: BudgetReservation?) -> Admission {
        let model = choice.model
        return Admission(
            id: reservation?.id ?? newCallID(), choice: choice, payment: payment,
            usage: DailyUsage(used: consumption.usedToday, limit: model.dailyLimit, resetAt: ISO8601.string(day.resetAt)),
            trialMessagesRemaining: consumption.trialUsed.map { AccessQuote.trialMessagesLeft(of: model, used: $0) },
            systemPrompt: systemPrompt, day: day.key, reservation: reservation,
            release: { [ledger, spend, metrics] in
                do {
                    try await ledger.release(consumption)
                } catch {
                    if payment == .trial { metrics.trialTrackingFailure(model: model.id) }
                    throw error
                }
                if let reservation { try await spend.release(reservation) }
            })
    }

    /// Holds the call's worst case against the model's token budget and the user's dollar budget, as
    /// far as either is set; refuses the call when it does not fit.
    private func reserve(_ demand: CallDemand, of model: AIModel, for profile: Profile, day: QuotaDay) async throws -> BudgetReservation? {
        let costBudget = model.prices == nil ? nil : cache.catalog.userDailyCostBudgetMicros
        guard model.dailyTokenBudget != nil || costBudget != nil else { return nil }
        let reservation = BudgetReservation(
            id: newCallID(), user: profile.id, model: model.id, day: day.key,
            tokens: model.dailyTokenBudget == nil ? 0 : demand.promptTokens + demand.maxOutputTokens,
            costMicros: costBudget == nil ? 0 : model.prices?.worstCase(inputTokens: demand.promptTokens, outputTokens: demand.maxOutputTokens) ?? 0,
            expiresAt: clock.now().addingTimeInterval(OpenCallGate.callLifetime))
        let seconds = max(1, Int(day.resetAt.timeIntervalSince(clock.now()).rounded(.up)))
        switch try await spend.reserve(reservation, within: BudgetLimits(dailyTokens: model.dailyTokenBudget, dailyCostMicros: costBudget)) {
        case .reserved(let reservation): return reservation
        case .tokenBudgetExhausted:
            metrics.quota(.tokenBudgetExhausted, model: model.id)
            throw ModelgateError.tokenBudgetExhausted(model.id, budget: .tokens, limit: model.dailyTokenBudget ?? 0, resetAt: day.resetAt, retryAfterSeconds: seconds)
        case .costBudgetExhausted:
            metrics.quota(.tokenBudgetExhausted, model: model.id)
            throw ModelgateError.tokenBudgetExhausted(model.id, budget: .costMicros, limit: costBudget ?? 0, resetAt: day.resetAt, retryAfterSeconds: seconds)
        }
    }

    func newCallID() -> String { makeID().uuidString.lowercased() }

    /// Charges the message; its budget hold goes back unless the charge was taken.
    private func charge(_ plan: MessagePlan, payment: PaymentKind, profile: Profile, persona: PersonaID?,
                        holding reservation: BudgetReservation?) async throws -> ConsumeOutcome {
        let outcome: ConsumeOutcome
        do {
            outcome = try await charge(plan, payment: payment, profile: profile, persona: persona)
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
        try? await spend.release(reservation)
    }

    /// Takes the message's quota (and trial) units, writing its analytics events in the same transaction.
    private func charge(_ plan: MessagePlan, payment: PaymentKind, profile: Profile, persona: PersonaID?) async throws -> ConsumeOutcome {
        let model = plan.choice.model
        let charge = QuotaCharge(
            user: profile.id, model: model.id, day: plan.quote.day.key, dailyLimit: model.dailyLimit,
            trialLimit: payment == .trial ? model.trialMessagesAllowed : nil)
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
    private func recordRefusal(_ event: AnalyticsEvent, of profile: Profile) async {
        try? await ledger.record([event], for: profile.id, at: clock.now(), outbox: outbox)
    }

    private func rateLimited(_ model: AIModel, day: QuotaDay) -> ModelgateError {
        let seconds = max(1, Int(day.resetAt.timeIntervalSince(clock.now()).rounded(.up)))
        return .rateLimited(model.id, limit: model.dailyLimit ?? 0, resetAt: day.resetAt, retryAfterSeconds: seconds)
    }
}
