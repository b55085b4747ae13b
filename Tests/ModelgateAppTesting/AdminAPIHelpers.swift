import Foundation
import Hummingbird
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
import SQLKit
import Testing

public let adminUser = testUser(900)

extension TestApp {
    public func adminToken() async throws -> String { try await token(adminUser, email: "ops@example.com", admin: true) }

    /// `event properties-json` of each outbox row whose `modelId` is `model`, oldest first.
    public func adminEvents(_ model: String) async throws -> [String] {
        try await database.read { db in
            try await db.raw("SELECT event, properties, distinct_id FROM analytics_outbox WHERE event LIKE 'admin_%' ORDER BY created_at, event").all()
                .map { "\(try $0.decode(column: "event", as: String.self)) \(try $0.decode(column: "properties", as: String.self)) \(try $0.decode(column: "distinct_id", as: String.self))" }
                .filter { $0.contains("\"\(model)\"") }
        }
    }

    public func auditActions(target: String) async throws -> [String] {
        try await database.read { db in
            try await db.raw("SELECT action FROM audit_log WHERE target_id = \(bind: target) ORDER BY id").all()
                .map { try $0.decode(column: "action", as: String.self) }
        }
    }
}

public let newModelJSON = """
    {"id": "mistral-small", "provider": "together", "providerModelId": "mistralai/Mistral-Small", "displayName": "Mistral Small",
     "tier": "free", "rateLimitMessagesPerDay": null, "metadata": {"speed": "fast", "quality": "good"}, "sortOrder": 40}
    """
