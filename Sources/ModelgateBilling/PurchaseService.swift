import Foundation
import ModelgateAccess
import Logging
import ModelgateCore
import ModelgateStore
import SQLKit

/// Stripe settings; purchases are closed when the secret key is missing.
public struct BillingConfiguration: Sendable {
    public var secretKey: StripeSecretKey?
    public var webhookSecret: WebhookSecret?
    public var apiBase: String
    /// Where users come back to after checkout.
    public var publicURL: String

    public init(secretKey: StripeSecretKey? = nil, webhookSecret: WebhookSecret? = nil,
                apiBase: String = "https://api.stripe.com", publicURL: String = "http://127.0.0.1:8080") {
        self.secretKey = secretKey
        self.webhookSecret = webhookSecret
        self.apiBase = apiBase
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
    }
}

public struct CheckoutStarted: Encodable, Sendable {
    public let url: String
    public let sessionId: String
}

public enum WebhookOutcome: String, Sendable {
    case granted, pending, failed, refunded, disputed, duplicate, ignored
    /// A checkout session Modelgate's checkout never created: nothing granted.
    case unmatched
    /// A session whose user, model, amount or currency differs from its purchase: nothing granted.
    case mismatched
}

/// What a webhook delivery did, and the revenue it booked.
public struct WebhookResult: Sendable {
    public let outcome: WebhookOutcome
    public let bookings: [RevenueBooking]
    /// Subscription revenue booked: the cents of each invoice paid, by plan.
    public var invoiceCents: [(plan: PlanID, cents: Int)] = []
    /// Seconds since Stripe created the event, when it says.
    public var lagSeconds: Double?
}

/// Checkout and the webhook that turns paid sessions into entitlements and refunds into revocations.
public struct PurchaseService: Sendable {
    let stripe: StripeClient?
    let configuration: BillingConfiguration
    let database: Database
    let clock: any WallClock
    let makeID: @Sendable () -> UUID
    let logger: Logger

    /// Whether checkout can start at all (a Stripe key is configured).
    public var isOpen: Bool { stripe != nil }

    public init(stripe: StripeClient?, configuration: BillingConfiguration, database: Database, clock: any WallClock,
                makeID: @escaping @Sendable () -> UUID, logger: Logger) {
        self.stripe = stripe
        self.configuration = configuration
        self.database = database
        self.clock = clock
        self.makeID = makeID
        self.logger = logger
    }

    public func checkout(model: AIModel?, id: ModelID, user: UserID, alreadyEntitled: Bool) async throws -> CheckoutStarted {
        guard let model, model.enabled, model.tier == .premium, let price = model.priceCents else { throw ModelgateError.modelNotPurchasable(id) }
        guard !alreadyEntitled else { throw ModelgateError.conflict(code: "already_purchased", detail: "You already own '\(id)'.") }
        guard let stripe, let priceID = model.stripePriceID else { throw ModelgateError.paymentsNotConfigured }
        let settings = configuration.publicURL + "/settings"
        let session: StripeCheckoutSession
        do {
            session = try await stripe.createCheckoutSession(
                price: priceID, userID: user.description, modelID: id.rawValue,
                successURL: settings + "?checkout=success&session_id={CHECKOUT_SESSION_ID}", cancelURL: settings + "?checkout=cancelled",
                idempotencyKey: "checkout-" + makeID().uuidString.lowercased())
        } catch {
            logger.warning("stripe checkout failed", metadata: ["error": "\(error)"])
            throw ModelgateError.paymentProviderFailed(reason: "\(error)")
        }
        try await PurchaseRepository(database: database).createPending(
            user: user, model: id, sessionID: session.id, amountCents: price, at: clock.now(), outbox: AnalyticsOutbox(makeID: makeID))
        return CheckoutStarted(url: session.url ?? "", sessionId: session.id)
    }

    /// Verifies and applies one webhook delivery, all of it in one transaction: a failure writes
    /// nothing (Stripe retries), a replay changes nothing.
    public func handleWebhook(payload: Data, signature: String?) async throws -> WebhookResult {
        guard let secret = configuration.webhookSecret else { throw ModelgateError.paymentsNotConfigured }
        do {
            try WebhookSignature.verify(payload: payload, header: signature, secret: secret, now: clock.now())
        } catch {
            throw ModelgateError.invalidSignature(reason: Self.explain(error))
        }
        guard let event = StripeEvent(payload) else {
            throw ModelgateError.invalidBody(field: "body", reason: "is not a Stripe event")
        }
        // An event is a trigger, not the state: the subscription is read from Stripe as it is now,
        // before the transaction (no database lock waits on the network). Unreachable, the event's
        // own object is used, ordered by the event's time.
        var fetched: StripeSubscription?
        if let id = event.subscriptionID, event.type.hasPrefix("customer.subscription.") || event.type.hasPrefix("invoice.")
            || event.string("mode") == "subscription" {
            fetched = try? await stripe?.subscription(id)
        }
        let now = clock.now()
        let plans = try await CatalogRepository(database: database).snapshot().plans
        var result = try await database.transaction { [fetched] db in
            guard try await PurchaseRepository.markProcessed(eventID: event.id, type: event.type, at: now, in: db) else {
                return WebhookResult(outcome: .duplicate, bookings: [])
            }
            var handler = WebhookHandler(event: event, now: now, outbox: AnalyticsOutbox(makeID: makeID), db: db)
            handler.fetched = fetched
            handler.plans = plans
            let outcome = try await handler.apply()
            return WebhookResult(outcome: outcome, bookings: handler.bookings.all,
                                 invoiceCents: handler.bookings.invoices.map { ($0.plan, $0.amountCents) })
        }
        if event.created > 0 { result.lagSeconds = now.timeIntervalSince1970 - Double(event.created) }
        return result
    }

    static func explain(_ failure: WebhookSignature.Failure) -> String {
        switch failure {
        case .missingHeader: "the Stripe-Signature header is missing"
        case .malformedHeader: "the Stripe-Signature header has no timestamp"
        case .noMatch: "no signature matches the payload"
        case .tooOld: "the signature's timestamp is outside the 5-minute tolerance"
        }
    }
}

/// The parts of a Stripe event Modelgate reads.
struct StripeEvent: Sendable {
    let id: String
    let type: String
    let object: [String: JSONValue]
    /// When Stripe made the event (seconds); orders states that come from events, not fetches.
    let created: Int

    init?(_ payload: Data) {
        guard case .object(let root)? = try? JSONDecoder().decode(JSONValue.self, from: payload),
              let id = root["id"]?.stringValue, let type = root["type"]?.stringValue,
              case .object(let object)? = root["data"]?["object"] else { return nil }
        self.id = id
        self.type = type
        self.object = object
        if case .number(let seconds)? = root["created"] { created = Int(seconds) } else { created = 0 }
    }

    func string(_ key: String) -> String? { object[key]?.stringValue }
    /// The subscription an event is about: the object itself, an invoice's (either API shape), a session's.
    var subscriptionID: String? {
        if string("object") == "subscription" { return string("id") }
        return object["parent"]?["subscription_details"]?["subscription"]?.stringValue ?? string("subscription")
    }
    func metadata(_ key: String) -> String? { object["metadata"]?[key]?.stringValue }
    func int(_ key: String) -> Int? {
        if case .number(let value)? = object[key] { return Int(exactly: value) }
        return nil
    }
    func bool(_ key: String) -> Bool? {
        if case .bool(let value)? = object[key] { return value }
        return nil
    }
}

extension PurchaseService {
    /// Starts a checkout of `id` for `profile` once Access lets it start.
    public func checkout(_ id: ModelID, for profile: Profile, userModels: UserModelsService) async throws -> CheckoutStarted {
        let admitted = try await userModels.admitCheckout(id, for: profile)
        return try await checkout(model: admitted.model, id: id, user: profile.id, alreadyEntitled: admitted.alreadyEntitled)
    }
}
