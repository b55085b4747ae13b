import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// The daily budget of an API key's background calls (`X-Modelgate-Purpose: task`).
public struct TaskBudgetLedger: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Takes one background call of the key's budget for `day`: the day's count after it, or nil
    /// when the budget is spent (one conditional upsert, exact across instances).
    public func takeTask(key: String, day: String, budget: Int) async throws -> Int? {
        try await database.write { db in
            try await db.raw("""
                INSERT INTO key_task_usage (key_id, day, used) VALUES (\(bind: key), \(bind: day), 1)
                ON CONFLICT (key_id, day) DO UPDATE SET used = key_task_usage.used + 1 WHERE key_task_usage.used < \(bind: budget)
                RETURNING used
                """).first().map { try $0.decode(column: "used", as: Int.self) }
        }
    }

    /// Gives a background call back (its provider failed before answering).
    public func giveBackTask(key: String, day: String) async throws {
        try await database.write { db in
            try await db.raw("UPDATE key_task_usage SET used = used - 1 WHERE key_id = \(bind: key) AND day = \(bind: day) AND used > 0").run()
        }
    }
}
