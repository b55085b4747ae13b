import Foundation

/// The product analytics catalog: every event Modelgate sends to PostHog, with its properties.
/// Names and property keys are spelled only here (see docs/analytics.md); call sites build a case.
public enum AnalyticsEvent: Sendable, Equatable {
    case modelSelected(model: ModelID, persona: PersonaID?, isDefault: Bool, isOverride: Bool)
    case modelPreferenceSaved(defaultModel: ModelID?, hasOverrides: Bool)
    case modelPurchaseInitiated(model: ModelID, priceCents: Int)
    case modelPurchaseCompleted(model: ModelID, priceCents: Int, source: PurchaseChannel)
    case modelTrialStarted(model: ModelID, trialMessagesRemaining: Int)
    case modelTrialMessageUsed(model: ModelID, trialMessagesRemaining: Int)
    case modelTrialExpiredPrompt(model: ModelID, priceCents: Int?)
    case modelRateLimitHit(model: ModelID, dailyLimit: Int, resetAt: Date)
    case modelMessageSent(model: ModelID, persona: PersonaID?, isTrialMessage: Bool)
    /// A call's stream is over and settled: its tokens and its provider cost (micro-dollars) at list prices.
    case modelMessageCompleted(model: ModelID, modelCost: Int, inputTokens: Int, outputTokens: Int, isEstimated: Bool)
    case adminModelCreated(model: ModelID, tier: Tier, priceCents: Int?)
    case adminModelEnabled(model: ModelID)
    case adminModelDisabled(model: ModelID)
    case adminModelAccessGranted(model: ModelID, user: UserID, source: AccessGrantSource)
    case modelPurchaseRefused(model: ModelID, reason: PurchaseRefusal)
    case modelPurchaseRefunded(model: ModelID, priceCents: Int)
    case modelPurchaseDisputed(model: ModelID, status: DisputeStatus)
    case requestLimitHit(limit: RequestLimit, retryAfterSeconds: Int)
    /// A subscription's state changed (started, renewed, past due, cancelled, a plan change).
    case subscriptionChanged(plan: PlanID, status: SubscriptionStatus, previous: SubscriptionStatus?, cancelAtPeriodEnd: Bool)
    case subscriptionInvoicePaid(plan: PlanID, amountCents: Int)
    case subscriptionPaymentFailed(plan: PlanID)
    case creditsPurchased(pack: String, credits: Int, priceCents: Int)
    case creditsRefunded(pack: String, creditsRemoved: Int)

    /// Where a completed purchase was paid.
    public enum PurchaseChannel: String, Sendable { case stripe }

    /// How an admin gave a user access.
    public enum AccessGrantSource: String, Sendable {
        case adminGrant = "admin_grant"
        case trial
    }

    /// Why a signed checkout event granted nothing.
    public enum PurchaseRefusal: String, Sendable {
        case userMismatch = "user_mismatch"
        case modelMismatch = "model_mismatch"
        case amountMismatch = "amount_mismatch"
        case currencyMismatch = "currency_mismatch"
    }

    /// The event names PostHog sees.
    public enum Name: String, Sendable, CaseIterable {
        case modelSelected = "model_selected"
        case modelPreferenceSaved = "model_preference_saved"
        case modelPurchaseInitiated = "model_purchase_initiated"
        case modelPurchaseCompleted = "model_purchase_completed"
        case modelTrialStarted = "model_trial_started"
        case modelTrialMessageUsed = "model_trial_message_used"
        case modelTrialExpiredPrompt = "model_trial_expired_prompt"
        case modelRateLimitHit = "model_rate_limit_hit"
        case modelMessageSent = "model_message_sent"
        case modelMessageCompleted = "model_message_completed"
        case adminModelCreated = "admin_model_created"
        case adminModelEnabled = "admin_model_enabled"
        case adminModelDisabled = "admin_model_disabled"
        case adminModelAccessGranted = "admin_model_access_granted"
        case modelPurchaseRefused = "model_purchase_refused"
        case modelPurchaseRefunded = "model_purchase_refunded"
        case modelPurchaseDisputed = "model_purchase_disputed"
        case requestLimitHit = "request_limit_hit"
        case subscriptionChanged = "subscription_changed"
        case subscriptionInvoicePaid = "subscription_invoice_paid"
        case subscriptionPaymentFailed = "subscription_payment_failed"
        case creditsPurchased = "credits_purchased"
        case creditsRefunded = "credits_refunded"
    }

    /// Property keys (camelCase, as in the PostHog insights).
    public enum Key: String, Sendable, CaseIterable {
        case modelId, personaId, isDefault, isOverride, defaultModelId, hasOverrides, priceCents, source
        case trialMessagesRemaining, dailyLimit, resetAt, isTrialMessage, tier, userId
        case reason, status, limit, retryAfterSeconds
        case modelCost, inputTokens, outputTokens, isEstimated
        case planId, previousStatus, cancelAtPeriodEnd, amountCents, packId, credits, creditsRemoved
    }

    public var name: Name {
        switch self {
        case .modelSelected: .modelSelected
        case .modelPreferenceSaved: .modelPreferenceSaved
        case .modelPurchaseInitiated: .modelPurchaseInitiated
        case .modelPurchaseCompleted: .modelPurchaseCompleted
        case .modelTrialStarted: .modelTrialStarted
        case .modelTrialMessageUsed: .modelTrialMessageUsed
        case .modelTrialExpiredPrompt: .modelTrialExpiredPrompt
        case .modelRateLimitHit: .modelRateLimitHit
        case .modelMessageSent: .modelMessageSent
        case .modelMessageCompleted: .modelMessageCompleted
        case .adminModelCreated: .adminModelCreated
        case .adminModelEnabled: .adminModelEnabled
        case .adminModelDisabled: .adminModelDisabled
        case .adminModelAccessGranted: .adminModelAccessGranted
        case .modelPurchaseRefused: .modelPurchaseRefused
        case .modelPurchaseRefunded: .modelPurchaseRefunded
        case .modelPurchaseDisputed: .modelPurchaseDisputed
        case .requestLimitHit: .requestLimitHit
        case .subscriptionChanged: .subscriptionChanged
        case .subscriptionInvoicePaid: .subscriptionInvoicePaid
        case .subscriptionPaymentFailed: .subscriptionPaymentFailed
        case .creditsPurchased: .creditsPurchased
        case .creditsRefunded: .creditsRefunded
        }
    }

    /// The properties as JSON; absent optional values are `null`.
    public var properties: [String: JSONValue] {
        var properties: [Key: JSONValue] = [:]
        switch self {
        case .modelSelected(let model, let persona, let isDefault, let isOverride):
            properties = [.modelId: .id(model), .personaId: .id(persona), .isDefault: .bool(isDefault), .isOverride: .bool(isOverride)]
        case .modelPreferenceSaved(let model, let hasOverrides):
            properties = [.defaultModelId: .id(model), .hasOverrides: .bool(hasOverrides)]
        case .modelPurchaseInitiated(let model, let price):
            properties = [.modelId: .id(model), .priceCents: .int(price)]
        case .modelPurchaseCompleted(let model, let price, let source):
            properties = [.modelId: .id(model), .priceCents: .int(price), .source: .string(source.rawValue)]
        case .modelTrialStarted(let model, let remaining), .modelTrialMessageUsed(let model, let remaining):
            properties = [.modelId: .id(model), .trialMessagesRemaining: .int(remaining)]
        case .modelTrialExpiredPrompt(let model, let price):
            properties = [.modelId: .id(model), .priceCents: .int(price)]
        case .modelRateLimitHit(let model, let limit, let resetAt):
            properties = [.modelId: .id(model), .dailyLimit: .int(limit), .resetAt: .string(ISO8601.string(resetAt))]
        case .modelMessageSent(let model, let persona, let isTrial):
            properties = [.modelId: .id(model), .personaId: .id(persona), .isTrialMessage: .bool(isTrial)]
        case .modelMessageCompleted(let model, let cost, let input, let output, let estimated):
            properties = [.modelId: .id(model), .modelCost: .int(cost), .inputTokens: .int(input), .outputTokens: .int(output),
                          .isEstimated: .bool(estimated)]
        case .adminModelCreated(let model, let tier, let price):
            properties = [.modelId: .id(model), .tier: .string(tier.rawValue), .priceCents: .int(price)]
        case .adminModelEnabled(let model), .adminModelDisabled(let model):
            properties = [.modelId: .id(model)]
        case .adminModelAccessGranted(let model, let user, let source):
            properties = [.modelId: .id(model), .userId: .string(user.description), .source: .string(source.rawValue)]
        case .modelPurchaseRefused(let model, let reason):
            properties = [.modelId: .id(model), .reason: .string(reason.rawValue)]
        case .modelPurchaseRefunded(let model, let price):
            properties = [.modelId: .id(model), .priceCents: .int(price)]
        case .modelPurchaseDisputed(let model, let status):
            properties = [.modelId: .id(model), .status: .string(status.rawValue)]
        case .requestLimitHit(let limit, let retryAfter):
            properties = [.limit: .string(limit.rawValue), .retryAfterSeconds: .int(retryAfter)]
        case .subscriptionChanged(let plan, let status, let previous, let cancel):
            properties = [.planId: .id(plan), .status: .string(status.rawValue), .previousStatus: previous.map { .string($0.rawValue) } ?? .null,
                          .cancelAtPeriodEnd: .bool(cancel)]
        case .subscriptionInvoicePaid(let plan, let cents):
            properties = [.planId: .id(plan), .amountCents: .int(cents)]
        case .subscriptionPaymentFailed(let plan):
            properties = [.planId: .id(plan)]
        case .creditsPurchased(let pack, let credits, let price):
            properties = [.packId: .string(pack), .credits: .int(credits), .priceCents: .int(price)]
        case .creditsRefunded(let pack, let removed):
            properties = [.packId: .string(pack), .creditsRemoved: .int(removed)]
        }
        return Dictionary(uniqueKeysWithValues: properties.map { ($0.key.rawValue, $0.value) })
    }
}

/// Where a chargeback stands: access is suspended while it is open, restored when won, revoked when lost.
public enum DisputeStatus: String, Sendable {
    case open, won, lost
}

/// A per-user abuse limit that refused a request.
public enum RequestLimit: String, Sendable {
    case requestsPerMinute = "requests_per_minute"
    case concurrentStreams = "concurrent_streams"
    case checkoutsPerHour = "checkouts_per_hour"
}

extension JSONValue {
    fileprivate static func id<ID: StringIdentifier>(_ id: ID?) -> JSONValue { id.map { .string($0.rawValue) } ?? .null }
    fileprivate static func int(_ value: Int?) -> JSONValue { value.map { .number(Double($0)) } ?? .null }
}

/// An admitted message as analytics sees it: data the quota ledger turns into events in the
/// transaction of the charge, once it knows how many trial messages the charge used.
public struct AdmittedMessage: Sendable, Equatable {
    public let choice: ModelChoice
    public let persona: PersonaID?
    public let payment: PaymentKind

    public init(choice: ModelChoice, persona: PersonaID?, payment: PaymentKind) {
        self.choice = choice
        self.persona = persona
        self.payment = payment
    }

    /// `model_selected`, `model_message_sent`, and for a trial message `model_trial_started` (the
    /// first one) and `model_trial_message_used`.
    public func events(trialMessagesUsed used: Int?) -> [AnalyticsEvent] {
        let model = choice.model
        var events: [AnalyticsEvent] = [
            .modelSelected(
                model: model.id, persona: persona, isDefault: choice.reason == .userDefault || choice.reason == .systemDefault,
                isOverride: choice.reason == .personaOverride),
            .modelMessageSent(model: model.id, persona: persona, isTrialMessage: payment == .trial),
        ]
        if let used {
            let remaining = AccessQuote.trialMessagesLeft(of: model, used: used)
            if used == 1 { events.append(.modelTrialStarted(model: model.id, trialMessagesRemaining: remaining)) }
            events.append(.modelTrialMessageUsed(model: model.id, trialMessagesRemaining: remaining))
        }
        return events
    }
}
