import Foundation
import ModelgateCore
import SQLKit

/// Models, the system default and the catalog version that tells instances to refresh.
public struct CatalogRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Everything selection needs.
    public func snapshot() async throws -> CatalogSnapshot {
        try await database.read { db in try await Self.snapshot(in: db) }
    }

    public static func snapshot(in db: any SQLDatabase) async throws -> CatalogSnapshot {
        let rows = try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM ai_models").all()
        let prices = try await PriceHistory.current(in: db)
        let creditPrices = try await PaidCatalog.creditPrices(in: db)
        let models = try rows.map(Self.decodeModel).map { model in
            var model = model
            model.prices = prices[model.id]
            model.creditPrice = creditPrices[model.id]
            return model
        }
        guard let settings = try await db.raw("""
            SELECT system_default_model_id, version, free_daily_limit, user_daily_cost_budget_micros FROM catalog_settings WHERE id = 1
            """).first() else {
            throw ModelgateError.noModelAvailable
        }
        return CatalogSnapshot(
            models: models,
            systemDefaultID: ModelID(try settings.decode(column: "system_default_model_id", as: String.self)),
            version: Int64(try settings.decode(column: "version", as: Int.self)),
            freeDailyLimit: try settings.decode(column: "free_daily_limit", as: Int?.self),
            userDailyCostBudgetMicros: try settings.decode(column: "user_daily_cost_budget_micros", as: Int?.self),
            standIns: try await StandIns.groups(in: db), plans: try await PaidCatalog.plans(in: db), aliases: try await ModelAliases.all(in: db))
    }

    /// Every price `model` had, newest first.
    public func priceHistory(of model: ModelID) async throws -> [PriceChange] {
        try await PriceHistory.changes(of: model, in: database)
    }

    /// The version counter alone: cheap enough to poll.
    public func version() async throws -> Int64 {
        try await database.read { db in
            let row = try await db.raw("SELECT version FROM catalog_settings WHERE id = 1").first()
            return Int64(try row?.decode(column: "version", as: Int.self) ?? 0)
        }
    }

    public static let columns = """
        id, provider, provider_model_id, display_name, description, enabled, tier, price_cents, stripe_product_id, \
        stripe_price_id, metadata, rate_limit_messages_per_day, trial_messages_allowed, sort_order, daily_token_budget, kind
        """

    public static func decodeModel(_ row: any SQLRow) throws -> AIModel {
        let metadata = try row.decodeJSON(column: "metadata", as: JSONValue.self)
        guard case .object = metadata else {
            throw CorruptRow(column: "metadata", value: try row.decode(column: "metadata", as: String.self))
        }
        return AIModel(
            id: ModelID(try row.decode(column: "id", as: String.self)),
            provider: try row.decodeEnum(column: "provider", as: Provider.self),
            providerModelID: try row.decode(column: "provider_model_id", as: String.self),
            displayName: try row.decode(column: "display_name", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            enabled: try row.decode(column: "enabled", as: Bool.self),
            tier: try row.decodeEnum(column: "tier", as: Tier.self),
            priceCents: try row.decode(column: "price_cents", as: Int?.self),
            stripeProductID: try row.decode(column: "stripe_product_id", as: String?.self),
            stripePriceID: try row.decode(column: "stripe_price_id", as: String?.self),
            metadata: metadata,
            dailyMessageLimit: try row.decode(column: "rate_limit_messages_per_day", as: Int?.self),
            trialMessagesAllowed: try row.decode(column: "trial_messages_allowed", as: Int.self),
            sortOrder: try row.decode(column: "sort_order", as: Int.self),
            dailyTokenBudget: try row.decode(column: "daily_token_budget", as: Int?.self),
            kind: try row.decodeEnum(column: "kind", as: ModelKind.self))
    }

    /// Inserts a model (and its product when premium). Returns 1 when a row was new.
    public static func insert(_ model: AIModel, at now: Date, onConflictDoNothing: Bool, priceSource: String, in db: any SQLDatabase) async throws -> Int {
        let metadata = String(decoding: try JSONEncoder().encode(model.metadata), as: UTF8.self)
        let conflict = onConflictDoNothing ? "ON CONFLICT (id) DO NOTHING" : ""
        let rows = try await db.raw("""
            INSERT INTO ai_models (\(unsafeRaw: columns), created_at, updated_at)
            VALUES (\(bind: model.id.rawValue), \(bind: model.provider.rawValue), \(bind: model.providerModelID),
                    \(bind: model.displayName), \(bind: model.description), \(bind: model.enabled), \(bind: model.tier.rawValue),
                    \(bind: model.priceCents), \(bind: model.stripeProductID), \(bind: model.stripePriceID), \(bind: metadata),
                    \(bind: model.dailyMessageLimit), \(bind: model.trialMessagesAllowed), \(bind: model.sortOrder),
                    \(bind: model.dailyTokenBudget), \(bind: model.kind.rawValue), \(bind: now), \(bind: now))
            \(unsafeRaw: conflict) RETURNING id
            """).all()
        if rows.count == 1, let prices = model.prices {
            try await PriceHistory.record(PriceChange(modelId: model.id, prices: prices, effectiveFrom: now, source: priceSource), in: db)
        }
        if let price = model.priceCents, model.tier == .premium {
            try await db.raw("""
                INSERT INTO products (id, type, model_id, price_cents, created_at, updated_at)
                VALUES (\(bind: "model:" + model.id.rawValue), 'model', \(bind: model.id.rawValue), \(bind: price), \(bind: now), \(bind: now))
                ON CONFLICT (id) DO NOTHING
                """).run()
        }
        return rows.count
    }
}

extension CatalogRepository {
    /// The one place the catalog version moves: other instances reload the catalog when it does.
    public static func bumpVersion(at now: Date, in db: any SQLDatabase) async throws {
        try await db.raw("UPDATE catalog_settings SET version = version + 1, updated_at = \(bind: now) WHERE id = 1").run()
    }
}
