import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

public enum EntitlementSource: String, Sendable, Codable {
    case purchase
    case adminGrant = "admin_grant"
    case trial
}

/// Who may use which premium model. An entitlement is active until revoked; revoked rows stay
/// as history.
public struct EntitlementRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// The models the user holds an active entitlement to.
    public func entitledModels(of user: UserID) async throws -> Set<ModelID> {
        try await database.read { try await Self.entitledModels(of: user, in: $0) }
    }

    static func entitledModels(of user: UserID, in db: any SQLDatabase) async throws -> Set<ModelID> {
        let rows = try await db.raw("""
            SELECT p.model_id FROM entitlements e JOIN products p ON p.id = e.product_id
            WHERE e.user_id = \(bind: user.description) AND e.revoked_at IS NULL AND e.suspended_at IS NULL
            """).all()
        return Set(try rows.map { ModelID(try $0.decode(column: "model_id", as: String.self)) })
    }

    /// Grants access to a model's product; a no-op returning `false` when one is already active.
    @discardableResult
    public static func grant(
        model: ModelID, to user: UserID, source: EntitlementSource, grantedBy: String?, note: String? = nil,
        purchaseID: Int? = nil, at now: Date, in db: any SQLDatabase
    ) async throws -> Bool {
        let product = "model:" + model.rawValue
        let rows = try await db.raw("""
            INSERT INTO entitlements (user_id, product_id, source, purchase_id, note, granted_by, granted_at)
            SELECT \(bind: user.description), id, \(bind: source.rawValue), \(bind: purchaseID), \(bind: note), \(bind: grantedBy), \(bind: now)
            FROM products WHERE id = \(bind: product)
            ON CONFLICT (user_id, product_id) WHERE revoked_at IS NULL DO NOTHING
            RETURNING id
            """).all()
        return !rows.isEmpty
    }

    /// Revokes the active entitlement, keeping the row. Returns whether one was active.
    @discardableResult
    public static func revoke(model: ModelID, from user: UserID, reason: String, at now: Date, in db: any SQLDatabase) async throws -> Bool {
        let rows = try await db.raw("""
            UPDATE entitlements SET revoked_at = \(bind: now), revoke_reason = \(bind: reason)
            WHERE user_id = \(bind: user.description) AND product_id = \(bind: "model:" + model.rawValue) AND revoked_at IS NULL
            RETURNING id
            """).all()
        return !rows.isEmpty
    }

    /// Revokes the entitlement one purchase granted (never an admin grant of the same model).
    /// Returns whether it was active.
    @discardableResult
    public static func revoke(purchase: Int, reason: String, at now: Date, in db: any SQLDatabase) async throws -> Bool {
        try await !db.raw("""
            UPDATE entitlements SET revoked_at = \(bind: now), revoke_reason = \(bind: reason)
            WHERE purchase_id = \(bind: purchase) AND revoked_at IS NULL RETURNING id
            """).all().isEmpty
    }

    /// Suspends (or, with `false`, restores) the entitlement one purchase granted while its payment
    /// is disputed. Returns whether one changed.
    @discardableResult
    public static func suspend(_ suspended: Bool, purchase: Int, at now: Date, in db: any SQLDatabase) async throws -> Bool {
        let value: Date? = suspended ? now : nil
        return try await !db.raw("""
            UPDATE entitlements SET suspended_at = \(bind: value)
            WHERE purchase_id = \(bind: purchase) AND revoked_at IS NULL AND (suspended_at IS NULL) = \(bind: suspended) RETURNING id
            """).all().isEmpty
    }
}
