import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateStore
import SQLKit

/// An amount of credits sold for a price by one-time Checkout.
public struct CreditPack: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var credits: Int
    public var priceCents: Int
    /// Days the credits stay spendable from the purchase; `nil`: they never expire.
    public var validDays: Int?
    public var active: Bool
    public var stripeProductID: String?
    public var stripePriceID: String?

    public init(id: String, name: String, credits: Int, priceCents: Int, validDays: Int? = nil, active: Bool = true,
                stripeProductID: String? = nil, stripePriceID: String? = nil) {
        self.id = id
        self.name = name
        self.credits = credits
        self.priceCents = priceCents
        self.validDays = validDays
        self.active = active
        self.stripeProductID = stripeProductID
        self.stripePriceID = stripePriceID
    }

    var problems: [FieldError] {
        var errors: [FieldError] = []
        if let problem = FieldError.identifier(id) { errors.append(problem) }
        if name.trimmingCharacters(in: .whitespaces).isEmpty { errors.append(FieldError("name", "must not be empty")) }
        if !(1...1_000_000_000).contains(credits) { errors.append(FieldError("credits", "must be from 1 to 1,000,000,000")) }
        if !(1...99_999_999).contains(priceCents) { errors.append(FieldError("priceCents", "must be from 1 to 99,999,999 cents")) }
        if let validDays, validDays <= 0 || validDays > 3_660 { errors.append(FieldError("validDays", "must be 1–3660 days (empty: never expire)")) }
        return errors
    }
}

/// A pack's checkout as Stripe's events move it.
struct CreditOrder: Sendable {
    let session: String
    let user: UserID
    let pack: String
    let credits: Int
    let amountCents: Int
    let currency: String
    let status: PurchaseStatus
    let paymentIntent: String?
    let lot: String?
}

/// Credit packs and their orders.
enum CreditPackRepository {
    static let columns = "id, name, credits, price_cents, valid_days, active, stripe_product_id, stripe_price_id"

    static func all(in db: any SQLDatabase) async throws -> [CreditPack] {
        try await db.raw("SELECT \(unsafeRaw: columns) FROM credit_packs ORDER BY price_cents, id").all().map(decode)
    }

    static func find(_ id: String, in db: any SQLDatabase) async throws -> CreditPack? {
        try await db.raw("SELECT \(unsafeRaw: columns) FROM credit_packs WHERE id = \(bind: id)").first().map(decode)
    }

    static func decode(_ row: any SQLRow) throws -> CreditPack {
        CreditPack(id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
                   credits: try row.decode(column: "credits", as: Int.self), priceCents: try row.decode(column: "price_cents", as: Int.self),
                   validDays: try row.decode(column: "valid_days", as: Int?.self), active: try row.decode(column: "active", as: Bool.self),
                   stripeProductID: try row.decode(column: "stripe_product_id", as: String?.self),
                   stripePriceID: try row.decode(column: "stripe_price_id", as: String?.self))
    }

    static func save(_ pack: CreditPack, at now: Date, in db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO credit_packs (id, name, credits, price_cents, valid_days, active, created_at, updated_at)
            VALUES (\(bind: pack.id), \(bind: pack.name), \(bind: pack.credits), \(bind: pack.priceCents), \(bind: pack.validDays),
                    \(bind: pack.active), \(bind: now), \(bind: now))
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, credits = excluded.credits, price_cents = excluded.price_cents,
                valid_days = excluded.valid_days, active = excluded.active, updated_at = excluded.updated_at
            """).run()
    }

    /// Stripe's ids once `stripe sync` made the pack's product and price (a table of packs or plans).
    static func setStripeIDs(table: String, id: String, productID: String, priceID: String, at now: Date, in db: any SQLDatabase) async throws {
        try await db.raw("""
            UPDATE \(unsafeRaw: table == "plans" ? "plans" : "credit_packs") SET stripe_product_id = \(bind: productID),
                stripe_price_id = \(bind: priceID), updated_at = \(bind: now) WHERE id = \(bind: id)
            """).run()
    }

    static func createOrder(session: String, user: UserID, pack: CreditPack, at now: Date, in db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO credit_orders (session_id, user_id, pack_id, credits, amount_cents, currency, status, created_at, updated_at)
            VALUES (\(bind: session), \(bind: user.description), \(bind: pack.id), \(bind: pack.credits), \(bind: pack.priceCents), 'usd',
                    'pending', \(bind: now), \(bind: now))
            """).run()
    }

    static func order(session: String, in db: any SQLDatabase) async throws -> CreditOrder? {
        try await selectOrder("session_id = \(bind: session)", in: db)
    }

    static func order(paymentIntent: String, in db: any SQLDatabase) async throws -> CreditOrder? {
        try await selectOrder("payment_intent = \(bind: paymentIntent)", in: db)
    }

    private static func selectOrder(_ condition: SQLQueryString, in db: any SQLDatabase) async throws -> CreditOrder? {
        try await db.raw("""
            SELECT session_id, user_id, pack_id, credits, amount_cents, currency, status, payment_intent, lot_id FROM credit_orders WHERE \(condition)
            """).first().map { row in
            CreditOrder(session: try row.decode(column: "session_id", as: String.self), user: try row.decodeUserID(column: "user_id"),
                        pack: try row.decode(column: "pack_id", as: String.self), credits: try row.decode(column: "credits", as: Int.self),
                        amountCents: try row.decode(column: "amount_cents", as: Int.self), currency: try row.decode(column: "currency", as: String.self),
                        status: try row.decodeEnum(column: "status", as: PurchaseStatus.self),
                        paymentIntent: try row.decode(column: "payment_intent", as: String?.self), lot: try row.decode(column: "lot_id", as: String?.self))
        }
    }

    static func setOrder(_ session: String, status: PurchaseStatus, paymentIntent: String?, lot: String?, at now: Date, in db: any SQLDatabase) async throws {
        try await db.raw("""
            UPDATE credit_orders SET status = \(bind: status.rawValue), payment_intent = COALESCE(\(bind: paymentIntent), payment_intent),
                lot_id = COALESCE(\(bind: lot), lot_id), updated_at = \(bind: now) WHERE session_id = \(bind: session)
            """).run()
    }
}
