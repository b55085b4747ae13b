import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateProviders
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Testing

/// What the user sees of budgets: the model list, the preview, the settings page.
extension BudgetTests {
    // MARK: - What the user sees

    @Test func theModelListAndThePreviewShowTodaysTokensAndSpendHoldsIncluded() async throws {
        try await withFakeProviders(patientProvider: true) { fake, app, client in
            let user = testUser(703)
            try await app.sql("UPDATE ai_models SET daily_token_budget = 5000 WHERE id = 'gpt-4o-mini'")
            try await app.sql("UPDATE catalog_settings SET user_daily_cost_budget_micros = 1000000")
            let token = try await app.token(user)
            func mini() async throws -> JSONValue? {
                let models = try await client.call(.get, "/api/models", token: token)
                #expect(models.status == .ok)
                return models.json["data"]?["free"]?.array.first { $0["id"] == .string("gpt-4o-mini") }
            }
            func budget(_ used: Int, _ limit: Int?, _ remaining: Int?) -> JSONValue {
                .object(["used": .number(Double(used)), "limit": limit.map { .number(Double($0)) } ?? .null,
                         "remaining": remaining.map { .number(Double($0)) } ?? .null])
            }

            var model = try await mini()
            #expect(model?["usageToday"]?["tokens"] == budget(0, 5000, 5000))
            #expect(model?["usageToday"]?["costMicros"] == budget(0, 1_000_000, 1_000_000))
            #expect(model?["access"] == .string("allowed"))

            // While a call streams, its worst case counts: 600 tokens, 350 micro-dollars.
            fake.script(.heldUntilReleased(then: "Hello there"))
            let call = Task { try await Self.chat(client, token: token, body: Self.body(maxTokens: 576)) }
            do {
                #expect(try await Self.eventually { fake.requests.count == 1 })
                model = try await mini()
                #expect(model?["usageToday"]?["tokens"] == budget(600, 5000, 4400))
                #expect(model?["usageToday"]?["costMicros"] == budget(350, 1_000_000, 999_650))
            } catch {
                fake.release()
                throw error
            }
            fake.release()
            #expect(try await call.value.status == 200)

            // Settled: the 14 tokens and 3 micro-dollars the reply used.
            model = try await mini()
            #expect(model?["usageToday"]?["tokens"] == budget(14, 5000, 4986))
            #expect(model?["usageToday"]?["costMicros"] == budget(3, 1_000_000, 999_997))
            #expect(model?["usageToday"]?["used"]?.int == 1)
            let preview = try await client.call(.post, "/api/selection/preview", token: token, json: #"{"personaId": "career", "modelId": "gpt-4o-mini"}"#)
            #expect(preview.json["outcome"] == .string("allowed"))
            #expect(preview.json["usageInfo"]?["tokens"] == budget(14, 5000, 4986))
            #expect(preview.json["usageInfo"]?["costMicros"] == budget(3, 1_000_000, 999_997))
            // Spend is across models; tokens are per model (another model has no token budget).
            let haiku = try await client.call(.get, "/api/models", token: token).json["data"]?["free"]?.array
                .first { $0["id"] == .string("claude-3-5-haiku") }
            #expect(haiku?["usageToday"]?["tokens"] == budget(0, nil, nil))
            #expect(haiku?["usageToday"]?["costMicros"] == budget(3, 1_000_000, 999_997))

            // A budget used to the last token is shown as such, in the list and the preview.
            try await app.sql("UPDATE ai_models SET daily_token_budget = 14 WHERE id = 'gpt-4o-mini'")
            model = try await mini()
            #expect(model?["usageToday"]?["tokens"] == budget(14, 14, 0))
            #expect(model?["access"] == .string("token_budget_exhausted"))
            let spent = try await client.call(.post, "/api/selection/preview", token: token, json: #"{"personaId": "career", "modelId": "gpt-4o-mini"}"#)
            #expect(spent.json["outcome"] == .string("token_budget_exhausted"))
        }
    }

    /// A free model with a token budget but no daily message limit still shows its budget (it used
    /// to list `usageToday: null`: only premium models and ones with a message limit had one).
    @Test func aTokenBudgetIsShownOnAFreeModelWithoutAMessageLimit() async throws {
        try await withFakeProviders { _, app, client in
            try await app.sql("UPDATE catalog_settings SET free_daily_limit = NULL")
            try await app.sql("UPDATE ai_models SET daily_token_budget = 5000, rate_limit_messages_per_day = NULL WHERE id = 'gpt-4o-mini'")
            let token = try await app.token(testUser(704))
            #expect(try await Self.chat(client, token: token, body: Self.body(maxTokens: 100)).status == 200)
            let preview = try await client.call(.post, "/api/selection/preview", token: token, json: #"{"personaId": "career", "modelId": "gpt-4o-mini"}"#)
            #expect(preview.json["usageInfo"]?["tokens"]?["used"]?.int == 14)
            #expect(preview.json["usageInfo"]?["tokens"]?["remaining"]?.int == 4986)
            let models = try await client.call(.get, "/api/models", token: token)
            let mini = models.json["data"]?["free"]?.array.first { $0["id"] == .string("gpt-4o-mini") }
            #expect(mini?["id"] == .string("gpt-4o-mini"))
            #expect(mini?["usageToday"]?["limit"] == .null, "no message limit")
            #expect(mini?["usageToday"]?["used"]?.int == 1)
            #expect(mini?["usageToday"]?["tokens"]?["used"]?.int == 14)
            #expect(mini?["usageToday"]?["tokens"]?["limit"]?.int == 5000)
            #expect(mini?["usageToday"]?["tokens"]?["remaining"]?.int == 4986)
        }
    }
}
