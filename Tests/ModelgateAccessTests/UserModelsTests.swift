import Foundation
import HummingbirdTesting
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
import Testing

@Suite(.timeLimit(.minutes(5))) struct UserModelsTests {
    @Test func modelsListsEnabledModelsWithTheUsersStanding() async throws {
        try await TestApp.run { app, client in
            try await app.sql("UPDATE ai_models SET enabled = FALSE WHERE id = 'claude-3-opus'")
            let reply = try await client.call(.get, "/api/models", token: try await app.token(testUser(1)))
            #expect(reply.status == .ok)
            let data = try #require(reply.json["data"])
            #expect(data["free"]?.array.map { $0["id"] } == [.string("gpt-4o-mini"), .string("claude-3-5-haiku"), .string("llama-3.1-8b"),
                                                             .string("text-embedding-3-small"), .string("text-embedding-3-large"),
                                                             .string("gemini-embedding-001"), .string("bge-base-en-v1.5")])
            #expect(data["premium"]?.array.map { $0["id"] } == [.string("gpt-4o"), .string("claude-3-5-sonnet"), .string("gemini-pro-1.5")])
            let gpt4o = try #require(data["premium"]?[0])
            #expect(gpt4o["purchased"] == .bool(false))
            #expect(gpt4o["trialMessagesRemaining"]?.int == 2)
            #expect(gpt4o["usageToday"]?["used"]?.int == 0)
            #expect(gpt4o["usageToday"]?["limit"]?.int == 50)
            #expect(gpt4o["usageToday"]?["resetAt"] != nil)
            #expect(gpt4o["metadata"]?["quality"] == .string("excellent"))
            #expect(data["free"]?[0]?["isSystemDefault"] == .bool(true))
            #expect(data["userPreferences"]?["defaultModelId"] == .null)
        }
    }

    @Test func theStatementCountOfModelsDoesNotGrowWithTheCatalog() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(9))
            _ = try await app.admit(testUser(9), explicit: "gpt-4o")
            // Counted in the request's own tasks: the catalog refresher and the analytics sender
            // poll the same database in the background.
            func statements() async throws -> Int {
                let (reply, count) = try await StatementCounter.counting { try await client.call(.get, "/api/models", token: token) }
                #expect(reply.status == .ok)
                return count
            }
            _ = try await statements() // the first request also stores the token's email
            let small = try await statements()
            let now = app.clock.now()
            for index in 0..<120 {
                let premium = index.isMultiple(of: 2)
                try await app.sql("""
                    INSERT INTO ai_models (id, provider, provider_model_id, display_name, tier, price_cents,
                        rate_limit_messages_per_day, trial_messages_allowed, created_at, updated_at)
                    VALUES (\(bind: "bulk-\(index)"), 'openai', 'gpt-4o', \(bind: "Bulk \(index)"), \(bind: premium ? "premium" : "free"),
                        \(bind: premium ? 100 : nil), 10, \(bind: premium ? 1 : 0), \(bind: now), \(bind: now))
                    """)
            }
            let large = try await statements()
            #expect(try await client.call(.get, "/api/models", token: token).json["data"]?["premium"]?.array.count == 64)
            #expect(small == large)
            // The models, the profile, entitlements, trials, the day's usage, the plans and credit balance.
            #expect(small >= 3 && small <= 6)
        }
    }

    @Test func aLockedPremiumDefaultIsRefusedAndNothingChanges() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(2))
            let saved = try await client.call(.patch, "/api/profile/model-preferences", token: token,
                                              json: #"{"defaultModelId": "claude-3-5-haiku", "personaOverrides": {"fitness": "llama-3.1-8b"}}"#)
            #expect(saved.status == .ok)
            try await app.sql("UPDATE ai_models SET trial_messages_allowed = 0 WHERE id = 'claude-3-opus'")
            let refused = try await client.call(.patch, "/api/profile/model-preferences", token: token,
                                                json: #"{"defaultModelId": "claude-3-opus", "personaOverrides": {"career": "gpt-4o-mini"}}"#)
            #expect(refused.status == .forbidden && refused.code == "model_locked")
            #expect(refused.json["priceCents"]?.int == 499)
            let after = try await client.call(.get, "/api/profile/model-preferences", token: token)
            #expect(after.json["defaultModelId"] == .string("claude-3-5-haiku"))
            #expect(after.json["personaOverrides"] == .object(["fitness": .string("llama-3.1-8b")]))
        }
    }

    @Test func aPremiumDefaultOrOverrideNeedsAPurchaseEvenWithTrialMessagesLeft() async throws {
        try await withFakeStripe { _, app, client in
            let token = try await app.token(testUser(7))
            let admin = try await app.token(testUser(8), admin: true)
            let kept = #"{"defaultModelId": "claude-3-5-haiku", "personaOverrides": {"fitness": "llama-3.1-8b"}}"#
            #expect(try await client.call(.patch, "/api/profile/model-preferences", token: token, json: kept).status == .ok)
            #expect(try await client.call(.get, "/api/models/gpt-4o/trial-status", token: token).json["trialMessagesRemaining"]?.int == 2)
            for body in [#"{"defaultModelId": "gpt-4o"}"#, #"{"personaOverrides": {"career": "gemini-pro-1.5"}}"#,
                         #"{"defaultModelId": "llama-3.1-8b", "personaOverrides": {"career": "claude-3-opus"}}"#] {
                let refused = try await client.call(.patch, "/api/profile/model-preferences", token: token, json: body)
                #expect(refused.status == .forbidden && refused.code == "model_locked", "\(body)")
                #expect(refused.json["priceCents"] != nil)
            }
            let after = try await client.call(.get, "/api/profile/model-preferences", token: token)
            #expect(after.json["defaultModelId"] == .string("claude-3-5-haiku"))
            #expect(after.json["personaOverrides"] == .object(["fitness": .string("llama-3.1-8b")]))
            // Trial messages are still spent by choosing the model for a message.
            let preview = try await client.call(.post, "/api/selection/preview", token: token, json: #"{"personaId": "career", "modelId": "gpt-4o"}"#)
            #expect(preview.json["outcome"] == .string("allowed") && preview.json["isTrialMessage"] == .bool(true))

            // An admin grant unlocks it as a default.
            let granted = try await client.call(.post, "/api/admin/models/gpt-4o/grants", token: admin, json: #"{"user": "\#(testUser(7))", "source": "admin_grant"}"#)
            #expect(granted.status == .created, "\(granted.json)")
            #expect(try await client.call(.patch, "/api/profile/model-preferences", token: token, json: #"{"defaultModelId": "gpt-4o"}"#).status == .ok)

            // A purchase unlocks it as a coach's model.
            let checkout = try await client.call(.post, "/api/models/claude-3-opus/checkout", token: token)
            let session = try #require(checkout.json["sessionId"]?.stringValue)
            let paid = StripeEvents.session("checkout.session.completed", id: "evt_\(session)", session: session, user: testUser(7), model: "claude-3-opus", amount: 499)
            #expect(try await client.deliver(paid, signature: app.sign(paid)).json["outcome"] == .string("granted"))
            let saved = try await client.call(.patch, "/api/profile/model-preferences", token: token,
                                              json: #"{"personaOverrides": {"career": "claude-3-opus"}}"#)
            #expect(saved.status == .ok)
            #expect(saved.json["defaultModelId"] == .string("gpt-4o"))
            #expect(saved.json["personaOverrides"] == .object(["fitness": .string("llama-3.1-8b"), "career": .string("claude-3-opus")]))
        }
    }

    @Test func preferencesMergePerPersonaAndNullClears() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(3))
            _ = try await client.call(.patch, "/api/profile/model-preferences", token: token,
                                      json: #"{"personaOverrides": {"fitness": "llama-3.1-8b", "career": "claude-3-5-haiku"}}"#)
            let merged = try await client.call(.patch, "/api/profile/model-preferences", token: token,
                                               json: #"{"defaultModelId": "claude-3-5-haiku", "personaOverrides": {"fitness": null}}"#)
            #expect(merged.json["personaOverrides"] == .object(["career": .string("claude-3-5-haiku")]))
            #expect(merged.json["defaultModelId"] == .string("claude-3-5-haiku"))
            let cleared = try await client.call(.patch, "/api/profile/model-preferences", token: token, json: #"{"defaultModelId": null}"#)
            #expect(cleared.json["defaultModelId"] == .null)
            #expect(cleared.json["personaOverrides"] == .object(["career": .string("claude-3-5-haiku")]))
        }
    }

    @Test func invalidPreferencesAreRefusedWithTheirCode() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(4))
            let unknownModel = try await client.call(.patch, "/api/profile/model-preferences", token: token, json: #"{"defaultModelId": "gpt-9"}"#)
            #expect(unknownModel.status == .unprocessableContent && unknownModel.code == "model_unavailable")
            let unknownPersona = try await client.call(.patch, "/api/profile/model-preferences", token: token,
                                                       json: #"{"defaultModelId": "claude-3-5-haiku", "personaOverrides": {"astrology": "gpt-4o-mini"}}"#)
            #expect(unknownPersona.status == .unprocessableContent && unknownPersona.code == "unknown_persona")
            let after = try await client.call(.get, "/api/profile/model-preferences", token: token)
            #expect(after.json["defaultModelId"] == .null)
        }
    }

    @Test func personasShowTheModelEachResolvesToAndWhy() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(5))
            _ = try await client.call(.patch, "/api/profile/model-preferences", token: token,
                                      json: #"{"defaultModelId": "claude-3-5-haiku", "personaOverrides": {"fitness": "llama-3.1-8b"}}"#)
            try await app.sql("UPDATE ai_models SET enabled = FALSE WHERE id = 'llama-3.1-8b'")
            let personas = try await client.call(.get, "/api/personas", token: token).json.array
            let fitness = try #require(personas.first { $0["id"] == .string("fitness") })
            #expect(fitness["modelId"] == .string("claude-3-5-haiku") && fitness["source"] == .string("fallback"))
            #expect(fitness["skipped"]?[0]?["why"] == .string("disabled"))
            let career = try #require(personas.first { $0["id"] == .string("career") })
            #expect(career["modelId"] == .string("claude-3-5-haiku") && career["source"] == .string("default"))
        }
    }

    @Test func previewNeverConsumes() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(6))
            for _ in 0..<3 {
                let preview = try await client.call(.post, "/api/selection/preview", token: token, json: #"{"personaId": "career", "modelId": "gpt-4o"}"#)
                #expect(preview.json["outcome"] == .string("allowed"))
                #expect(preview.json["isTrialMessage"] == .bool(true))
                #expect(preview.json["trialMessagesRemaining"]?.int == 2)
                #expect(preview.json["reason"] == .string("explicit"))
            }
            let trial = try await client.call(.get, "/api/models/gpt-4o/trial-status", token: token)
            #expect(trial.json["trialMessagesUsed"]?.int == 0 && trial.json["trialMessagesRemaining"]?.int == 2)
            let unknown = try await client.call(.post, "/api/selection/preview", token: token, json: #"{"personaId": "astrology"}"#)
            #expect(unknown.code == "unknown_persona")
        }
    }

    @Test func userAcanNeitherReadNorChangeUserB() async throws {
        try await TestApp.run { app, client in
            let alice = try await app.token(testUser(10))
            let bob = try await app.token(testUser(11))
            _ = try await client.call(.patch, "/api/profile/model-preferences", token: bob, json: #"{"defaultModelId": "llama-3.1-8b"}"#)
            let admission = try await app.admit(testUser(11), explicit: "gpt-4o")
            #expect(admission.payment == .trial)
            // Alice's view never shows Bob's choices, usage or trials, whatever she asks for.
            let prefs = try await client.call(.get, "/api/profile/model-preferences?userId=\(testUser(11))", token: alice)
            #expect(prefs.json["defaultModelId"] == .null)
            let models = try await client.call(.get, "/api/models", token: alice)
            #expect(models.json["data"]?["premium"]?[0]?["usageToday"]?["used"]?.int == 0)
            #expect(models.json["data"]?["premium"]?[0]?["trialMessagesRemaining"]?.int == 2)
            let trial = try await client.call(.get, "/api/models/gpt-4o/trial-status", token: alice)
            #expect(trial.json["trialMessagesUsed"]?.int == 0)
            // A body naming Bob changes only Alice.
            _ = try await client.call(.patch, "/api/profile/model-preferences", token: alice,
                                      json: #"{"userId": "\#(testUser(11))", "defaultModelId": "claude-3-5-haiku"}"#)
            let bobAfter = try await client.call(.get, "/api/profile/model-preferences", token: bob)
            #expect(bobAfter.json["defaultModelId"] == .string("llama-3.1-8b"))
            let bobModels = try await client.call(.get, "/api/models", token: bob)
            #expect(bobModels.json["data"]?["premium"]?[0]?["trialMessagesRemaining"]?.int == 1)
        }
    }
}
