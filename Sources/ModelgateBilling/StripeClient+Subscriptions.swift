import Foundation

/// A subscription as Stripe returns it, in either shape: since API version 2025-03-31 the period
/// is on each item (`items.data[].current_period_*`), before it on the subscription itself.
public struct StripeSubscription: Decodable, Sendable, Equatable {
    public struct Item: Decodable, Sendable, Equatable {
        public struct Price: Decodable, Sendable, Equatable { public let id: String }
        public let price: Price
        public let current_period_start: Int?
        public let current_period_end: Int?
    }
    public struct Items: Decodable, Sendable, Equatable { public let data: [Item] }

    public let id: String
    public let customer: String
    public let status: String
    public let cancel_at_period_end: Bool
    public let cancel_at: Int?
    public let current_period_start: Int?
    public let current_period_end: Int?
    public let items: Items
    public let metadata: [String: String]

    /// The billing period: the items' (newer API versions), else the subscription's own.
    public var period: (start: Date, end: Date)? {
        guard let start = items.data.first?.current_period_start ?? current_period_start,
              let end = items.data.first?.current_period_end ?? current_period_end else { return nil }
        // A scheduled cancellation ends access at `cancel_at` when it comes before the period's end.
        return (Date(timeIntervalSince1970: Double(start)), Date(timeIntervalSince1970: Double(min(end, cancel_at ?? end))))
    }

    public var priceIDs: [String] { items.data.map(\.price.id) }
}

public struct StripePortalSession: Decodable, Sendable, Equatable {
    public let id: String
    public let url: String
}

extension StripeClient {
    public func createRecurringPrice(product: String, unitAmount: Int, interval: String, planID: String, idempotencyKey: String) async throws -> StripePrice {
        try await send(.POST, "/v1/prices", form: [
            ("product", product), ("unit_amount", String(unitAmount)), ("currency", "usd"), ("recurring[interval]", interval),
            ("metadata[plan_id]", planID),
        ], idempotencyKey: idempotencyKey)
    }

    /// Checkout in subscription mode. The user and plan go into the subscription's own metadata, so
    /// every later event of the subscription names them without the session.
    public func createSubscriptionCheckout(
        price: String, meteredPrice: String?, customer: String?, userID: String, planID: String, trialDays: Int?, successURL: String,
        cancelURL: String, idempotencyKey: String
    ) async throws -> StripeCheckoutSession {
        var form: [(String, String)] = [
            ("mode", "subscription"), ("line_items[0][price]", price), ("line_items[0][quantity]", "1"),
            ("success_url", successURL), ("cancel_url", cancelURL), ("client_reference_id", userID),
            ("metadata[user_id]", userID), ("metadata[plan_id]", planID),
            ("subscription_data[metadata][user_id]", userID), ("subscription_data[metadata][plan_id]", planID),
        ]
        // A metered price goes without a quantity: the meter's events make it up.
        if let meteredPrice { form.append(("line_items[1][price]", meteredPrice)) }
        if let customer { form.append(("customer", customer)) }
        if let trialDays { form.append(("subscription_data[trial_period_days]", String(trialDays))) }
        return try await send(.POST, "/v1/checkout/sessions", form: form, idempotencyKey: idempotencyKey)
    }

    /// One-time Checkout of a credit pack.
    public func createPackCheckout(price: String, userID: String, packID: String, successURL: String, cancelURL: String,
                                   idempotencyKey: String) async throws -> StripeCheckoutSession {
        try await send(.POST, "/v1/checkout/sessions", form: [
            ("mode", "payment"), ("line_items[0][price]", price), ("line_items[0][quantity]", "1"),
            ("success_url", successURL), ("cancel_url", cancelURL), ("client_reference_id", userID),
            ("metadata[pack_id]", packID), ("metadata[user_id]", userID),
        ], idempotencyKey: idempotencyKey)
    }

    /// The subscription as it is now: webhook events are triggers, this is the state.
    public func subscription(_ id: String) async throws -> StripeSubscription {
        try await send(.GET, "/v1/subscriptions/\(id)", form: nil)
    }

    public func createPortalSession(customer: String, returnURL: String) async throws -> StripePortalSession {
        try await send(.POST, "/v1/billing_portal/sessions", form: [("customer", customer), ("return_url", returnURL)])
    }
}
