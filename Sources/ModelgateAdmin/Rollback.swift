import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// A refunded purchase, for telling the people concerned.
public struct RefundRecord: Sendable, Equatable {
    public let purchaseId: Int
    public let userId: String
    public let email: String?
    public let modelId: String
    public let amountCents: Int
    public let refundedAt: Date
}

/// The steps of the rollback plan. Each is audited and runs in one transaction.
public struct Rollback: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Every enabled premium model, disabled (the system default is refused, as in the console).
    public func disablePremium(dryRun: Bool, by actor: Actor, at now: Date) async throws -> RollbackReport {
        let premium = try await CatalogRepository(database: database).snapshot().models
            .filter { $0.tier == .premium && $0.enabled }.sorted { $0.sortOrder < $1.sortOrder }
        let report = RollbackReport(lines: premium.map { "disable \($0.id) (\($0.displayName))" })
        guard !dryRun, !premium.isEmpty else { return report }
        _ = try await CatalogAdministration(database: database).setEnabled(premium.map(\.id), enabled: false, by: actor, at: now)
        return report
    }

    /// Backs up every user's choices, then clears overrides and sets every default to `model`
    /// (nil: no default, so the system default answers).
    public func resetPreferences(to model: ModelID?, dryRun: Bool, by actor: Actor, at now: Date, backupID: String) async throws -> RollbackReport {
        try await database.transaction { db in
            if let model, try await db.raw("SELECT id FROM ai_models WHERE id = \(bind: model.rawValue) AND enabled = TRUE AND kind = 'chat'").first() == nil {
                throw ModelgateError.validationFailed([FieldError("to", "must be an enabled chat model")])
            }
            let defaults = try await Self.count("SELECT COUNT(*) AS n FROM profiles WHERE default_model_id IS NOT NULL", in: db)
            let overrides = try await Self.count("SELECT COUNT(*) AS n FROM persona_model_overrides", in: db)
            let profiles = try await Self.count("SELECT COUNT(*) AS n FROM profiles", in: db)
            let report = RollbackReport(lines: [
                "back up the choices of \(profiles) users as backup \(backupID)",
                "set \(profiles) defaults to \(model?.rawValue ?? "none (the system default)") (\(defaults) had one)",
                "clear \(overrides) coach overrides",
            ])
            guard !dryRun else { return report }
            try await db.raw("""
                INSERT INTO preference_backups (backup_id, user_id, persona_id, model_id, created_at)
                SELECT \(bind: backupID), id, NULL, default_model_id, \(bind: now) FROM profiles
                """).run()
            try await db.raw("""
                INSERT INTO preference_backups (backup_id, user_id, persona_id, model_id, created_at)
                SELECT \(bind: backupID), user_id, persona_id, model_id, \(bind: now) FROM persona_model_overrides
                """).run()
            try await db.raw("DELETE FROM persona_model_overrides").run()
            try await db.raw("UPDATE profiles SET default_model_id = \(bind: model?.rawValue), updated_at = \(bind: now)").run()
            try await AuditLog.record(
                actor: actor.id, action: .rollbackPreferencesReset, targetType: "preferences", targetID: backupID,
                before: .object(["defaults": .number(Double(defaults)), "overrides": .number(Double(overrides))]),
                after: .object(["defaultModelId": model.map { .string($0.rawValue) } ?? .null]), at: now, in: db)
            return report
        }
    }

    /// Puts back every user's choices from the newest backup (or `backupID`).
    public func restorePreferences(backupID requested: String?, dryRun: Bool, by actor: Actor, at now: Date) async throws -> RollbackReport {
        try await database.transaction { db in
            let newest = try await db.raw("SELECT backup_id FROM preference_backups ORDER BY created_at DESC, backup_id DESC LIMIT 1").first()
                .map { try $0.decode(column: "backup_id", as: String.self) }
            guard let backupID = requested ?? newest else { throw ModelgateError.notFound(what: "preference backup", id: "latest") }
            let defaults = try await Self.count("""
                SELECT COUNT(*) AS n FROM preference_backups WHERE backup_id = \(bind: backupID) AND persona_id IS NULL
                """, in: db)
            guard defaults > 0 else { throw ModelgateError.notFound(what: "preference backup", id: backupID) }
            let overrides = try await Self.count("""
                SELECT COUNT(*) AS n FROM preference_backups WHERE backup_id = \(bind: backupID) AND persona_id IS NOT NULL
                """, in: db)
            let report = RollbackReport(lines: [
                "restore the defaults of \(defaults) users from backup \(backupID)",
                "replace every coach override with the \(overrides) of the backup",
            ])
            guard !dryRun else { return report }
            try await db.raw("""
                UPDATE profiles SET updated_at = \(bind: now), default_model_id = (
                    SELECT b.model_id FROM preference_backups b WHERE b.backup_id = \(bind: backupID) AND b.user_id = profiles.id AND b.persona_id IS NULL)
                WHERE id IN (SELECT user_id FROM preference_backups WHERE backup_id = \(bind: backupID) AND persona_id IS NULL)
                """).run()
            try await db.raw("DELETE FROM persona_model_overrides").run()
            try await db.raw("""
                INSERT INTO persona_model_overrides (user_id, persona_id, model_id, updated_at)
                SELECT user_id, persona_id, model_id, \(bind: now) FROM preference_backups WHERE backup_id = \(bind: backupID) AND persona_id IS NOT NULL
                """).run()
            try await AuditLog.record(
                actor: actor.id, action: .rollbackPreferencesRestored, targetType: "preferences", targetID: backupID, before: nil,
                after: .object(["defaults": .number(Double(defaults)), "overrides": .number(Double(overrides))]), at: now, in: db)
            return report
        }
    }

    public func refunds(since: Date) async throws -> [RefundRecord] {
        try await database.read { db in
            try await db.raw("""
                SELECT pu.id, pu.user_id, p.email, pr.model_id, pu.amount_cents, pu.updated_at
                FROM purchases pu JOIN products pr ON pr.id = pu.product_id LEFT JOIN profiles p ON p.id = pu.user_id
                WHERE pu.status = 'refunded' AND pu.updated_at >= \(bind: since) ORDER BY pu.updated_at, pu.id
                """).all().map { row in
                RefundRecord(
                    purchaseId: try row.decode(column: "id", as: Int.self), userId: try row.decode(column: "user_id", as: String.self),
                    email: try row.decode(column: "email", as: String?.self), modelId: try row.decode(column: "model_id", as: String.self),
                    amountCents: try row.decode(column: "amount_cents", as: Int.self), refundedAt: try row.decode(column: "updated_at", as: Date.self))
            }
        }
    }

    private static func count(_ sql: SQLQueryString, in db: any SQLDatabase) async throws -> Int {
        try await db.raw(sql).first()?.decode(column: "n", as: Int.self) ?? 0
    }
}
