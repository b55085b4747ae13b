import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateStore

/// Checkout of credit packs and plans, and the customer portal where a subscriber changes or cancels.
extension PurchaseService {
    /// One-time Checkout of a pack.
    public func checkoutPack(_ id: String, for user: UserID) async throws -> CheckoutStarted {
        let pack = try await database.read { db in try await CreditPackRepository.find(id, in: db) }
        guard let pack, pack.active else {
            throw ModelgateError.notFound(what: "credit pack", id: id)
        }
        guard let stripe, let price = pack.stripePriceID else { throw ModelgateError.paymentsNotConfigured }
        let session = try await started {
            try await stripe.createPackCheckout(price: price, userID: user.description, packID: pack.id, successURL: successURL("credits"),
                                                cancelURL: cancelURL, idempotencyKey: "checkout-" + makeID().uuidString.lowercased())
        }
        try await database.write { db in try await CreditPackRepository.createOrder(session: session.id, user: user, pack: pack, at: clock.now(), in: db) }
        return CheckoutStarted(url: session.url ?? "", sessionId: session.id)
    }

    /// Checkout in subscription mode; refused while the user has a plan that still gives access
    /// (they change it in the portal instead). The free trial is for a first subscription only.
    public func subscribe(to id: PlanID, for user: UserID, catalog: CatalogSnapshot) async throws -> CheckoutStarted {
        guard let plan = catalog.plan(id), plan.active else { throw ModelgateError.notFound(what: "plan", id: id.rawValue) }
        let now = clock.now()
        let current = try await PaidAccessReader(database: database).subscriptions(of: user)
        if current.contains(where: { $0.standing(at: now, grace: 0) != .ended }) {
            throw ModelgateError.conflict(code: "already_subscribed", detail: "You already have a plan: change or cancel it in the billing portal.")
        }
        guard let stripe, let price = plan.stripePriceID else { throw ModelgateError.paymentsNotConfigured }
        let customer = try await database.read { db in try await SubscriptionBook.customer(of: user, in: db) }
        let session = try await started {
            try await stripe.createSubscriptionCheckout(
                price: price, meteredPrice: plan.meter?.priceId, customer: customer, userID: user.description, planID: plan.id.rawValue,
                trialDays: current.isEmpty ? plan.trialDays : nil,
                successURL: successURL("plan"), cancelURL: cancelURL, idempotencyKey: "subscribe-" + makeID().uuidString.lowercased())
        }
        return CheckoutStarted(url: session.url ?? "", sessionId: session.id)
    }

    /// A one-time link to Stripe's customer portal for the user's customer.
    public func portal(for user: UserID) async throws -> String {
        let customer = try await database.read { db in try await SubscriptionBook.customer(of: user, in: db) }
        guard let customer else {
            throw ModelgateError.conflict(code: "no_billing_account", detail: "You have no subscription yet: subscribe to a plan first.")
        }
        guard let stripe else { throw ModelgateError.paymentsNotConfigured }
        return try await started { try await stripe.createPortalSession(customer: customer, returnURL: configuration.publicURL + "/settings") }.url
    }

    /// Where Stripe sends the buyer back; `checkout` names what was bought, for the page's notice.
    private func successURL(_ bought: String) -> String {
        configuration.publicURL + "/settings?checkout=\(bought)&session_id={CHECKOUT_SESSION_ID}"
    }
    private var cancelURL: String { configuration.publicURL + "/settings?checkout=cancelled" }

    /// A Stripe call whose failure the user sees as `payment_provider_error`.
    private func started<Value>(_ call: () async throws -> Value) async throws -> Value {
        do {
            return try await call()
        } catch {
            logger.warning("stripe call failed", metadata: ["error": "\(error)"])
            throw ModelgateError.paymentProviderFailed(reason: "\(error)")
        }
    }
}

extension PurchaseService {
    /// The packs on sale.
    public func activePacks() async throws -> [CreditPack] {
        try await database.read { db in try await CreditPackRepository.all(in: db) }.filter(\.active)
    }
}
