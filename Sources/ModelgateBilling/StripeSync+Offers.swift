import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// A plan or a credit pack as Stripe sells it: a product found by its metadata and one active price.
struct StripeOffer: Sendable {
    let table: String
    let id: String
    let name: String
    let cents: Int
    /// `month` or `year` for a plan's recurring price; `nil` for a pack's one-time price.
    let interval: String?
    let productID: String?
    let priceID: String?

    var metadataKey: String { interval == nil ? "pack_id" : "plan_id" }
    var item: String { (interval == nil ? "pack:" : "plan:") + id }
}

extension StripeSync {
    func offers() async throws -> [StripeOffer] {
        try await database.read { db in
            let plans = try await CatalogRepository.snapshot(in: db).plans.filter(\.active).map {
                StripeOffer(table: "plans", id: $0.id.rawValue, name: $0.name, cents: $0.priceCents, interval: $0.interval.rawValue,
                            productID: $0.stripeProductID, priceID: $0.stripePriceID)
            }
            let packs = try await CreditPackRepository.all(in: db).filter(\.active).map {
                StripeOffer(table: "credit_packs", id: $0.id, name: $0.name, cents: $0.priceCents, interval: nil,
                            productID: $0.stripeProductID, priceID: $0.stripePriceID)
            }
            return plans + packs
        }
    }

    func sync(_ offer: StripeOffer, products: [StripeProduct], dryRun: Bool, report: inout StripeSyncReport) async throws -> StripeSyncRow {
        var product = products.first { $0.metadata[offer.metadataKey] == offer.id }
        if product == nil {
            guard !dryRun else { return StripeSyncRow(item: offer.item, productID: "(new)", priceID: "(new)", action: "would create product and price") }
            product = try await stripe.createProduct(name: offer.name, metadata: (offer.metadataKey, offer.id),
                                                     idempotencyKey: "modelgate-product-\(offer.item)")
            report.productsCreated += 1
        }
        guard let product else { throw StripeError(status: 0, type: "api_error", code: nil, message: "no product") }
        let prices = try await stripe.activePrices(product: product.id)
        let current = prices.first { $0.unit_amount == offer.cents && $0.currency == "usd" && $0.recurring?.interval == offer.interval }
        let stale = prices.filter { $0.id != current?.id }
        if dryRun {
            let action = current == nil ? "would create price \(offer.cents)¢, deactivate \(stale.count)" : "unchanged"
            return StripeSyncRow(item: offer.item, productID: product.id, priceID: current?.id ?? "(new)", action: action)
        }
        var price = current
        if price == nil {
            let key = "modelgate-price-\(offer.item)-\(offer.cents)-\(offer.interval ?? "once")"
            if let interval = offer.interval {
                price = try await stripe.createRecurringPrice(product: product.id, unitAmount: offer.cents, interval: interval, planID: offer.id,
                                                              idempotencyKey: key)
            } else {
                price = try await stripe.createOneTimePrice(product: product.id, unitAmount: offer.cents, metadata: ("pack_id", offer.id),
                                                            idempotencyKey: key)
            }
            report.pricesCreated += 1
        }
        for old in stale { _ = try await stripe.deactivatePrice(old.id) }
        report.pricesDeactivated += stale.count
        guard let price else { throw StripeError(status: 0, type: "api_error", code: nil, message: "no price") }
        if offer.productID != product.id || offer.priceID != price.id {
            try await database.transaction { db in
                try await CreditPackRepository.setStripeIDs(table: offer.table, id: offer.id, productID: product.id, priceID: price.id,
                                                            at: clock.now(), in: db)
                try await CatalogRepository.bumpVersion(at: clock.now(), in: db)
            }
        }
        let action = current == nil ? (stale.isEmpty ? "created" : "new price, deactivated \(stale.count)") : "unchanged"
        return StripeSyncRow(item: offer.item, productID: product.id, priceID: price.id, action: action)
    }
}
