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
import SQLKit
import Testing

extension TestApp {
    /// Every user's default and overrides, as comparable text.
    public func allChoices() async throws -> [String] {
        try await database.read { db in
            let defaults = try await db.raw("SELECT id, default_model_id FROM profiles ORDER BY id").all()
                .map { "\(try $0.decode(column: "id", as: String.self)) default \(try $0.decode(column: "default_model_id", as: String?.self) ?? "-")" }
            let overrides = try await db.raw("SELECT user_id, persona_id, model_id FROM persona_model_overrides ORDER BY user_id, persona_id").all()
                .map { "\(try $0.decode(column: "user_id", as: String.self)) \(try $0.decode(column: "persona_id", as: String.self)) \(try $0.decode(column: "model_id", as: String.self))" }
            return defaults + overrides
        }
    }
}
