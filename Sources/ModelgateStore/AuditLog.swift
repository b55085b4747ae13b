import Foundation
import ModelgateCore
import SQLKit

/// Who changed what, written in the same transaction as the change it records.
public enum AuditLog {
    public static func record(
        actor: String?, action: AuditAction, targetType: String, targetID: String, before: JSONValue?, after: JSONValue?,
        at now: Date, in db: any SQLDatabase
    ) async throws {
        try await db.raw("""
            INSERT INTO audit_log (actor_id, action, target_type, target_id, before_value, after_value, created_at)
            VALUES (\(bind: actor), \(bind: action.rawValue), \(bind: targetType), \(bind: targetID),
                    \(bind: before?.jsonText), \(bind: after?.jsonText), \(bind: now))
            """).run()
    }
}

/// Who performed an admin change, as the audit log records it.
public struct Actor: Sendable {
    public let id: String
    /// The admin's user id; nil for an operator at the command line.
    public let user: UserID?

    public init(_ user: UserID) {
        id = user.description
        self.user = user
    }

    /// An operator's command, e.g. `cli:rollback`.
    public init(command: String) {
        id = command
        user = nil
    }
}

/// What an audit row records: every action Modelgate writes to `audit_log`.
public enum AuditAction: String, Sendable, Codable, CaseIterable {
    case accessGranted = "access.granted"
    case accessRevoked = "access.revoked"
    case accessSuspended = "access.suspended"
    case accessRestored = "access.restored"
    case keyCreated = "key.created"
    case keyRevoked = "key.revoked"
    case modelCreated = "model.created"
    case modelUpdated = "model.updated"
    case modelEnabled = "model.enabled"
    case modelDisabled = "model.disabled"
    case modelFailoverChanged = "model.failover_changed"
    case settingsDefaultModelChanged = "settings.default_model_changed"
    case settingsFreeDailyLimitChanged = "settings.free_daily_limit_changed"
    case settingsUserDailyCostBudgetChanged = "settings.user_daily_cost_budget_changed"
    case rollbackPreferencesReset = "rollback.preferences_reset"
    case rollbackPreferencesRestored = "rollback.preferences_restored"
    case purchaseRefused = "purchase.refused"
    case planSaved = "plan.saved"
    case creditPackSaved = "credit_pack.saved"
    case modelCreditPriceChanged = "model.credit_price_changed"
    case modelAliasSaved = "model_alias.saved"
    case storePurchaseKeyChanged = "api_key.store_purchases_changed"
    case modelAliasRemoved = "model_alias.removed"
    case creditsGranted = "credits.granted"
    case creditsAdjusted = "credits.adjusted"
    case creditsPurchased = "credits.purchased"
    case creditsRefunded = "credits.refunded"
    case subscriptionChanged = "subscription.changed"
    case storePurchaseRecorded = "store.purchase_recorded"
    case purchaseRefunded = "purchase.refunded"
    case purchaseDisputeLost = "purchase.dispute_lost"
    case stripeDeactivated = "stripe.deactivated"
}
