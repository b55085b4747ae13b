/// How a message on a model is paid for, stored with the message.
public enum PaymentKind: String, Sendable, Codable {
    case free, entitled, trial
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

/// A user's count on one model for one day, as the API shows it.
public struct DailyUsage: Sendable, Equatable, Codable {
    public let used: Int
    public let limit: Int?
    public let remaining: Int?
    public let resetAt: String

    public init(used: Int, limit: Int?, resetAt: String) {
        self.used = used
        self.limit = limit
        self.remaining = limit.map { max(0, $0 - used) }
        self.resetAt = resetAt
    }
}
