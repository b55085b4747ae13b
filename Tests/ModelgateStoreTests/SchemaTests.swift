import Foundation
import ModelgateCore
@testable import ModelgateStore
import ModelgateTestSupport
import SQLKit
import Testing

@Suite(.timeLimit(.minutes(5))) struct SchemaTests {
    @Test func migratingTwiceIsANoOp() async throws {
        try await TestDatabase.with(seeded: false) { database, _ in
            let second = try await Migrator.migrate(database, at: Date())
            #expect(second.applied.isEmpty)
            let versions = try await database.read { try await $0.raw("SELECT version FROM schema_migrations").all() }
            #expect(versions.count == Schema.migrations.count)
        }
    }

    /// Purchases made before revenue was booked per day get their bookings when migration 9 runs.
    @Test func purchasesFromBeforeBookingsAreBookedOnTheirDays() async throws {
        try await TestDatabase.with { database, _ in
            let created = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18T09:06:40Z
            let refunded = created.addingTimeInterval(2 * 86_400)
            try await database.write { db in
                try await db.raw("""
                    INSERT INTO profiles (id, email, role, timezone, created_at, updated_at)
                    VALUES ('00000000-0000-4000-8000-000000000001', NULL, 'user', 'UTC', \(bind: created), \(bind: created))
                    """).run()
                for (session, status) in [("cs_kept", "completed"), ("cs_back", "refunded"), ("cs_open", "pending")] {
                    try await db.raw("""
                        INSERT INTO purchases (user_id, product_id, stripe_checkout_session_id, amount_cents, currency, status, created_at, updated_at)
                        VALUES ('00000000-0000-4000-8000-000000000001', 'model:gpt-4o', \(bind: session), 299, 'usd', \(bind: status),
                                \(bind: created), \(bind: status == "refunded" ? refunded : created))
                        """).run()
                }
            }
            let backfill = try #require(Schema.migrations.first { $0.version == 9 }).statements.filter { $0.contains("INSERT INTO revenue_bookings") }
            #expect(backfill.count == 2)
            try await database.write { db in
                for statement in backfill { try await db.raw(SQLQueryString(Migrator.render(statement, for: database.backend))).run() }
            }
            let rows = try await database.read { db in
                try await db.raw("SELECT kind, day, amount_cents FROM revenue_bookings ORDER BY day, kind").all().map {
                    "\(try $0.decode(column: "kind", as: String.self)) \(try $0.decode(column: "day", as: String.self)) \(try $0.decode(column: "amount_cents", as: Int.self))"
                }
            }
            #expect(rows == ["purchase 2026-11-18 299", "purchase 2026-11-18 299", "refund 2026-11-20 -299"])
        }
    }

    @Test func seedingCreatesTheCatalogAndNeverOverwritesAdminEdits() async throws {
        try await TestDatabase.with { database, _ in
            let catalog = try await CatalogRepository(database: database).snapshot()
            #expect(catalog.models.map(\.id.rawValue) == [
                "gpt-4o-mini", "claude-3-5-haiku", "llama-3.1-8b", "gpt-4o", "claude-3-5-sonnet", "gemini-pro-1.5", "claude-3-opus",
                "text-embedding-3-small", "text-embedding-3-large", "gemini-embedding-001", "bge-base-en-v1.5",
            ])
            #expect(catalog.models.filter { $0.kind == .chat }.count == 7)
            let embedding = try #require(catalog.model("gemini-embedding-001"))
            #expect(embedding.kind == .embedding && embedding.prices == .perMillion(0.15, 0, cached: 0.15) && embedding.metadata["dimensions"] == .number(3_072))
            #expect(catalog.systemDefaultID == "gpt-4o-mini")
            let opus = try #require(catalog.model("claude-3-opus"))
            #expect(opus.priceCents == 499 && opus.dailyMessageLimit == 30 && opus.trialMessagesAllowed == 2 && opus.providerModelID == "claude-3-opus-latest")
            #expect(catalog.models.filter { $0.tier == .premium }.allSatisfy { $0.metadata["contextWindow"] != nil })

            try await database.write { try await $0.raw("UPDATE ai_models SET display_name = 'Renamed', enabled = FALSE WHERE id = 'gpt-4o'").run() }
            let inserted = try await Seed.apply(database, at: Date())
            #expect(inserted == 0)
            let after = try #require(try await CatalogRepository(database: database).snapshot().model("gpt-4o"))
            #expect(after.displayName == "Renamed" && !after.enabled)
            let products = try await database.read { try await $0.raw("SELECT id FROM products WHERE type = 'model'").all() }
            #expect(products.count == 4)
            #expect(try await PersonaRepository(database: database).all().count == 4)
        }
    }

    @Test func theDatabaseRefusesADefaultModelThatDoesNotExist() async throws {
        try await TestDatabase.with { database, _ in
            let user = testUser(1)
            _ = try await ProfileRepository(database: database).findOrCreate(user, email: "a@example.com", at: Date())
            await #expect {
                try await database.write {
                    try await $0.raw("UPDATE profiles SET default_model_id = 'no-such-model' WHERE id = \(bind: user.description)").run()
                }
            } throws: { ConstraintViolation($0) == .foreignKey }
            let profile = try await ProfileRepository(database: database).find(user)
            #expect(profile?.preferences.defaultModelId == nil)
        }
    }

    @Test func checkConstraintsRefuseAPremiumModelWithoutPriceAndNegativeCounts() async throws {
        try await TestDatabase.with { database, _ in
            let now = Date()
            await #expect {
                try await database.write {
                    try await $0.raw("""
                        INSERT INTO ai_models (id, provider, provider_model_id, display_name, tier, price_cents, trial_messages_allowed, created_at, updated_at)
                        VALUES ('x', 'openai', 'x', 'X', 'premium', NULL, 0, \(bind: now), \(bind: now))
                        """).run()
                }
            } throws: { ConstraintViolation($0) == .check }
            await #expect {
                try await database.write {
                    try await $0.raw("UPDATE ai_models SET trial_messages_allowed = -1 WHERE id = 'gpt-4o'").run()
                }
            } throws: { ConstraintViolation($0) == .check }
            await #expect {
                try await database.write { try await $0.raw("UPDATE ai_models SET provider = 'acme' WHERE id = 'gpt-4o'").run() }
            } throws: { ConstraintViolation($0) == .check }
            await #expect {
                try await database.write { try await $0.raw("UPDATE ai_models SET metadata = 'not json' WHERE id = 'gpt-4o'").run() }
            } throws: { [.check, .invalidJSON].contains(ConstraintViolation($0)) }
            try await database.write {
                try await $0.raw("""
                    INSERT INTO audit_log (actor_id, action, target_type, target_id, before_value, after_value, created_at)
                    VALUES ('a', 'model.created', 'model', 'gpt-4o', NULL, '{"ok": true}', \(bind: now))
                    """).run()
            }
        }
    }

    @Test func aFailedTransactionLeavesNothingBehind() async throws {
        try await TestDatabase.with { database, _ in
            let user = testUser(2)
            let profiles = ProfileRepository(database: database)
            _ = try await profiles.findOrCreate(user, email: nil, at: Date())
            let change = PreferencesChange(defaultModelId: .some("claude-3-5-haiku"), personaOverrides: ["fitness": "no-such-model"])
            await #expect { try await profiles.apply(change, to: user, at: Date()) } throws: { ConstraintViolation($0) == .foreignKey }
            let profile = try #require(try await profiles.find(user))
            #expect(profile.preferences == ModelPreferences())
        }
    }
}
