/// How a message on a model is paid for, stored with the message.
public enum PaymentKind: String, Sendable, Codable {
    case free, entitled, trial
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
}

public enum AccessPolicy {
    public static func decide(model: AIModel, entitled: Bool, trialMessagesUsed: Int) -> AccessDecision {
        switch model.tier {
        case .free:
            return .allowed(.free)
        case .premium where entitled:
            return .allowed(.entitled)
        case .premium where trialMessagesUsed < model.trialMessagesAllowed:
            return .allowed(.trial)
        case .premium where model.trialMessagesAllowed > 0:
            return .trialExhausted(priceCents: model.priceCents)
        case .premium:
            return .locked(priceCents: model.priceCents)
        }
    }

    /// The error a refused decision becomes.
    public static func refusal(_ decision: AccessDecision, model: ModelID) -> ModelgateError? {
        switch decision {
        case .allowed: nil
        case .locked(let price): .modelLocked(model, priceCents: price)
        case .trialExhausted(let price): .trialExhausted(model, priceCents: price)
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

    public init(model: AIModel, entitled: Bool, trialMessagesUsed: Int, usedToday: Int, day: QuotaDay,
                tokens: BudgetUsage = BudgetUsage(used: 0, limit: nil), costMicros: BudgetUsage = BudgetUsage(used: 0, limit: nil)) {
        self.model = model
        self.entitled = entitled
        self.trialMessagesUsed = trialMessagesUsed
        self.usedToday = usedToday
        self.day = day
        self.tokens = tokens
        self.costMicros = costMicros
        decision = AccessPolicy.decide(model: model, entitled: entitled, trialMessagesUsed: trialMessagesUsed)
    }

    public var outcome: Outcome {
        switch decision {
        case .locked: .modelLocked
        case .trialExhausted: .trialExhausted
        case .allowed where model.dailyLimit.map({ usedToday >= $0 }) == true: .rateLimited
        case .allowed where tokens.isSpent || (model.prices != nil && costMicros.isSpent): .tokenBudgetExhausted
        case .allowed: .allowed
        }
    }

    /// The error a refused message becomes (a daily limit is refused by the ledger's charge).
    public var refusal: ModelgateError? { AccessPolicy.refusal(decision, model: model.id) }

    /// Free, or premium and bought or granted: what a saved default or coach override needs.
    public var isUnlocked: Bool { model.tier == .free || entitled }

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
