import Foundation

/// Every failure a caller can act on. The HTTP layer maps each case to a status and a stable
/// `code` in one place; nothing else decides how an error looks on the wire.
public enum ModelgateError: Error, Sendable, Equatable {
    case unauthenticated(reason: String)
    case forbidden(reason: String)
    case notFound(what: String, id: String)
    case invalidBody(field: String, reason: String)
    /// A request field Modelgate (or the chosen model's provider) cannot honour: refused, never dropped.
    case unsupportedParameter(field: String, reason: String)
    /// The conversation does not fit the model's context window (an estimate, before any charge).
    case contextTooLong(ModelID, estimatedTokens: Int, contextWindow: Int)
    /// A background call (`X-Modelgate-Purpose: task`) from a caller whose key has no task model.
    case taskNotConfigured
    /// The key's background calls of this UTC day are spent.
    case taskBudgetExhausted(limit: Int, resetAt: Date, retryAfterSeconds: Int)
    /// A service key's request named no end user.
    case endUserRequired
    /// An API key (or one of its end users) has as many chat calls open as it may.
    case tooManyStreams(limit: Int)
    /// An API key used up its requests of this minute.
    case keyRateLimited(limit: Int, retryAfterSeconds: Int)
    /// A per-user abuse limit (requests a minute, open calls, checkouts an hour) refused it; nothing was charged.
    case userLimitReached(RequestLimit, allowed: Int, retryAfterSeconds: Int)
    /// The messages of one request are longer in total than the configured limit.
    case promptTooLarge(bytes: Int, limit: Int)
    /// A form body (`application/x-www-form-urlencoded`) that cannot be read at all.
    case malformedForm(reason: String)
    case invalidField(field: String, reason: String)
    case bodyTooLarge(limit: Int)
    case modelUnavailable(ModelID)
    /// A chat door named an embedding model, or `/v1/embeddings` a chat model (or a default or coach
    /// override was to be set to an embedding model).
    case modelKindMismatch(ModelID, kind: ModelKind, expected: ModelKind)
    case modelLocked(ModelID, priceCents: Int?)
    /// A premium model chosen as a default or coach override before it is bought or granted.
    case premiumChoiceLocked(ModelID, priceCents: Int?)
    case trialExhausted(ModelID, priceCents: Int?)
    case rateLimited(ModelID, limit: Int, resetAt: Date, retryAfterSeconds: Int)
    /// The user's tokens on this model, or dollars across models, of their local day are spent (or
    /// held by calls still streaming) so that this call's worst case does not fit.
    case tokenBudgetExhausted(ModelID, budget: SpendBudget, limit: Int, resetAt: Date, retryAfterSeconds: Int)
    /// The credit balance cannot hold this call's worst case (`needed` credits).
    case creditsInsufficient(ModelID, needed: Int, balance: Int)
    /// The plan's messages for this model (today) or for the period are used up.
    case planAllowanceExhausted(ModelID, plan: String, resetAt: Date, retryAfterSeconds: Int)
    /// The plan's payment failed and its grace period is over: it unlocks again once an invoice is paid.
    case planPastDue(ModelID, plan: String)
    case unknownPersona(PersonaID)
    case invalidTimeZone(String)
    case noModelAvailable
    case conflict(code: String, detail: String)
    case databaseUnavailable
    /// The instance is stopping (a deploy): send the request again, another instance answers it.
    case shuttingDown
    case modelNotPurchasable(ModelID)
    case paymentsNotConfigured
    case paymentProviderFailed(reason: String)
    case invalidSignature(reason: String)
    case providerNotConfigured(Provider)
    case providerFailed(ProviderFailure, provider: Provider)
    /// Several fields of an admin form or body are invalid; nothing was written.
    case validationFailed([FieldError])
    /// The system default must stay enabled until another model becomes the default.
    case systemDefaultRequired(ModelID)
    /// Model choice is switched off by the operators (feature flag).
    case modelSelectionDisabled
}

/// Which daily budget refused a call.
public enum SpendBudget: String, Sendable, Equatable {
    /// The model's tokens per user and local day.
    case tokens
    /// The user's micro-dollars of provider cost per local day, across models.
    case costMicros
}

/// How an upstream provider failed, as far as our callers need to know.
public enum ProviderFailure: String, Sendable, Equatable {
    case rateLimited = "provider_rate_limited"
    case unavailable = "provider_unavailable"
    case error = "provider_error"
}
