import Foundation

/// A subscription plan's id, e.g. `pro`.
public struct PlanID: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
}

public enum BillingInterval: String, Sendable, Codable, CaseIterable {
    case month, year
}

/// A plan an admin sells by subscription: what it unlocks and how much of it.
public struct Plan: Sendable, Equatable, Codable {
    public var id: PlanID
    public var name: String
    public var interval: BillingInterval
    public var priceCents: Int
    /// Every premium model, now and later; otherwise `models` only.
    public var unlocksAllPremium: Bool
    public var models: [ModelID]
    /// Messages per model and local day the plan pays for; `nil`: no daily allowance.
    public var messagesPerDay: Int?
    /// Messages per billing period the plan pays for, across its models; `nil`: no period allowance.
    public var messagesPerPeriod: Int?
    /// Days of a free trial a new subscriber gets before the first payment.
    public var trialDays: Int?
    public var active: Bool
    /// Usage billed by a Stripe meter on top of the price; `nil`: none.
    public var meter: PlanMeter?
    public var stripeProductID: String?
    public var stripePriceID: String?

    public init(id: PlanID, name: String, interval: BillingInterval, priceCents: Int, unlocksAllPremium: Bool, models: [ModelID] = [],
                messagesPerDay: Int? = nil, messagesPerPeriod: Int? = nil, trialDays: Int? = nil, active: Bool = true,
                meter: PlanMeter? = nil, stripeProductID: String? = nil, stripePriceID: String? = nil) {
        self.id = id
        self.name = name
        self.interval = interval
        self.priceCents = priceCents
        self.unlocksAllPremium = unlocksAllPremium
        self.models = models
        self.messagesPerDay = messagesPerDay
        self.messagesPerPeriod = messagesPerPeriod
        self.trialDays = trialDays
        self.active = active
        self.meter = meter
        self.stripeProductID = stripeProductID
        self.stripePriceID = stripePriceID
    }

    /// Whether the plan pays for messages to `model` (free models need no plan).
    public func covers(_ model: AIModel) -> Bool {
        model.tier == .premium && (unlocksAllPremium || models.contains(model.id))
    }

    /// The problems of an admin's plan; none when it can be sold.
    public var problems: [FieldError] {
        var errors: [FieldError] = []
        if let problem = FieldError.identifier(id.rawValue) { errors.append(problem) }
        if name.trimmingCharacters(in: .whitespaces).isEmpty { errors.append(FieldError("name", "must not be empty")) }
        // Stripe's largest amount is $999,999.99.
        if !(1...99_999_999).contains(priceCents) { errors.append(FieldError("priceCents", "must be from 1 to 99,999,999 cents")) }
        if !unlocksAllPremium, models.isEmpty { errors.append(FieldError("models", "name at least one model, or set unlocksAllPremium")) }
        for (field, value) in [("messagesPerDay", messagesPerDay), ("messagesPerPeriod", messagesPerPeriod), ("trialDays", trialDays)] {
            if let value, !(1...1_000_000_000).contains(value) { errors.append(FieldError(field, "must be from 1 to 1,000,000,000 (empty means none)")) }
        }
        if let trialDays, trialDays > 730 { errors.append(FieldError("trialDays", "must be at most 730")) }
        return errors + (meter?.problems ?? [])
    }
}

/// A Stripe subscription's status, as Stripe names it.
public enum SubscriptionStatus: String, Sendable, Codable, CaseIterable {
    case trialing, active, pastDue = "past_due", unpaid, canceled, incomplete, incompleteExpired = "incomplete_expired", paused
}

/// Where a subscription was sold.
public enum SubscriptionSource: String, Sendable, Codable {
    case stripe
    /// An app store, reported by the app's backend.
    case store
}

/// A user's subscription to a plan, as Modelgate last learned it.
public struct Subscription: Sendable, Equatable, Codable {
    public let id: String
    public let user: UserID
    public let plan: PlanID
    public let source: SubscriptionSource
    public let status: SubscriptionStatus
    public let periodStart: Date
    public let periodEnd: Date
    public let cancelAtPeriodEnd: Bool
    /// When the payment first failed (the grace period counts from here).
    public let pastDueSince: Date?

    public init(id: String, user: UserID, plan: PlanID, source: SubscriptionSource, status: SubscriptionStatus, periodStart: Date, periodEnd: Date,
                cancelAtPeriodEnd: Bool, pastDueSince: Date?) {
        self.id = id
        self.user = user
        self.plan = plan
        self.source = source
        self.status = status
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.cancelAtPeriodEnd = cancelAtPeriodEnd
        self.pastDueSince = pastDueSince
    }

    /// What the subscription gives at `now`, with `grace` after a failed payment.
    public func standing(at now: Date, grace: TimeInterval) -> PlanStanding {
        switch status {
        case .trialing, .active:
            // A renewal's invoice arrives just after the period ends: the grace covers that gap too,
            // unless the plan was cancelled (then access ends with the period).
            let end = cancelAtPeriodEnd ? periodEnd : periodEnd.addingTimeInterval(grace)
            return now < end ? .active : .ended
        case .pastDue:
            return now < (pastDueSince ?? now).addingTimeInterval(grace) ? .active : .pastDue
        case .unpaid:
            return .pastDue
        case .canceled, .incomplete, .incompleteExpired, .paused:
            return .ended
        }
    }
}

/// What a subscription gives right now.
public enum PlanStanding: String, Sendable, Equatable, Codable {
    /// Its models are unlocked within its allowances.
    case active
    /// A payment failed and the grace period is over: locked until an invoice is paid.
    case pastDue = "past_due"
    /// Cancelled, expired or never paid: it gives nothing.
    case ended
}

/// A plan's usage billed at the end of each period: every call it pays for is reported to a Stripe
/// Billing Meter the admin created, through a metered price on that meter.
public struct PlanMeter: Sendable, Equatable, Codable {
    /// What one call adds to the meter.
    public enum Value: String, Sendable, Codable {
        /// The call's input and output tokens.
        case tokens
        /// One per call.
        case messages
    }

    /// The meter's `event_name` in Stripe.
    public var eventName: String
    public var value: Value
    /// The metered Stripe price on that meter, added to the plan's subscription checkout.
    public var priceId: String

    public init(eventName: String, value: Value, priceId: String) {
        self.eventName = eventName
        self.value = value
        self.priceId = priceId
    }

    /// What a call with these tokens adds to the meter.
    public func amount(for tokens: TurnTokens) -> Int {
        switch value {
        case .tokens: tokens.inputTokens + tokens.outputTokens
        case .messages: 1
        }
    }

    var problems: [FieldError] {
        var errors: [FieldError] = []
        // Stripe's event names: at most 100 characters; Modelgate keeps them plain.
        if eventName.isEmpty || eventName.count > 100 || !eventName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.:".contains($0)) }) {
            errors.append(FieldError("meter.eventName", "must be 1–100 letters, digits, _, -, . or :"))
        }
        if !priceId.hasPrefix("price_") { errors.append(FieldError("meter.priceId", "must be a Stripe price id (price_…)")) }
        return errors
    }
}

/// A call a plan with a meter paid for: what the settlement reports to Stripe.
public struct MeteredCall: Sendable, Equatable {
    public let subscription: String
    public let meter: PlanMeter

    public init(subscription: String, meter: PlanMeter) {
        self.subscription = subscription
        self.meter = meter
    }
}
