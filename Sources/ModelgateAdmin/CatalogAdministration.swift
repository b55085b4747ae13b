import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// A catalog-wide limit an admin sets.
public enum CatalogLimit: String, Sendable {
    /// Messages per user and day on a free model without a limit of its own.
    case freeDailyLimit = "free-daily-limit"
    /// Micro-dollars of provider cost per user and local day, across models.
    case userDailyCostBudget = "user-daily-cost-budget"

    var column: String {
        switch self {
        case .freeDailyLimit: "free_daily_limit"
        case .userDailyCostBudget: "user_daily_cost_budget_micros"
        }
    }

    var auditAction: AuditAction {
        switch self {
        case .freeDailyLimit: .settingsFreeDailyLimitChanged
        case .userDailyCostBudget: .settingsUserDailyCostBudgetChanged
        }
    }

    var meaningOfNull: String { self == .freeDailyLimit ? "unlimited" : "no budget" }
}

/// Catalog changes made by admins. Each runs in one transaction with its audit rows and the
/// catalog version bump that tells every instance to reload.
public struct CatalogAdministration: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    public func create(_ model: AIModel, by actor: Actor, at now: Date,
                       alsoWrite extra: @escaping @Sendable (any SQLDatabase) async throws -> Void = { _ in }) async throws {
        try await database.transaction { db in
            guard try await CatalogRepository.insert(model, at: now, onConflictDoNothing: true, priceSource: "set by \(actor.id)", in: db) == 1 else {
                throw ModelgateError.validationFailed([FieldError("id", "is already taken by another model")])
            }
            try await AuditLog.record(actor: actor.id, action: .modelCreated, targetType: "model", targetID: model.id.rawValue,
                                      before: nil, after: try JSONValue(encoding: model), at: now, in: db)
            try await extra(db)
            try await CatalogRepository.bumpVersion(at: now, in: db)
        }
    }

    /// Replaces an existing model's fields (`before` is what the admin edited, for the audit).
    public func update(_ model: AIModel, before: AIModel, by actor: Actor, at now: Date,
                       alsoWrite extra: @escaping @Sendable (any SQLDatabase) async throws -> Void = { _ in }) async throws {
        try await database.transaction { db in
            if model.kind != .chat, try await Self.systemDefault(in: db) == model.id {
                throw ModelgateError.validationFailed([FieldError("kind", "must stay chat: \(model.id) is the system default")])
            }
            let metadata = model.metadata.jsonText
            try await db.raw("""
                UPDATE ai_models SET provider = \(bind: model.provider.rawValue), provider_model_id = \(bind: model.providerModelID),
                    display_name = \(bind: model.displayName), description = \(bind: model.description), enabled = \(bind: model.enabled),
                    tier = \(bind: model.tier.rawValue), price_cents = \(bind: model.priceCents), stripe_price_id = \(bind: model.stripePriceID),
                    metadata = \(bind: metadata), rate_limit_messages_per_day = \(bind: model.dailyMessageLimit),
                    trial_messages_allowed = \(bind: model.trialMessagesAllowed), sort_order = \(bind: model.sortOrder),
                    daily_token_budget = \(bind: model.dailyTokenBudget), kind = \(bind: model.kind.rawValue), updated_at = \(bind: now)
                WHERE id = \(bind: model.id.rawValue)
                """).run()
            // A new price is a new row from now on: what past calls cost never changes.
            if let prices = model.prices, prices != before.prices {
                try await PriceHistory.record(PriceChange(modelId: model.id, prices: prices, effectiveFrom: now, source: "set by \(actor.id)"), in: db)
            }
            try await Self.syncProduct(of: model, at: now, in: db)
            try await AuditLog.record(actor: actor.id, action: .modelUpdated, targetType: "model", targetID: model.id.rawValue,
                                      before: try JSONValue(encoding: before), after: try JSONValue(encoding: model), at: now, in: db)
            try await extra(db)
            try await CatalogRepository.bumpVersion(at: now, in: db)
        }
    }

    /// Enables or disables several models at once: all of them or none. Returns the ids whose
    /// state changed (the others already were as asked).
    public func setEnabled(_ ids: [ModelID], enabled: Bool, by actor: Actor, at now: Date,
                           alsoWrite extra: @escaping @Sendable ([ModelID], any SQLDatabase) async throws -> Void = { _, _ in }) async throws -> [ModelID] {
        guard !ids.isEmpty else { throw ModelgateError.validationFailed([FieldError("ids", "must name at least one model")]) }
        return try await database.transaction { db in
            let wanted = Array(Set(ids)).sorted { $0.rawValue < $1.rawValue }
            var current: [ModelID: Bool] = [:]
            for row in try await db.raw("SELECT id, enabled FROM ai_models WHERE id IN (\(binds: wanted.map(\.rawValue)))").all() {
                current[ModelID(try row.decode(column: "id", as: String.self))] = try row.decode(column: "enabled", as: Bool.self)
            }
            if let missing = wanted.first(where: { current[$0] == nil }) { throw ModelgateError.notFound(what: "model", id: missing.rawValue) }
            if !enabled, let systemDefault = try await Self.systemDefault(in: db), wanted.contains(systemDefault) {
                throw ModelgateError.systemDefaultRequired(systemDefault)
            }
            let changed = wanted.filter { current[$0] != enabled }
            for id in changed {
                try await db.raw("UPDATE ai_models SET enabled = \(bind: enabled), updated_at = \(bind: now) WHERE id = \(bind: id.rawValue)").run()
                try await AuditLog.record(actor: actor.id, action: enabled ? .modelEnabled : .modelDisabled, targetType: "model",
                                          targetID: id.rawValue, before: .object(["enabled": .bool(!enabled)]),
                                          after: .object(["enabled": .bool(enabled)]), at: now, in: db)
            }
            try await extra(changed, db)
            if !changed.isEmpty { try await CatalogRepository.bumpVersion(at: now, in: db) }
            return changed
        }
    }

    public func setSystemDefault(_ id: ModelID, by actor: Actor, at now: Date) async throws {
        try await database.transaction { db in
            guard let row = try await db.raw("SELECT enabled, kind FROM ai_models WHERE id = \(bind: id.rawValue)").first() else {
                throw ModelgateError.notFound(what: "model", id: id.rawValue)
            }
            guard try row.decode(column: "enabled", as: Bool.self) else {
                throw ModelgateError.validationFailed([FieldError("modelId", "must be an enabled model")])
            }
            // Every coach falls back to it: it must answer conversations.
            guard try row.decodeEnum(column: "kind", as: ModelKind.self) == .chat else {
                throw ModelgateError.validationFailed([FieldError("modelId", "must be a chat model")])
            }
            let before = try await Self.systemDefault(in: db)
            try await db.raw("UPDATE catalog_settings SET system_default_model_id = \(bind: id.rawValue) WHERE id = 1").run()
            try await AuditLog.record(actor: actor.id, action: .settingsDefaultModelChanged, targetType: "settings", targetID: "default-model",
                                      before: before.map { .object(["modelId": .string($0.rawValue)]) },
                                      after: .object(["modelId": .string(id.rawValue)]), at: now, in: db)
            try await CatalogRepository.bumpVersion(at: now, in: db)
        }
    }

    /// Sets a catalog-wide limit (`nil`: none), audited.
    public func set(_ limit: CatalogLimit, to value: Int?, by actor: Actor, at now: Date) async throws {
        if let value, value < 1 { throw ModelgateError.validationFailed([FieldError("limit", "must be 1 or more, or null for \(limit.meaningOfNull)")]) }
        try await database.transaction { db in
            let before = try await db.raw("SELECT \(unsafeRaw: limit.column) AS value FROM catalog_settings WHERE id = 1").first()?
                .decode(column: "value", as: Int?.self)
            try await db.raw("UPDATE catalog_settings SET \(unsafeRaw: limit.column) = \(bind: value) WHERE id = 1").run()
            let audited: (Int?) -> JSONValue = { .object(["limit": $0.map { .number(Double($0)) } ?? .null]) }
            try await AuditLog.record(actor: actor.id, action: limit.auditAction, targetType: "settings",
                                      targetID: limit.rawValue, before: audited(before), after: audited(value), at: now, in: db)
            try await CatalogRepository.bumpVersion(at: now, in: db)
        }
    }

    static func systemDefault(in db: any SQLDatabase) async throws -> ModelID? {
        try await db.raw("SELECT system_default_model_id FROM catalog_settings WHERE id = 1").first()
            .map { ModelID(try $0.decode(column: "system_default_model_id", as: String.self)) }
    }

    /// A premium model sells through its product row; a price change drops the Stripe price so
    /// `modelgate stripe sync` creates the new one.
    static func syncProduct(of model: AIModel, at now: Date, in db: any SQLDatabase) async throws {
        if model.tier == .premium, let price = model.priceCents {
            try await db.raw("""
                INSERT INTO products (id, type, model_id, price_cents, created_at, updated_at)
                VALUES (\(bind: "model:" + model.id.rawValue), 'model', \(bind: model.id.rawValue), \(bind: price), \(bind: now), \(bind: now))
                ON CONFLICT (id) DO UPDATE SET active = TRUE, updated_at = \(bind: now),
                    stripe_price_id = CASE WHEN products.price_cents = \(bind: price) THEN products.stripe_price_id ELSE NULL END,
                    price_cents = \(bind: price)
                """).run()
        } else {
            try await db.raw("UPDATE products SET active = FALSE, updated_at = \(bind: now) WHERE model_id = \(bind: model.id.rawValue)").run()
        }
    }
}
