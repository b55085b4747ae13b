import ModelgateCore

/// The JSON shapes of the user API.
struct PreferencesView: Encodable, Sendable {
    let defaultModelId: Nullable<ModelID>
    let personaOverrides: [String: ModelID]

    init(_ preferences: ModelPreferences) {
        defaultModelId = Nullable(preferences.defaultModelId)
        personaOverrides = Dictionary(uniqueKeysWithValues: preferences.personaOverrides.map { ($0.key.rawValue, $0.value) })
    }
}

struct UsageView: Encodable, Sendable {
    struct Budget: Encodable, Sendable {
        let used: Int
        let limit: Nullable<Int>
        let remaining: Nullable<Int>

        init(_ budget: BudgetUsage) {
            used = budget.used
            limit = Nullable(budget.limit)
            remaining = Nullable(budget.remaining)
        }
    }

    let used: Int
    let limit: Nullable<Int>
    let remaining: Nullable<Int>
    let resetAt: String
    /// This model's tokens today (calls still streaming at their worst case) against its daily token budget.
    let tokens: Budget
    /// The user's provider cost today across all models, in micro-dollars, against the daily dollar budget.
    let costMicros: Budget

    init(_ usage: DailyUsage) {
        used = usage.used
        limit = Nullable(usage.limit)
        remaining = Nullable(usage.remaining)
        resetAt = usage.resetAt
        tokens = Budget(usage.tokens)
        costMicros = Budget(usage.costMicros)
    }
}

struct ModelView: Encodable, Sendable {
    let id: ModelID
    let provider: Provider
    let providerModelId: String
    let displayName: String
    let description: String
    let tier: Tier
    let priceCents: Nullable<Int>
    let dailyMessageLimit: Nullable<Int>
    let trialMessagesAllowed: Int
    let sortOrder: Int
    let metadata: JSONValue
    let isSystemDefault: Bool
    /// Whether the model's provider can be called (has a key, or demo mode).
    let available: Bool
    let purchased: Bool?
    let usageToday: UsageView?
    let trialMessagesRemaining: Int?
    /// What a message to it would get now: `allowed`, `model_locked`, `trial_exhausted` or `rate_limited`.
    let access: AccessQuote.Outcome

    init(_ model: AIModel, systemDefault: ModelID, quote: AccessQuote, available: Bool) {
        id = model.id
        provider = model.provider
        providerModelId = model.providerModelID
        displayName = model.displayName
        description = model.description
        tier = model.tier
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
    }
}

struct ModelsView: Encodable, Sendable {
    struct Data: Encodable, Sendable {
        let free: [ModelView]
        let premium: [ModelView]
        let systemDefaultModelId: ModelID
        let userPreferences: PreferencesView
    }
    let data: Data
}

struct TrialStatusView: Encodable, Sendable {
    let modelId: ModelID
    let trialMessagesAllowed: Int
    let trialMessagesUsed: Int
    let trialMessagesRemaining: Int
    let purchased: Bool
}

struct PersonaView: Encodable, Sendable {
    let id: PersonaID
    let name: String
    let description: String
    let modelId: ModelID
    /// `override`, `default`, `system_default` or `fallback`.
    let source: String
    let skipped: [SkippedChoice]
}

struct PreviewView: Encodable, Sendable {
    let outcome: AccessQuote.Outcome
    let modelId: ModelID
    let reason: SelectionReason
    let isTrialMessage: Bool
    let usageInfo: UsageView
    let trialMessagesRemaining: Int?
    let priceCents: Int?
    let skipped: [SkippedChoice]
}

struct ProfileView: Encodable, Sendable {
    let id: UserID
    let email: Nullable<String>
    let role: Role
    let defaultModelId: Nullable<ModelID>
    let timezone: String
    let pendingTimezone: Nullable<String>
    let pendingTimezoneFrom: Nullable<String>

    init(_ identity: Identity) {
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
