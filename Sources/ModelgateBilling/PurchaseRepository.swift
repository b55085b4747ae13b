import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// Money booked for a model on a day: a purchase (positive) or a refund (negative).
public struct RevenueBooking: Sendable, Equatable {
    public enum Kind: String, Sendable { case purchase, refund }
    public let kind: Kind
    public let model: ModelID
    public let amountCents: Int
}

/// Where Stripe's events have moved a purchase: pending → completed → (refunded), or failed.
public enum PurchaseStatus: String, Sendable, Codable {
    case pending, completed, failed, refunded
}

/// A purchase as Stripe's events move it.
public struct PurchaseRecord: Sendable, Equatable {
    public let id: Int
    public let user: UserID
    public let model: ModelID
    public let status: PurchaseStatus
    public let amountCents: Int
    public let currency: String
    public let paymentIntent: String?
}


/// Purchases, Stripe ids of products, and the processed-event ledger that makes webhooks idempotent.
public struct PurchaseRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// The pending purchase of a new checkout session, with `model_purchase_initiated` in the same transaction.
    public func createPending(
        user: UserID, model: ModelID, sessionID: String, amountCents: Int, at now: Date, outbox: AnalyticsOutbox
    ) async throws {
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO purchases (user_id, product_id, stripe_checkout_session_id, amount_cents, currency, status, created_at, updated_at)
                VALUES (\(bind: user.description), \(bind: "model:" + model.rawValue), \(bind: sessionID), \(bind: amountCents), 'usd',
                        'pending', \(bind: now), \(bind: now))
                """).run()
            try await outbox.enqueue([.modelPurchaseInitiated(model: model, priceCents: amountCents)], for: user, at: now, in: db)
        }
    }

    /// Records an event id; `false` when it was processed before (a replay).
    public static func markProcessed(eventID: String, type: String, at now: Date, in db: any SQLDatabase) async throws -> Bool {
        try await !db.raw("""
            INSERT INTO stripe_events (id, type, processed_at) VALUES (\(bind: eventID), \(bind: type), \(bind: now))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """).all().isEmpty
    }

    /// Records the payment intent Stripe made for a checkout, so a refund or dispute finds its purchase.
    public static func attach(paymentIntent: String, to id: Int, in db: any SQLDatabase) async throws {
        try await db.raw("UPDATE purchases SET stripe_payment_intent_id = \(bind: paymentIntent) WHERE id = \(bind: id)").run()
    }

    public static func setDispute(_ status: DisputeStatus, of id: Int, at now: Date, in db: any SQLDatabase) async throws {
        try await db.raw("UPDATE purchases SET dispute_status = \(bind: status.rawValue), updated_at = \(bind: now) WHERE id = \(bind: id)").run()
    }

    public static func find(sessionID: String, in db: any SQLDatabase) async throws -> PurchaseRecord? {
        try await select("p.stripe_checkout_session_id = \(bind: sessionID)", in: db)
    }

    public static func find(paymentIntent: String, in db: any SQLDatabase) async throws -> PurchaseRecord? {
        try await select("p.stripe_payment_intent_id = \(bind: paymentIntent)", in: db)
    }

    /// Remembers a full refund, so a completion that arrives after it grants nothing.
    public static func rememberRefund(paymentIntent: String, amount: Int, at now: Date, in db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO stripe_refunds (payment_intent_id, amount_refunded, refunded_at) VALUES (\(bind: paymentIntent), \(bind: amount), \(bind: now))
            ON CONFLICT (payment_intent_id) DO NOTHING
            """).run()
    }

    public static func wasRefunded(paymentIntent: String, in db: any SQLDatabase) async throws -> Bool {
        try await db.raw("SELECT payment_intent_id FROM stripe_refunds WHERE payment_intent_id = \(bind: paymentIntent)").first() != nil
    }

    /// Moves a purchase on and books its revenue: the amount on the UTC day it completes, and as a
    /// negative amount on the day it is refunded — only when it was booked as completed first (a
    /// refund that overtook its completion booked nothing, and takes nothing back). Returns what was booked.
    @discardableResult
    public static func setStatus(_ status: PurchaseStatus, of id: Int, at now: Date, in db: any SQLDatabase) async throws -> RevenueBooking? {
        try await db.raw("UPDATE purchases SET status = \(bind: status.rawValue), updated_at = \(bind: now) WHERE id = \(bind: id)").run()
        switch status {
        case .completed: return try await book(.purchase, of: id, at: now, in: db)
        case .refunded: return try await book(.refund, of: id, at: now, in: db)
        case .pending, .failed: return nil
        }
    }

    /// Books a purchase's amount (or takes it back: a refund, a lost chargeback) on the UTC day of
    /// `now`, once per purchase and kind; a take-back only when the purchase was booked.
    @discardableResult
    public static func book(_ kind: RevenueBooking.Kind, of id: Int, at now: Date, in db: any SQLDatabase) async throws -> RevenueBooking? {
        let day = QuotaCalendar.day(at: now, zoneIdentifier: "UTC").key
        let sign = kind == .refund ? -1 : 1
        let bookedFirst: SQLQueryString = kind == .refund
            ? "AND EXISTS (SELECT 1 FROM revenue_bookings b WHERE b.purchase_id = p.id AND b.kind = 'purchase')" : ""
        let row = try await db.raw("""
            INSERT INTO revenue_bookings (purchase_id, kind, model_id, user_id, day, amount_cents, booked_at)
            SELECT p.id, \(bind: kind.rawValue), r.model_id, p.user_id, \(bind: day), \(bind: sign) * p.amount_cents, \(bind: now)
            FROM purchases p JOIN products r ON r.id = p.product_id WHERE p.id = \(bind: id) \(bookedFirst)
            ON CONFLICT (purchase_id, kind) DO NOTHING
            RETURNING model_id, amount_cents
            """).first()
        guard let row else { return nil }
        return RevenueBooking(kind: kind, model: ModelID(try row.decode(column: "model_id", as: String.self)),
                              amountCents: try row.decode(column: "amount_cents", as: Int.self))
    }

    private static func select(_ condition: SQLQueryString, in db: any SQLDatabase) async throws -> PurchaseRecord? {
        guard let row = try await db.raw("""
            SELECT p.id, p.user_id, r.model_id, p.status, p.amount_cents, p.currency, p.stripe_payment_intent_id
            FROM purchases p JOIN products r ON r.id = p.product_id WHERE \(condition)
            """).first() else { return nil }
        return PurchaseRecord(
            id: try row.decode(column: "id", as: Int.self),
            user: try row.decodeUserID(column: "user_id"),
            model: ModelID(try row.decode(column: "model_id", as: String.self)),
            status: try row.decodeEnum(column: "status", as: PurchaseStatus.self),
            amountCents: try row.decode(column: "amount_cents", as: Int.self),
            currency: try row.decode(column: "currency", as: String.self),
            paymentIntent: try row.decode(column: "stripe_payment_intent_id", as: String?.self))
    }

    /// Stores the Stripe product and price of a model, on the model and on its product row.
    public func setStripeIDs(model: ModelID, productID: String, priceID: String, priceCents: Int, at now: Date) async throws {
        try await database.transaction { db in
            try await db.raw("""
                UPDATE ai_models SET stripe_product_id = \(bind: productID), stripe_price_id = \(bind: priceID), updated_at = \(bind: now)
                WHERE id = \(bind: model.rawValue)
                """).run()
            try await db.raw("""
                UPDATE products SET stripe_product_id = \(bind: productID), stripe_price_id = \(bind: priceID), price_cents = \(bind: priceCents),
                    updated_at = \(bind: now)
                WHERE model_id = \(bind: model.rawValue)
                """).run()
            try await CatalogRepository.bumpVersion(at: now, in: db)
        }
    }
}
