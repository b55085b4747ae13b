import Foundation
import ModelgateCore
import ModelgateHTTP

/// The JSON shapes of the user API.
public struct PreferencesView: Encodable, Sendable {
    public let defaultModelId: Nullable<ModelID>
    public let personaOverrides: [String: ModelID]

    public init(_ preferences: ModelPreferences) {
        defaultModelId = Nullable(preferences.defaultModelId)
        personaOverrides = Dictionary(uniqueKeysWithValues: preferences.personaOverrides.map { ($0.key.rawValue, $0.value) })
    }
}

public struct UsageView: Encodable, Sendable {
    public struct Budget: Encodable, Sendable {
        public let used: Int
        public let limit: Nullable<Int>
        public let remaining: Nullable<Int>

        public init(_ budget: BudgetUsage) {
            used = budget.used
            limit = Nullable(budget.limit)
            remaining = Nullable(budget.remaining)
        }
    }

    public let used: Int
    public let limit: Nullable<Int>
    public let remaining: Nullable<Int>
    public let resetAt: String
    /// This model's tokens today (calls still streaming at their worst case) against its daily token budget.
    public let tokens: Budget
    /// The user's provider cost today across all models, in micro-dollars, against the daily dollar budget.
    public let costMicros: Budget

    public init(_ usage: DailyUsage) {
        used = usage.used
        limit = Nullable(usage.limit)
        remaining = Nullable(usage.remaining)
        resetAt = usage.resetAt
        tokens = Budget(usage.tokens)
        costMicros = Budget(usage.costMicros)
    }
}

public struct ModelView: Encodable, Sendable {
    public let id: ModelID
    public let provider: Provider
    public let providerModelId: String
    public let displayName: String
    public let description: String
    public let tier: Tier
    /// `chat`, or `embedding` for a model only `POST /v1/embeddings` can use.
    public let kind: ModelKind
    public let priceCents: Nullable<Int>
    public let dailyMessageLimit: Nullable<Int>
    public let trialMessagesAllowed: Int
    public let sortOrder: Int
    public let metadata: JSONValue
    public let isSystemDefault: Bool
    /// Whether the model's provider can be called (has a key, or demo mode).
    public let available: Bool
    public let purchased: Bool?
    public let usageToday: UsageView?
    public let trialMessagesRemaining: Int?
    /// What a message to it would get now: `allowed`, `model_locked`, `trial_exhausted`, `rate_limited`, … .
    public let access: AccessQuote.Outcome
    /// What would pay for a message now: `free`, `entitled`, `plan`, `credits` or `trial`; `null` when refused.
    public let paidBy: PaymentKind?
    /// Its price in credits, when credits pay for it, and what a short message costs in them.
    public let creditPrice: CreditPrice?
    public let creditsPerMessage: Int?
    /// The plan that covers it, with what is left of its allowances.
    public let plan: PlanAllowanceView?

    public init(_ model: AIModel, systemDefault: ModelID, quote: AccessQuote, available: Bool) {
        id = model.id
        provider = model.provider
        providerModelId = model.providerModelID
        displayName = model.displayName
        description = model.description
        tier = model.tier
        kind = model.kind
        priceCents = Nullable(model.priceCents)
        dailyMessageLimit = Nullable(model.dailyLimit)
        trialMessagesAllowed = model.trialMessagesAllowed
        sortOrder = model.sortOrder
        metadata = model.metadata
        isSystemDefault = model.id == systemDefault
        self.available = available
        purchased = quote.purchased
        // A model with nothing to count against shows no usage; a token budget is something to count against.
        let counted = model.tier == .premium || model.dailyLimit != nil || model.dailyTokenBudget != nil || quote.costMicros.limit != nil
        usageToday = counted ? UsageView(quote.usage) : nil
        trialMessagesRemaining = quote.trialMessagesRemaining
        access = quote.outcome
        paidBy = quote.sources.first
        creditPrice = model.creditPrice
        creditsPerMessage = model.creditPrice?.typicalMessage
        plan = quote.plan.map(PlanAllowanceView.init)
    }
}

/// A plan's allowance on one model as the model lists show it.
public struct PlanAllowanceView: Encodable, Sendable {
    public let planId: PlanID
    public let name: String
    /// `active`, or `past_due` (locked until an invoice is paid).
    public let standing: PlanStanding
    public let messagesLeftToday: Int?
    public let messagesLeftInPeriod: Int?
    public let periodEnd: Date

    init(_ access: PlanAccess) {
        planId = access.plan.id
        name = access.plan.name
        standing = access.standing
        messagesLeftToday = access.remainingToday
        messagesLeftInPeriod = access.remainingInPeriod
        periodEnd = access.subscription.periodEnd
    }
}

public struct ModelsView: Encodable, Sendable {
    public struct Data: Encodable, Sendable {
        public let free: [ModelView]
        public let premium: [ModelView]
        public let systemDefaultModelId: ModelID
        public let userPreferences: PreferencesView
    }
    public let data: Data
}

public struct TrialStatusView: Encodable, Sendable {
    public let modelId: ModelID
    public let trialMessagesAllowed: Int
    public let trialMessagesUsed: Int
    public let trialMessagesRemaining: Int
    public let purchased: Bool
}

public struct PersonaView: Encodable, Sendable {
    public let id: PersonaID
    public let name: String
    public let description: String
    public let modelId: ModelID
    public let source: PersonaModelSource
    public let skipped: [SkippedChoice]
}

/// Where a coach's model comes from, as the API and the settings page say it.
public enum PersonaModelSource: String, Encodable, Sendable {
    case override
    case userDefault = "default"
    case systemDefault = "system_default"
    case fallback

    init(_ reason: SelectionReason) {
        switch reason {
        case .personaOverride: self = .override
        case .userDefault: self = .userDefault
        case .systemDefault: self = .systemDefault
        // Selection for a coach names no model, so it is never explicit.
        case .explicit, .fallback: self = .fallback
        }
    }
}

public struct PreviewView: Encodable, Sendable {
    public let outcome: AccessQuote.Outcome
    public let modelId: ModelID
    public let reason: SelectionReason
    public let isTrialMessage: Bool
    public let usageInfo: UsageView
    public let trialMessagesRemaining: Int?
    public let priceCents: Int?
    public let skipped: [SkippedChoice]
}

public struct ProfileView: Encodable, Sendable {
    public let id: UserID
    public let email: Nullable<String>
    public let role: Role
    public let defaultModelId: Nullable<ModelID>
    public let timezone: String
    public let pendingTimezone: Nullable<String>
    public let pendingTimezoneFrom: Nullable<String>

    public init(_ identity: Identity) {
        let profile = identity.profile
        id = profile.id
        email = Nullable(profile.email)
        role = identity.isAdmin ? .admin : .user
        defaultModelId = Nullable(profile.preferences.defaultModelId)
        timezone = profile.timeZone.current
        pendingTimezone = Nullable(profile.timeZone.pending)
        pendingTimezoneFrom = Nullable(profile.timeZone.pendingFrom.map(ISO8601.string))
    }
}
