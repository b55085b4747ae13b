import Foundation
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import SQLKit
import Testing

/// A known history: four users, messages over several days, purchases (one refunded), trials.
public struct StatisticsScenario: Sendable {

    public init() {
    }
    public let users = (1...4).map { testUser(700 + $0) }

    public func seed(_ app: TestApp) async throws {
        let now = app.clock.now()
        @Sendable func day(_ ago: Int) -> String { StatisticsWindow(now: now.addingTimeInterval(Double(-ago) * 86_400)).today }
        let users = users
        for (index, user) in users.enumerated() {
            _ = try await app.services.profiles.findOrCreate(user, email: "user\(index + 1)@example.com, \"quoted\"", at: app.clock.now())
        }
        let usage: [(Int, String, Int, Int)] = [
            (0, "gpt-4o", 0, 3), (0, "gpt-4o", 3, 5), (0, "gpt-4o", 10, 7), (0, "gpt-4o", 40, 100),
            (1, "gpt-4o", 0, 1), (1, "gpt-4o", 6, 2), (1, "gpt-4o", 29, 4),
            (2, "gpt-4o", 7, 9),
            (0, "claude-3-opus", 1, 2),
        ]
        try await app.database.transaction { db in
            for (user, model, ago, count) in usage {
                try await db.raw("""
                    INSERT INTO model_usage_daily (user_id, model_id, day, message_count)
                    VALUES (\(bind: users[user].description), \(bind: model), \(bind: day(ago)), \(bind: count))
                    """).run()
            }
            // What the quota ledger keeps per model and user when messages go through it.
            try await db.raw("""
                INSERT INTO model_user_activity (model_id, user_id, messages, last_day)
                SELECT model_id, user_id, SUM(message_count), MAX(day) FROM model_usage_daily GROUP BY model_id, user_id
                """).run()
            for (user, used) in [(0, 2), (1, 1), (2, 0)] {
                try await db.raw("""
                    INSERT INTO model_trials (user_id, model_id, trial_messages_used) VALUES (\(bind: users[user].description), 'gpt-4o', \(bind: used))
                    """).run()
            }
            for (user, status) in [(0, "completed"), (2, "refunded"), (3, "pending"), (1, "failed")] {
                let id = try await db.raw("""
                    INSERT INTO purchases (user_id, product_id, stripe_checkout_session_id, amount_cents, currency, status, created_at, updated_at)
                    VALUES (\(bind: users[user].description), 'model:gpt-4o', \(bind: "cs_\(user)"), 299, 'usd', 'pending', \(bind: now), \(bind: now))
                    RETURNING id
                    """).first()?.decode(column: "id", as: Int.self) ?? 0
                // Through the status changes webhooks make, which book the revenue.
                if status != "pending" { try await PurchaseRepository.setStatus(status == "failed" ? .failed : .completed, of: id, at: now, in: db) }
                if status == "refunded" { try await PurchaseRepository.setStatus(.refunded, of: id, at: now, in: db) }
            }
            try await EntitlementRepository.grant(model: "gpt-4o", to: users[0], source: .purchase, grantedBy: nil, at: now, in: db)
            try await EntitlementRepository.grant(model: "gpt-4o", to: users[2], source: .purchase, grantedBy: nil, at: now, in: db)
            try await EntitlementRepository.revoke(model: "gpt-4o", from: users[2], reason: "refund", at: now, in: db)
            try await EntitlementRepository.grant(model: "gpt-4o", to: users[3], source: .adminGrant, grantedBy: "ops", at: now, in: db)
        }
    }
}
