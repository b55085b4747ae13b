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
import SQLKit
import Testing

@Suite(.timeLimit(.minutes(5))) struct RollbackTests {
    let cli = Actor(command: "cli:rollback")

    @Test func disablePremiumDoesExactlyWhatItsDryRunPrinted() async throws {
        try await TestApp.run { app, _ in
            let rollback = Rollback(database: app.database)
            let planned = try await rollback.disablePremium(dryRun: true, by: cli, at: app.clock.now())
            #expect(try await CatalogRepository(database: app.database).snapshot().models.filter { $0.enabled }.count == Seed.models.count)
            let done = try await rollback.disablePremium(dryRun: false, by: cli, at: app.clock.now())
            #expect(planned == done && done.lines.count == 4 && done.lines[0] == "disable gpt-4o (GPT-4o)")
            let enabled = try await CatalogRepository(database: app.database).snapshot().models.filter(\.enabled).map(\.id)
            #expect(enabled == ["gpt-4o-mini", "claude-3-5-haiku", "llama-3.1-8b"] + Seed.embeddingModels.map(\.id), "the free ones stay")
            #expect(try await app.count("audit_log") == 4)
            #expect(try await rollback.disablePremium(dryRun: true, by: cli, at: app.clock.now()).lines.isEmpty)
        }
    }

    @Test func resetThenRestoreBringsBackEveryUsersChoices() async throws {
        try await TestApp.run { app, client in
            for (index, body) in [#"{"defaultModelId": "claude-3-5-haiku", "personaOverrides": {"fitness": "llama-3.1-8b"}}"#,
                                  #"{"personaOverrides": {"career": "gpt-4o", "nutrition": "claude-3-5-haiku"}}"#,
                                  #"{"defaultModelId": "gpt-4o"}"#].enumerated() {
                let token = try await app.token(testUser(600 + index))
                // A premium choice needs the model unlocked first.
                _ = try await client.call(.get, "/api/me", token: token)
                try await app.grant("gpt-4o", to: testUser(600 + index))
                #expect(try await client.call(.patch, "/api/profile/model-preferences", token: token, json: body).status == .ok)
            }
            _ = try await client.call(.get, "/api/me", token: try await app.token(testUser(603)))
            let before = try await app.allChoices()
            let rollback = Rollback(database: app.database)
            let planned = try await rollback.resetPreferences(to: "gpt-4o-mini", dryRun: true, by: cli, at: app.clock.now(), backupID: "b1")
            #expect(try await app.allChoices() == before)
            let reset = try await rollback.resetPreferences(to: "gpt-4o-mini", dryRun: false, by: cli, at: app.clock.now(), backupID: "b1")
            #expect(planned == reset)
            #expect(reset.lines == ["back up the choices of 4 users as backup b1", "set 4 defaults to gpt-4o-mini (2 had one)", "clear 3 coach overrides"])
            let afterReset = try await app.allChoices()
            #expect(afterReset.count == 4 && afterReset.allSatisfy { $0.hasSuffix("default gpt-4o-mini") })
            let preview = try await client.call(.post, "/api/selection/preview", token: try await app.token(testUser(601)), json: #"{"personaId": "career"}"#)
            #expect(preview.json["modelId"] == .string("gpt-4o-mini"))

            let plannedRestore = try await rollback.restorePreferences(backupID: nil, dryRun: true, by: cli, at: app.clock.now())
            #expect(try await app.allChoices() == afterReset)
            let restored = try await rollback.restorePreferences(backupID: nil, dryRun: false, by: cli, at: app.clock.now())
            #expect(plannedRestore == restored)
            #expect(try await app.allChoices() == before)
            #expect(try await app.auditActions(target: "b1") == ["rollback.preferences_reset", "rollback.preferences_restored"])
            await #expect(throws: ModelgateError.self) {
                try await rollback.resetPreferences(to: "nope", dryRun: false, by: cli, at: app.clock.now(), backupID: "b2")
            }
        }
    }

    @Test func stripeDeactivateStopsSellingAsItsDryRunSaid() async throws {
        try await withFakeStripe { stripe, app, client in
            #expect(stripe.activePriceCount == 4)
            let deactivation = StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock)
            let planned = try await deactivation.deactivate(dryRun: true, by: Actor(command: "cli:stripe"))
            #expect(stripe.activePriceCount == 4 && planned.lines.count == 4)
            let done = try await deactivation.deactivate(dryRun: false, by: Actor(command: "cli:stripe"))
            #expect(planned == done && stripe.activePriceCount == 0)
            try await app.services.cache.refresh()
            let checkout = try await client.call(.post, "/api/models/gpt-4o/checkout", token: try await app.token(testUser(610)))
            #expect(checkout.code == "payments_not_configured")
            #expect(try await app.auditActions(target: "gpt-4o") == ["stripe.deactivated"])
        }
    }

    @Test func refundsListsWhatWasRefundedSinceADay() async throws {
        try await TestApp.run { app, _ in
            try await StatisticsScenario().seed(app)
            let refunds = try await Rollback(database: app.database).refunds(since: app.clock.now().addingTimeInterval(-86_400))
            #expect(refunds.map(\.modelId) == ["gpt-4o"] && refunds[0].amountCents == 299)
            #expect(try await Rollback(database: app.database).refunds(since: app.clock.now().addingTimeInterval(86_400)).isEmpty)
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct FeatureFlagTests {
    @Test func withModelSelectionOffEveryoneGetsTheSystemDefaultAndNothingIsSold() async throws {
        var features = FeatureFlags()
        features.modelSelection = false
        try await TestApp.run(features: features) { app, client in
            let token = try await app.token(testUser(620))
            _ = try await client.call(.get, "/api/me", token: token)
            try await app.database.write { db in
                try await db.raw("UPDATE profiles SET default_model_id = 'claude-3-5-haiku' WHERE id = \(bind: testUser(620).description)").run()
            }
            let preview = try await client.call(.post, "/api/selection/preview", token: token, json: #"{"personaId": "career", "modelId": "gpt-4o"}"#)
            #expect(preview.json["modelId"] == .string("gpt-4o-mini"))
            // An embedding is still of the model asked for: another model's vectors would not compare.
            let vectors = try await client.call(.post, "/v1/embeddings", token: token, json: #"{"model": "text-embedding-3-large", "input": "Hi"}"#)
            #expect(vectors.status == .ok && vectors.json["model"] == .string("text-embedding-3-large"), "\(vectors.json)")
            let save = try await client.call(.patch, "/api/profile/model-preferences", token: token, json: #"{"defaultModelId": "llama-3.1-8b"}"#)
            #expect(save.status == .serviceUnavailable && save.code == "model_selection_disabled")
            #expect(try await client.call(.post, "/api/models/gpt-4o/checkout", token: token).code == "model_selection_disabled")
            let personas = try await client.call(.get, "/api/personas", token: token)
            #expect(personas.json.array.allSatisfy { $0["modelId"] == .string("gpt-4o-mini") })
            let page = try await client.page(.get, "/settings", cookie: try await app.session(testUser(620), client: client))
            #expect(page.html.contains("data-selection-off") && page.html.contains("<fieldset class=\"plain\" disabled>"))
            #expect(try await client.call(.get, "/api/profile/model-preferences", token: token).json["defaultModelId"] == .string("claude-3-5-haiku"))
        }
    }

    @Test func theFlagIsReadFromTheEnvironment() throws {
        #expect(try ServerConfiguration.fromEnvironment([:]).features.modelSelection)
        #expect(try !ServerConfiguration.fromEnvironment(["MODELGATE_FEATURE_MODEL_SELECTION": "off"]).features.modelSelection)
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.fromEnvironment(["MODELGATE_FEATURE_MODEL_SELECTION": "maybe"]) }
    }
}
