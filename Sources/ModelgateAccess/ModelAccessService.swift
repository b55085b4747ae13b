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
    let entitlements: EntitlementRepository
    let ledger: QuotaLedger
    let spend: SpendLedger
    let paid: PaidAccessReader
    let outbox: AnalyticsOutbox
    let metrics: ModelgateMetrics
    let clock: any WallClock
    let keys: TaskBudgetLedger
    let makeID: @Sendable () -> UUID
    /// The providers that can be called (a key, or the demo responder); given when it is built.
    let configuredProviders: Set<Provider>
    /// Operators can switch model choice off (feature flag): everyone gets the system default.
    let isModelSelectionEnabled: Bool
    /// How long a plan whose payment failed keeps its models unlocked.
    let planGrace: TimeInterval

    public init(cache: CatalogCache, entitlements: EntitlementRepository, ledger: QuotaLedger, spend: SpendLedger, paid: PaidAccessReader,
                outbox: AnalyticsOutbox, metrics: ModelgateMetrics, clock: any WallClock, makeID: @escaping @Sendable () -> UUID, keys: TaskBudgetLedger,
                configuredProviders: Set<Provider>, modelSelection: Bool, planGrace: TimeInterval = 3 * 86_400) {
        self.keys = keys
        self.paid = paid
        self.planGrace = planGrace
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
        let now = clock.now()
        let day = profile.timeZone.day(at: now)
        async let entitled = entitlements.entitledModels(of: profile.id)
        async let trials = ledger.trialsUsed(by: profile.id)
        async let today = spend.day(of: profile.id, on: day.key)
        async let paidAccess = paid.subscriptionsAndBalance(of: profile.id)
        let (usage, spent) = try await today
        let (subscriptions, balance) = try await paidAccess
        let plans = PlanChoice(subscriptions: subscriptions, catalog: cache.catalog, at: now, grace: planGrace)
        return UserStanding(entitled: try await entitled, trialsUsed: try await trials, usageToday: usage, spendToday: spent,
                            costBudgetMicros: cache.catalog.userDailyCostBudgetMicros, day: day, plans: plans,
                            planUsage: try await paid.planUsage(of: profile.id, buckets: plans.buckets(models: cache.catalog.models, day: day.key)),
                            creditBalance: balance)
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

    func plan(for profile: Profile, persona: PersonaID?, explicit: ModelID?, kind: ModelKind = .chat, withUsage: Bool = false) async throws -> MessagePlan {
        let started = ContinuousClock.now
        defer { metrics.selection(seconds: (ContinuousClock.now - started).seconds) }
        if let persona, cache.persona(persona) == nil { throw ModelgateError.unknownPersona(persona) }
        // With model choice switched off the catalog decides, but an embedding is always of the model
        // asked for: another model's vectors live in another space.
        let honoured = isModelSelectionEnabled || kind == .embedding ? explicit : nil
        let choice = try ModelSelection.select(
            catalog: cache.catalog, preferences: preferences(of: profile), persona: persona, explicit: honoured, kind: kind)
        let model = choice.model
        let now = clock.now()
        let day = profile.timeZone.day(at: now)
        var entitled = false
        var trialsUsed = 0
        var planAccess: PlanAccess?
        if model.tier == .premium {
            entitled = try await entitlements.entitledModels(of: profile.id).contains(model.id)
            if !entitled {
                trialsUsed = try await ledger.trialsUsed(by: profile.id)[model.id] ?? 0
                planAccess = PlanChoice(subscriptions: try await paid.subscriptions(of: profile.id), catalog: cache.catalog, at: now, grace: planGrace)
                    .access(to: model)
            }
        }
        // Admission needs no count or balance: its charge and its hold check them atomically.
        guard withUsage else {
            return MessagePlan(choice: choice, quote: AccessQuote(
                model: model, entitled: entitled, trialMessagesUsed: trialsUsed, usedToday: 0, day: day, plan: planAccess,
                credits: model.creditPrice.map { CreditAccess(price: $0, balance: nil) }))
        }
        let (usedToday, spendToday) = try await spend.day(of: profile.id, on: day.key)
        if let access = planAccess {
            planAccess = access.counting(try await paid.planUsage(of: profile.id, buckets: access.allowances(model: model.id, day: day.key).map(\.bucket)),
                                         model: model.id, day: day.key)
        }
        var credits: CreditAccess?
        if let price = model.creditPrice { credits = CreditAccess(price: price, balance: try await paid.balance(of: profile.id)) }
        return MessagePlan(choice: choice, quote: AccessQuote(
            model: model, entitled: entitled, trialMessagesUsed: trialsUsed, usedToday: usedToday[model.id] ?? 0, day: day,
            tokens: BudgetUsage(used: spendToday.tokens[model.id] ?? 0, limit: model.dailyTokenBudget),
            costMicros: BudgetUsage(used: spendToday.costMicros, limit: cache.catalog.userDailyCostBudgetMicros), plan: planAccess, credits: credits))
    }
}
