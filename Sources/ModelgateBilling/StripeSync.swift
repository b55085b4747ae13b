import Foundation
import ModelgateCore
import ModelgateStore

/// What `modelgate stripe sync` did (or, in a dry run, would do) for one model.
public struct StripeSyncRow: Sendable, Equatable {
    /// The model's id, or `plan:<id>` / `pack:<id>`.
    public let item: String
    public let productID: String
    public let priceID: String
    public let action: String
}

public struct StripeSyncReport: Sendable, Equatable {
    public var rows: [StripeSyncRow] = []
    public var productsCreated = 0
    public var pricesCreated = 0
    public var pricesDeactivated = 0
}

/// Makes Stripe match the premium catalog: one product per model (found by `metadata.model_id`)
/// with one active one-time USD price equal to the model's price, and the same for each plan (a
/// recurring price) and credit pack. Running it twice creates nothing.
public struct StripeSync: Sendable {
    let stripe: StripeClient
    let database: Database
    let clock: any WallClock

    public init(stripe: StripeClient, database: Database, clock: any WallClock) {
        self.stripe = stripe
        self.database = database
        self.clock = clock
    }

    public func run(dryRun: Bool) async throws -> StripeSyncReport {
        let premium = try await CatalogRepository(database: database).snapshot().models.filter { $0.tier == .premium }
        let products = try await stripe.activeProducts()
        var report = StripeSyncReport()
        for model in premium {
            guard let cents = model.priceCents else { continue }
            let existing = products.first { $0.metadata["model_id"] == model.id.rawValue }
            guard let product = try await product(for: model, existing: existing, dryRun: dryRun, report: &report) else {
                report.rows.append(StripeSyncRow(item: model.id.rawValue, productID: "(new)", priceID: "(new)", action: "would create product and price"))
                continue
            }
            report.rows.append(try await syncPrice(of: model, cents: cents, product: product, dryRun: dryRun, report: &report))
        }
        for offer in try await offers() {
            report.rows.append(try await sync(offer, products: products, dryRun: dryRun, report: &report))
        }
        return report
    }

    private func product(for model: AIModel, existing: StripeProduct?, dryRun: Bool, report: inout StripeSyncReport) async throws -> StripeProduct? {
        if let existing { return existing }
        if dryRun { return nil }
        report.productsCreated += 1
        return try await stripe.createProduct(name: model.displayName, modelID: model.id.rawValue, idempotencyKey: "modelgate-product-\(model.id)")
    }

    private func syncPrice(
        of model: AIModel, cents: Int, product: StripeProduct, dryRun: Bool, report: inout StripeSyncReport
    ) async throws -> StripeSyncRow {
        let prices = try await stripe.activePrices(product: product.id)
        let current = prices.first { $0.unit_amount == cents && $0.currency == "usd" }
        let stale = prices.filter { $0.id != current?.id }
        if dryRun {
            let action = current == nil ? "would create price \(cents)¢, deactivate \(stale.count)" : "unchanged"
            return StripeSyncRow(item: model.id.rawValue, productID: product.id, priceID: current?.id ?? "(new)", action: action)
        }
        var price = current
        if price == nil {
            price = try await stripe.createPrice(
                product: product.id, unitAmount: cents, modelID: model.id.rawValue, idempotencyKey: "modelgate-price-\(model.id)-\(cents)")
            report.pricesCreated += 1
        }
        for old in stale { _ = try await stripe.deactivatePrice(old.id) }
        report.pricesDeactivated += stale.count
        guard let price else { throw StripeError(status: 0, type: "api_error", code: nil, message: "no price") }
        if model.stripeProductID != product.id || model.stripePriceID != price.id {
            try await PurchaseRepository(database: database).setStripeIDs(
                model: model.id, productID: product.id, priceID: price.id, priceCents: cents, at: clock.now())
        }
        let action = current == nil ? (stale.isEmpty ? "created" : "new price, deactivated \(stale.count)") : "unchanged"
        return StripeSyncRow(item: model.id.rawValue, productID: product.id, priceID: price.id, action: action)
    }
}
