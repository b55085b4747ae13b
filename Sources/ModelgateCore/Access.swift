import Foundation

/// How a message on a model is paid for, stored with the message.
public enum PaymentKind: String, Sendable, Codable {
    case free, entitled, trial
    /// Within the allowance of the user's subscription plan.
    case plan
    /// Paid from the user's credit balance.
    case credits
    /// A background call charged to the API key's task budget, never to an end user (not stored as a turn).
    case task
}

/// What a user may do with a model right now, before any counter is touched.
public enum AccessDecision: Sendable, Equatable {
    case allowed(PaymentKind)
    /// Premium, not bought, and no trial offered.
    case locked(priceCents: Int?)
    /// Premium, not bought, and every trial message spent.
    case trialExhausted(priceCents: Int?)
    /// The plan that covers the model has no messages left for it (today or this period).
    case planAllowanceExhausted(plan: String, resetAt: Date, retryAfterSeconds: Int)
    /// The plan that covers the model is past due beyond its grace period.
    case planPastDue(plan: String)
    /// Credits would pay, but the balance is smaller than a message's worst case.
    case creditsInsufficient(needed: Int, balance: Int)
}

/// The user's plan as it bears on one model: a subscription whose plan covers it, and how much of
/// the plan's allowance is used (unknown at admission: the charge checks it atomically).
public struct PlanAccess: Sendable, Equatable {
    public let plan: Plan
    public let subscription: Subscription
    public let standing: PlanStanding
    public let usedToday: Int?
    public let usedInPeriod: Int?
    /// When it was read: the allowance's reset is counted from here.
    public let at: Date

    public init(plan: Plan, subscription: Subscription, standing: PlanStanding, usedToday: Int? = nil, usedInPeriod: Int? = nil, at: Date) {
        self.plan = plan
        self.subscription = subscription
        self.standing = standing
        self.usedToday = usedToday
        self.usedInPeriod = usedInPeriod
        self.at = at
    }

    /// False only when a count is known to be at its allowance.
    var hasAllowance: Bool {
        !(plan.messagesPerDay.map { usedToday ?? 0 >= $0 && usedToday != nil } ?? false)
            && !(plan.messagesPerPeriod.map { usedInPeriod ?? 0 >= $0 && usedInPeriod != nil } ?? false)
    }

    /// What is left today and this period, as far as the plan sets allowances.
    public var remainingToday: Int? { plan.messagesPerDay.map { max(0, $0 - (usedToday ?? 0)) } }
    public var remainingInPeriod: Int? { plan.messagesPerPeriod.map { max(0, $0 - (usedInPeriod ?? 0)) } }

    /// The refusal once the allowance ran out: the day's, or else the period's, end.
    public func exhausted(day: QuotaDay) -> AccessDecision {
        let dayIsOut = plan.messagesPerDay.map { (usedToday ?? 0) >= $0 } ?? false
        let resetAt = dayIsOut ? day.resetAt : subscription.periodEnd
        return .planAllowanceExhausted(plan: plan.name, resetAt: resetAt, retryAfterSeconds: max(1, Int(resetAt.timeIntervalSince(at).rounded(.up))))
    }
}

/// Credits as they bear on one model: its price, and the balance when it was read.
public struct CreditAccess: Sendable, Equatable {
    public let price: CreditPrice
    /// `nil` at admission: the hold checks it atomically.
    public let balance: Int?

    public init(price: CreditPrice, balance: Int?) {
        self.price = price
        self.balance = balance
    }
}

public enum AccessPolicy {
    public static func decide(model: AIModel, entitled: Bool, trialMessagesUsed: Int) -> AccessDecision {
        decide(model: model, entitled: entitled, trialMessagesUsed: trialMessagesUsed, plan: nil, credits: nil).decision
    }

    /// What may pay for a message, in the order tried: a purchase or grant, the plan's allowance, a
    /// free model's limit, credits, a trial. The decision is the first of them, or why none may.
    public static func decide(model: AIModel, entitled: Bool, trialMessagesUsed: Int, plan: PlanAccess?, credits: CreditAccess?,
                              day: QuotaDay? = nil) -> (decision: AccessDecision, sources: [PaymentKind]) {
        var sources: [PaymentKind] = []
        let creditsMayPay = credits.map { $0.balance.map { balance in balance > 0 } ?? true } ?? false
        switch model.tier {
        case .free:
            sources = [.free] + (credits != nil ? [.credits] : [])
        case .premium where entitled:
            sources = [.entitled]
        case .premium:
            if let plan, plan.standing == .active, plan.hasAllowance { sources.append(.plan) }
            if creditsMayPay { sources.append(.credits) }
            if trialMessagesUsed < model.trialMessagesAllowed { sources.append(.trial) }
        }
        if let first = sources.first { return (.allowed(first), sources) }
        if let plan, plan.standing == .pastDue { return (.planPastDue(plan: plan.plan.name), []) }
        if let plan, plan.standing == .active, let day { return (plan.exhausted(day: day), []) }
        if let credits, let balance = credits.balance {
            return (.creditsInsufficient(needed: credits.price.typicalMessage, balance: balance), [])
        }
        if model.trialMessagesAllowed > 0 { return (.trialExhausted(priceCents: model.priceCents), []) }
        return (.locked(priceCents: model.priceCents), [])
    }

    /// The error a refused decision becomes.
    public static func refusal(_ decision: AccessDecision, model: ModelID) -> ModelgateError? {
        switch decision {
        case .allowed: nil
        case .locked(let price): .modelLocked(model, priceCents: price)
        case .trialExhausted(let price): .trialExhausted(model, priceCents: price)
        case .planAllowanceExhausted(let plan, let resetAt, let seconds): .planAllowanceExhausted(model, plan: plan, resetAt: resetAt, retryAfterSeconds: seconds)
        case .planPastDue(let plan): .planPastDue(model, plan: plan)
        case .creditsInsufficient(let needed, let balance): .creditsInsufficient(model, needed: needed, balance: balance)
        }
    }
}

/// An amount used of a daily budget (tokens, or micro-dollars); `limit` and `remaining` are `nil`
/// when there is no budget. Calls still streaming count at their worst case.
public struct BudgetUsage: Sendable, Equatable, Codable {
    public let used: Int
    public let limit: Int?
    public let remaining: Int?

    public init(used: Int, limit: Int?) {
        self.used = used
        self.limit = limit
        self.remaining = limit.map { max(0, $0 - used) }
    }

    public var isSpent: Bool { remaining == 0 }
}

/// A user's count on one model for one day, as the API shows it: messages, the model's tokens and
/// the user's spend across models.
public struct DailyUsage: Sendable, Equatable, Codable {
    public let used: Int
    public let limit: Int?
    public let remaining: Int?
    public let resetAt: String
    public let tokens: BudgetUsage
    /// The user's provider cost of the day across all models, in micro-dollars.
    public let costMicros: BudgetUsage

    public init(used: Int, limit: Int?, resetAt: String, tokens: BudgetUsage = BudgetUsage(used: 0, limit: nil),
                costMicros: BudgetUsage = BudgetUsage(used: 0, limit: nil)) {
        self.used = used
        self.limit = limit
        self.remaining = limit.map { max(0, $0 - used) }
        self.resetAt = resetAt
        self.tokens = tokens
        self.costMicros = costMicros
    }
}

/// Everything Modelgate says about one user and one model at one instant: whether a message may be
/// sent and how it is paid, the trial messages left, today's usage and when it resets. Admission,
/// the preview, the model lists, preference checks and both pages read it; nothing re-derives it.
public struct AccessQuote: Sendable, Equatable {
    /// The answer the API gives for a message now (`POST /api/selection/preview`'s `outcome`).
    public enum Outcome: String, Sendable, Codable {
        case allowed
        case modelLocked = "model_locked"
        case trialExhausted = "trial_exhausted"
        case rateLimited = "rate_limited"
        case tokenBudgetExhausted = "token_budget_exhausted"
        case planAllowanceExhausted = "plan_allowance_exhausted"
        case planPastDue = "plan_past_due"
        case creditsInsufficient = "credits_insufficient"
    }

    public let model: AIModel
    public let decision: AccessDecision
    public let entitled: Bool
    public let trialMessagesUsed: Int
    public let usedToday: Int
    public let day: QuotaDay
    /// This model's tokens and the user's spend today, against their budgets.
    public let tokens: BudgetUsage
    public let costMicros: BudgetUsage
    /// The plan that covers the model, if any, and the user's credits where credits pay for it.
    public let plan: PlanAccess?
    public let credits: CreditAccess?
    /// What may pay for the message, in the order admission tries them.
    public let sources: [PaymentKind]

    public init(model: AIModel, entitled: Bool, trialMessagesUsed: Int, usedToday: Int, day: QuotaDay,
                tokens: BudgetUsage = BudgetUsage(used: 0, limit: nil), costMicros: BudgetUsage = BudgetUsage(used: 0, limit: nil),
                plan: PlanAccess? = nil, credits: CreditAccess? = nil) {
        self.model = model
        self.entitled = entitled
        self.trialMessagesUsed = trialMessagesUsed
        self.usedToday = usedToday
        self.day = day
        self.tokens = tokens
        self.costMicros = costMicros
        self.plan = plan
        self.credits = credits
        (decision, sources) = AccessPolicy.decide(model: model, entitled: entitled, trialMessagesUsed: trialMessagesUsed, plan: plan, credits: credits, day: day)
    }

    public var outcome: Outcome {
        switch decision {
        case .locked: .modelLocked
        case .trialExhausted: .trialExhausted
        case .planAllowanceExhausted: .planAllowanceExhausted
        case .planPastDue: .planPastDue
        case .creditsInsufficient: .creditsInsufficient
        case .allowed where model.dailyLimit.map({ usedToday >= $0 }) == true: .rateLimited
        case .allowed where tokens.isSpent || (model.prices != nil && costMicros.isSpent): .tokenBudgetExhausted
        case .allowed: .allowed
        }
    }

    /// The error a refused message becomes (a daily limit is refused by the ledger's charge).
    public var refusal: ModelgateError? { AccessPolicy.refusal(decision, model: model.id) }

    /// Free, or premium and bought, granted or in an active plan: what a saved default or coach override needs.
    public var isUnlocked: Bool { model.tier == .free || entitled || plan?.standing == .active }

    /// Premium only: whether the user owns it.
    public var purchased: Bool? { model.tier == .premium ? entitled : nil }

    /// Trial messages left on a premium model (nil for a free one).
    public var trialMessagesRemaining: Int? {
        model.tier == .premium ? Self.trialMessagesLeft(of: model, used: trialMessagesUsed) : nil
    }

    /// Today's count against the daily limit, reset at the user's own midnight.
    public var usage: DailyUsage {
        DailyUsage(used: usedToday, limit: model.dailyLimit, resetAt: ISO8601.string(day.resetAt), tokens: tokens, costMicros: costMicros)
    }

    /// The one place the trials left are computed.
    public static func trialMessagesLeft(of model: AIModel, used: Int) -> Int {
        max(0, model.trialMessagesAllowed - used)
    }
}
