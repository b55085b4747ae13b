import Foundation
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateKeys
import ModelgateStore
import ModelgateTestSupport
import SQLKit
import Testing

/// A row that breaks the schema's rules (written by a newer version before a rollback, or by hand)
/// is a named error naming its column, never replaced by a guess: an unknown provider is not
/// OpenAI, an unknown tier not free, an unknown role not a user, metadata that is not an object not
/// `{}` (which skipped the context-window check), unreadable tool calls not an empty list.
@Suite(.timeLimit(.minutes(5))) struct CorruptRowTests {
    /// Writes what the schema's CHECKs would refuse, as a newer version's row or a hand edit would.
    static func withoutChecks(_ database: Database, _ statements: [SQLQueryString]) async throws {
        try await database.write { db in
            if database.backend == .sqlite { try await db.raw("PRAGMA ignore_check_constraints = ON").run() }
            for statement in statements { try await db.raw(statement).run() }
            if database.backend == .sqlite { try await db.raw("PRAGMA ignore_check_constraints = OFF").run() }
        }
    }

    static func corruptColumn(_ body: () async throws -> some Any) async -> String? {
        do {
            _ = try await body()
            return nil
        } catch let error as CorruptRow {
            return error.column
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: [
        ("provider", "UPDATE ai_models SET provider = 'mistral' WHERE id = 'gpt-4o-mini'", "ai_models_provider_check"),
        ("tier", "UPDATE ai_models SET tier = 'gold' WHERE id = 'gpt-4o-mini'", "ai_models_tier_check ai_models_check"),
        ("metadata", "UPDATE ai_models SET metadata = '[]' WHERE id = 'gpt-4o-mini'", ""),
    ])
    func aCatalogRowThatBreaksTheSchemaIsANamedError(column: String, update: String, check: String) async throws {
        try await TestDatabase.with { database, _ in
            let checks = database.backend == .postgres ? check.split(separator: " ") : []
            let drop = checks.map { SQLQueryString("ALTER TABLE ai_models DROP CONSTRAINT \(unsafeRaw: String($0))") }
            try await Self.withoutChecks(database, drop + [SQLQueryString(update)])
            #expect(await Self.corruptColumn { try await CatalogRepository(database: database).snapshot() } == column)
        }
    }

    @Test func aProfileWithAnUnknownRoleIsANamedError() async throws {
        try await TestDatabase.with { database, _ in
            let user = testUser(1)
            let profiles = ProfileRepository(database: database)
            _ = try await profiles.findOrCreate(user, email: "a@example.com", at: Date())
            let drop: [SQLQueryString] = database.backend == .postgres ? ["ALTER TABLE profiles DROP CONSTRAINT profiles_role_check"] : []
            try await Self.withoutChecks(database, drop + ["UPDATE profiles SET role = 'owner' WHERE id = \(bind: user.description)"])
            #expect(await Self.corruptColumn { try await profiles.find(user) } == "role")
        }
    }

    @Test func unreadableToolCallsOfATurnAreANamedError() async throws {
        try await TestDatabase.with { database, _ in
            let user = testUser(2)
            _ = try await ProfileRepository(database: database).findOrCreate(user, email: nil, at: Date())
            try await database.write { db in
                try await db.raw("""
                    INSERT INTO conversations (id, user_id, persona_id, title, created_at, updated_at)
                    VALUES ('c1', \(bind: user.description), 'career', 'Hi', \(bind: Date()), \(bind: Date()))
                    """).run()
                try await db.raw("""
                    INSERT INTO messages (conversation_id, role, content, created_at, tool_calls)
                    VALUES ('c1', 'assistant', '', \(bind: Date()), '{"not": "a list"}')
                    """).run()
            }
            let conversations = ConversationRepository(database: database)
            #expect(await Self.corruptColumn { try await conversations.messages(of: "c1", ownedBy: user) } == "tool_calls")
        }
    }

    @Test func anUnknownProviderInTheCircuitsIsANamedError() async throws {
        try await TestDatabase.with { database, _ in
            let later = Date().addingTimeInterval(60)
            try await database.write { db in
                try await db.raw("INSERT INTO provider_circuits (provider, open_until) VALUES ('mistral', \(bind: later))").run()
            }
            #expect(await Self.corruptColumn { try await ProviderCircuits(database: database).open(at: Date()) } == "provider")
        }
    }

    @Test func anAuditRowWithAnActionModelgateNeverWritesIsANamedError() async throws {
        try await TestDatabase.with { database, _ in
            try await database.write { db in
                try await db.raw("""
                    INSERT INTO audit_log (actor_id, action, target_type, target_id, created_at)
                    VALUES ('cli:test', 'model.teleported', 'model', 'gpt-4o-mini', \(bind: Date()))
                    """).run()
            }
            #expect(await Self.corruptColumn { try await AuditTrail(database: database).list(AuditQuery()) } == "action")
        }
    }
}
