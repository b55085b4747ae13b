import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// Someone who holds access to a model.
public struct AccessHolder: Sendable, Equatable, Codable {
    public let userId: String
    public let email: String?
    public let source: EntitlementSource
    public let note: String?
    public let grantedBy: String?
    public let grantedAt: Date
}

/// Access granted or revoked by admins (purchases grant through the webhook), audited in the
/// same transaction.
public struct AccessGrants: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Grants access now. Returns false when the user already had it (nothing written).
    public func grant(model: ModelID, to user: UserSummary, source: EntitlementSource, note: String?, by actor: Actor, at now: Date,
                      alsoWrite extra: @escaping @Sendable (any SQLDatabase) async throws -> Void = { _ in }) async throws -> Bool {
        try await database.transaction { db in
            let userID = user.id
            let granted = try await EntitlementRepository.grant(
                model: model, to: userID, source: source, grantedBy: actor.id, note: note, at: now, in: db)
            guard granted else { return false }
            try await AuditLog.record(
                actor: actor.id, action: .accessGranted, targetType: "model", targetID: model.rawValue, before: nil,
                after: .object(["userId": .string(user.id.description), "source": .string(source.rawValue), "note": note.map(JSONValue.string) ?? .null]),
                at: now, in: db)
            try await extra(db)
            return true
        }
    }

    /// Revokes access, keeping the row as history. Returns false when the user had none.
    public func revoke(model: ModelID, from user: UserSummary, by actor: Actor, at now: Date) async throws -> Bool {
        try await database.transaction { db in
            let userID = user.id
            guard try await EntitlementRepository.revoke(model: model, from: userID, reason: "admin", at: now, in: db) else { return false }
            try await AuditLog.record(actor: actor.id, action: .accessRevoked, targetType: "model", targetID: model.rawValue,
                                      before: .object(["userId": .string(user.id.description)]), after: nil, at: now, in: db)
            return true
        }
    }

    /// One page of the users who hold `model` now, newest grant first, with how many hold it in all.
    public func holders(of model: ModelID, page: Int, perPage: Int) async throws -> (holders: [AccessHolder], total: Int) {
        try await database.read { db in
            let product = "model:" + model.rawValue
            let total = try await db.raw("""
                SELECT COUNT(*) AS n FROM entitlements WHERE product_id = \(bind: product) AND revoked_at IS NULL
                """).first()?.decode(column: "n", as: Int.self) ?? 0
            let holders = try await db.raw("""
                SELECT e.user_id, p.email, e.source, e.note, e.granted_by, e.granted_at
                FROM entitlements e JOIN profiles p ON p.id = e.user_id
                WHERE e.product_id = \(bind: product) AND e.revoked_at IS NULL ORDER BY e.granted_at DESC, e.user_id
                LIMIT \(bind: perPage) OFFSET \(bind: (page - 1) * perPage)
                """).all().map { row in
                AccessHolder(
                    userId: try row.decode(column: "user_id", as: String.self), email: try row.decode(column: "email", as: String?.self),
                    source: try row.decodeEnum(column: "source", as: EntitlementSource.self), note: try row.decode(column: "note", as: String?.self),
                    grantedBy: try row.decode(column: "granted_by", as: String?.self),
                    grantedAt: try row.decode(column: "granted_at", as: Date.self))
            }
            return (holders, total)
        }
    }

}
