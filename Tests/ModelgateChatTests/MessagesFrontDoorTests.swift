import Foundation
import HummingbirdTesting
import ModelgateAppTesting
import ModelgateCore
import ModelgateTestSupport
import Testing

/// The official `anthropic` SDK against `/v1/messages`, through each provider's fake: the one
/// request path behind another front door.
@Suite(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"), .timeLimit(.minutes(5)))
struct MessagesFrontDoorTests {
    @Test(arguments: ["gpt-4o-mini", "claude-3-5-haiku", "gemini-pro-1.5", "llama-3.1-8b"])
    func theAnthropicSDKTalksToAnyCatalogModel(model: String) async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake), test: .live) { app, client in
                try await app.sql("UPDATE ai_models SET trial_messages_allowed = 20 WHERE tier = 'premium'")
                try await app.services.cache.refresh()
                let user = testUser(64)
                let token = try await app.token(user)
                let port = try #require(client.port)
                let result = try await PythonSDK.run(["anthropic", "http://127.0.0.1:\(port)", token, model], script: "scripts/front_door_checks.py")
                #expect(result.status == 0, "\(result.output)")
                // The same books as the OpenAI door: each answered call charged and settled once.
                let messages = try await app.database.read { db in
                    try await db.raw("SELECT CAST(SUM(message_count) AS BIGINT) AS n FROM model_usage_daily WHERE model_id = \(bind: model)").first()?
                        .decode(column: "n", as: Int?.self)
                }
                #expect(messages == 6, "two plain, a stream, a tool call, a streamed tool call and a tool result: \(result.output)")
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    @Test func aQuotaRefusalIsARateLimitErrorTheSDKDoesNotRetry() async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake), test: .live) { app, client in
                try await app.sql("UPDATE ai_models SET rate_limit_messages_per_day = 1 WHERE id = 'gpt-4o-mini'")
                try await app.services.cache.refresh()
                let token = try await app.token(testUser(65))
                let port = try #require(client.port)
                let first = try await PythonSDK.run(["anthropic-limited", "http://127.0.0.1:\(port)", token, "gpt-4o-mini"], script: "scripts/front_door_checks.py")
                #expect(first.status != 0, "the first message is within the limit")
                let second = try await PythonSDK.run(["anthropic-limited", "http://127.0.0.1:\(port)", token, "gpt-4o-mini"], script: "scripts/front_door_checks.py")
                #expect(second.status == 0, "\(second.output)")
                #expect(fake.requests.count == 1, "a refusal never reaches the provider")
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    @Test(arguments: ["gpt-4o-mini", "claude-3-5-haiku", "gemini-pro-1.5", "llama-3.1-8b"])
    func theOpenAISDKsResponsesAPITalksToAnyCatalogModel(model: String) async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake), test: .live) { app, client in
                try await app.sql("UPDATE ai_models SET trial_messages_allowed = 20 WHERE tier = 'premium'")
                try await app.services.cache.refresh()
                let token = try await app.token(testUser(67))
                let port = try #require(client.port)
                let result = try await PythonSDK.run(["responses", "http://127.0.0.1:\(port)/v1", token, model], script: "scripts/front_door_checks.py")
                #expect(result.status == 0, "\(result.output)")
                let messages = try await app.database.read { db in
                    try await db.raw("SELECT CAST(SUM(message_count) AS BIGINT) AS n FROM model_usage_daily WHERE model_id = \(bind: model)").first()?
                        .decode(column: "n", as: Int?.self)
                }
                #expect(messages == 5, "create, stream, a function call, a streamed one and its output: \(result.output)")
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }
}
