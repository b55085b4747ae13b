import Foundation
import ModelgateCore
import SQLKit

/// Who changed what, written in the same transaction as the change it records.
public enum AuditLog {
    public static func record(
        actor: String?, action: String, targetType: String, targetID: String, before: JSONValue?, after: JSONValue?,
        at now: Date, in db: any SQLDatabase
    ) async throws {
        try await db.raw("""
            INSERT INTO audit_log (actor_id, action, target_type, target_id, before_value, after_value, created_at)
            VALUES (\(bind: actor), \(bind: action), \(bind: targetType), \(bind: targetID),
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
