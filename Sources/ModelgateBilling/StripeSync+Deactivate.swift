import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

extension StripeSync {
    /// The rollback step that stops selling: every active Stripe price and product goes inactive,
    /// and the models forget their price so checkout answers `payments_not_configured` until the
    /// next `modelgate stripe sync`.
    public func deactivate(dryRun: Bool, by actor: Actor) async throws -> RollbackReport {
        let products = try await database.read { db in
            try await db.raw("""
                SELECT model_id, stripe_product_id, stripe_price_id FROM products
                WHERE active = TRUE AND stripe_product_id IS NOT NULL ORDER BY model_id
                """).all().map { row in
                (model: try row.decode(column: "model_id", as: String.self), product: try row.decode(column: "stripe_product_id", as: String.self),
                 price: try row.decode(column: "stripe_price_id", as: String?.self))
            }
        }
        var report = RollbackReport(lines: [])
        for item in products {
            report.lines.append("deactivate \(item.price.map { "price \($0) and " } ?? "")product \(item.product) of \(item.model)")
            guard !dryRun else { continue }
            if let price = item.price { _ = try await stripe.deactivatePrice(price) }
            _ = try await stripe.deactivateProduct(item.product)
            let now = clock.now()
            try await database.transaction { db in
                try await db.raw("""
                    UPDATE products SET active = FALSE, stripe_price_id = NULL, updated_at = \(bind: now) WHERE model_id = \(bind: item.model)
                    """).run()
                try await db.raw("UPDATE ai_models SET stripe_price_id = NULL, updated_at = \(bind: now) WHERE id = \(bind: item.model)").run()
                try await CatalogRepository.bumpVersion(at: now, in: db)
                try await AuditLog.record(
                    actor: actor.id, action: .stripeDeactivated, targetType: "model", targetID: item.model,
                    before: .object(["stripeProductId": .string(item.product), "stripePriceId": item.price.map(JSONValue.string) ?? .null]),
                    after: .object(["active": .bool(false)]), at: now, in: db)
            }
        }
        return report
    }
}
