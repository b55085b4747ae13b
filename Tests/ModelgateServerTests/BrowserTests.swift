import AsyncHTTPClient
import Foundation
import Hummingbird
import ModelgateBilling
import ModelgateCore
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

/// Headless Chromium (driven by Selenium from the venv `scripts/test` makes) against Modelgate on
/// a real loopback port, with the fake Stripe's hosted checkout delivering signed webhooks.
enum Browser {
    /// On the SQLite run only: the pages are the same on both backends, and the PostgreSQL run
    /// covers the data paths.
    static var available: Bool {
        TestDatabase.backend == .sqlite
            && (ExternalTools.required || (PythonSDK.python != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")))
    }

    static var outputDirectory: String {
        ProcessInfo.processInfo.environment["MODELGATE_TEST_OUTPUT"]
            ?? PythonSDK.repository.appendingPathComponent("test-output").path
    }

    /// A loopback port nobody listens on, so the billing URLs can name it before the server starts.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    /// Runs Modelgate with a Stripe fake on a real port for `body`, then stops both.
    static func withLiveApp(_ body: @escaping @Sendable (TestApp, String) async throws -> Void) async throws {
        let stripe = try await FakeStripeServer.start()
        let port = try await freePort()
        let base = "http://127.0.0.1:\(port)"
        var billing = TestApp.billing(stripe: stripe)
        billing.publicURL = base
        stripe.deliverWebhooks(to: base + "/api/purchases/webhook", secret: TestApp.webhookSecret)
        do {
            try await TestApp.run(at: Date(), providers: TestApp.providers(fake: nil, demo: true), billing: billing) { app, _ in
                _ = try await StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock).run(dryRun: false)
                try await app.services.cache.refresh()
                let server = ServerConfiguration(host: "127.0.0.1", port: port, maxBodyBytes: app.configuration.maxBodyBytes)
                let live = buildApplication(configuration: server, dependencies: app.dependencies, services: app.services, tokens: app.tokens)
                let task = Task { try await live.runService(gracefulShutdownSignals: []) }
                defer { task.cancel() }
                try await waitUntilListening(base)
                try await body(app, base)
            }
        } catch {
            await stripe.stop()
            throw error
        }
        await stripe.stop()
    }

    private static func waitUntilListening(_ base: String) async throws {
        for _ in 0..<100 {
            if (try? await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/healthz"), timeout: .seconds(1)))?.status == .ok { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CancellationError()
    }

    /// Runs `scripts/e2e/<script>` with a JSON description of the scenario.
    static func run(_ script: String, scenario: [String: Any]) async throws -> (status: Int32, output: String) {
        let data = try JSONSerialization.data(withJSONObject: scenario)
        return try await PythonSDK.run([String(decoding: data, as: UTF8.self)], script: "scripts/e2e/\(script)")
    }
}

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
