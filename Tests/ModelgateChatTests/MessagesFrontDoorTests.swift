import Foundation
import HummingbirdTesting
import ModelgateAppTesting
import ModelgateCore
import ModelgateTestSupport
import NIOCore
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
                #expect(messages == 7, "two plain, a stream, a tool call, a streamed tool call, a tool result and an image: \(result.output)")
                let image = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
                #expect(fake.requests.contains { String(decoding: $0.body, as: UTF8.self).contains(image) }, "the image reached the provider")
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
                #expect(messages == 6, "create, stream, a function call, a streamed one, its output and a Codex-shaped call: \(result.output)")
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    @Test func anthropicBetasReachAnthropicModelsOnly() async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake)) { app, client in
                try await app.sql("UPDATE ai_models SET trial_messages_allowed = 20 WHERE tier = 'premium'")
                try await app.services.cache.refresh()
                let token = try await app.token(testUser(68))
                for model in ["claude-3-5-haiku", "gpt-4o-mini"] {
                    let status = try await client.execute(uri: "/v1/messages", method: .post, headers: [
                        .init("x-api-key")!: token, .init("anthropic-version")!: "2023-06-01", .contentType: "application/json",
                        .init("anthropic-beta")!: "claude-code-20250219,interleaved-thinking-2025-05-14",
                    ], body: ByteBuffer(string: #"{"model": "\#(model)", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]}"#)) { $0.status }
                    #expect(status == .ok)
                }
                let headers = fake.requests.map { ($0.path, $0.headers["anthropic-beta"]) }
                #expect(headers.first { $0.0.hasPrefix("/anthropic/") }?.1 == "claude-code-20250219,interleaved-thinking-2025-05-14", "\(headers)")
                #expect(headers.first { $0.0.hasPrefix("/openai/") }.map { $0.1 == nil } == true, "\(headers)")
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }
}
