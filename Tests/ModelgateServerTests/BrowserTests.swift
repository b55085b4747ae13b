import AsyncHTTPClient
import Foundation
import Hummingbird
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

@Suite(.enabled(if: Browser.available, "needs MODELGATE_TEST_PYTHON and chromedriver (scripts/test sets them up)"), .timeLimit(.minutes(5)))
struct SettingsPageBrowserTests {
    @Test func aUserManagesModelsTriesAndBuysInARealBrowser() async throws {
        try await Browser.withLiveApp { app, base in
            let main = testUser(300), limited = testUser(301)
            let mainToken = try await app.token(main, email: "maria@example.com")
            let limitedToken = try await app.token(limited, email: "lee@example.com")
            // Lee owns Claude 3.5 Sonnet and has sent today's 50 messages; his Claude 3 Opus trial is spent.
            let profile = try await app.services.profiles.findOrCreate(limited, email: "lee@example.com", at: app.clock.now())
            _ = try await app.database.write { db in
                try await EntitlementRepository.grant(model: "claude-3-5-sonnet", to: limited, source: .adminGrant, grantedBy: nil, at: app.clock.now(), in: db)
            }
            for _ in 0..<50 { _ = try await app.services.access.admit(profile, persona: nil, explicit: "claude-3-5-sonnet") }
            for _ in 0..<2 { _ = try await app.services.access.admit(profile, persona: nil, explicit: "claude-3-opus") }

            let result = try await Browser.run("settings_e2e.py", scenario: [
                "base": base, "out": Browser.outputDirectory + "/settings",
                "main": ["token": mainToken],
                "limited": ["token": limitedToken],
            ])
            #expect(result.status == 0, "\(result.output)")

            // What the browser did is in the database.
            let saved = try #require(try await app.services.profiles.find(main))
            #expect(saved.preferences.defaultModelId == "claude-3-5-haiku")
            #expect(saved.preferences.personaOverrides.isEmpty)
            let owned = try await EntitlementRepository(database: app.database).entitledModels(of: main)
            #expect(owned == ["gpt-4o"])
        }
    }
}

@Suite(.enabled(if: Browser.available, "needs MODELGATE_TEST_PYTHON and chromedriver (scripts/test sets them up)"), .timeLimit(.minutes(5)))
struct AdminConsoleBrowserTests {
    @Test func anAdminRunsTheCatalogAndAUserSeesItInARealBrowser() async throws {
        try await Browser.withLiveApp { app, base in
            let user = testUser(310)
            let admin = try await app.adminToken()
            let userToken = try await app.token(user, email: "uma@example.com")
            _ = try await app.services.profiles.findOrCreate(user, email: "uma@example.com", at: app.clock.now())
            try await app.sql("UPDATE ai_models SET trial_messages_allowed = 0 WHERE id = 'claude-3-opus'")
            let result = try await Browser.run("admin_e2e.py", scenario: [
                "base": base, "out": Browser.outputDirectory + "/admin",
                "admin": ["token": admin],
                "user": ["token": userToken, "email": "uma@example.com"],
            ])
            #expect(result.status == 0, "\(result.output)")
            let model = try #require(try await CatalogRepository(database: app.database).snapshot().model("mistral-small"))
            #expect(model.enabled == false && model.provider == .together && model.metadata["contextWindow"]?.numberValue == 32_000)
            #expect(try await EntitlementRepository(database: app.database).entitledModels(of: user) == ["claude-3-opus"])
        }
    }
}
