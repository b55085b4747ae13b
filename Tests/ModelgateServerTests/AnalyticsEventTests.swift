import Foundation
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
@testable import ModelgateCLI
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import SQLKit
import Testing

@Suite(.timeLimit(.minutes(5))) struct AnalyticsEventTests {
    @Test func eachUserFacingEventIsWrittenWithTheChangeItDescribes() async throws {
        try await withFakeStripe { _, app, client in
            let user = testUser(90)
            let expected = try await AnalyticsScenario.run(app, client, user: user)
            let rows = try await OutboxRepository(database: app.database).recent(limit: 100)
            #expect(rows.map(\.event) == expected.map(\.event))
            for (row, want) in zip(rows, expected) {
                #expect(row.properties == want.properties, "\(row.event)")
                #expect(row.distinctID == user.description && row.deliveredAt == nil && row.createdAt == app.clock.now())
            }
            #expect(Set(rows.map(\.id)).count == rows.count)
            let line = AnalyticsTailCommand.line(rows[0])
            #expect(line.contains("model_preference_saved  \(user)  {\"defaultModelId\":\"gpt-4o-mini\",\"hasOverrides\":true}  pending"))
        }
    }

    @Test func theCatalogSpellsEveryEventOfTheDocs() throws {
        let docs = try String(contentsOf: PythonSDK.repository.appendingPathComponent("docs/analytics.md"), encoding: .utf8)
        for name in AnalyticsEvent.Name.allCases { #expect(docs.contains("| `\(name.rawValue)` |"), "\(name.rawValue)") }
        #expect(AnalyticsEvent.Name.allCases.count == 23)
        let granted = AnalyticsEvent.adminModelAccessGranted(model: "gpt-4o", user: testUser(1), source: .adminGrant)
        #expect(granted.properties == ["modelId": "gpt-4o", "userId": .string(testUser(1).description), "source": "admin_grant"])
        #expect(AnalyticsEvent.adminModelCreated(model: "m", tier: .free, priceCents: nil).properties == ["modelId": "m", "tier": "free", "priceCents": .null])
    }

    @Test func aChangeThatFailsLeavesNoEvent() async throws {
        try await TestApp.run { app, _ in
            let user = testUser(91)
            _ = try await app.services.profiles.findOrCreate(user, email: "u91@example.com", at: app.clock.now())
            let outbox = AnalyticsOutbox(makeID: { UUID() })
            // An override naming a model that does not exist fails on its foreign key: nothing is written.
            let change = PreferencesChange(personaOverrides: ["fitness": "no-such-model"])
            await #expect {
                try await app.services.profiles.apply(change, to: user, at: app.clock.now(), outbox: outbox)
            } throws: { ConstraintViolation($0) == .foreignKey }
            // A trial message whose daily unit is gone takes neither unit, and writes no event.
            let ledger = QuotaLedger(database: app.database)
            let charge = QuotaCharge(user: user, model: "gpt-4o", day: "2026-11-25", dailyLimit: 1, trialLimit: 2)
            let choice = try ModelSelection.select(catalog: app.services.cache.catalog, preferences: ModelPreferences(), persona: nil, explicit: "gpt-4o")
            let message = AdmittedMessage(choice: choice, persona: nil, payment: .trial)
            let written = message.events(trialMessagesUsed: 1).count
            let events = ChargeEvents(outbox: outbox, at: app.clock.now(), of: message)
            guard case .consumed(let first) = try await ledger.consume(charge, events: events) else { Issue.record("not consumed"); return }
            #expect(written == 4 && first.eventIDs.count == written)
            #expect(try await ledger.consume(charge, events: events) == .dailyLimitReached)
            #expect(try await app.count("analytics_outbox") == written)
            #expect(try await ledger.trialsUsed(by: user)["gpt-4o"] == 1)
            // Giving a charge back withdraws its undelivered events.
            try await ledger.release(first)
            #expect(try await app.count("analytics_outbox") == 0)
        }
    }

    @Test func aChargeGivenBackAfterAProviderFailureWithdrawsItsEvents() async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(98))
            fake.script(.status(500), .status(500), .status(500))
            let failed = try await client.chat(#"{"message": "Hi", "personaId": "fitness", "modelId": "gpt-4o"}"#, token: token)
            #expect(failed.status == .serviceUnavailable && failed.problem?["code"] == .string("provider_unavailable"))
            #expect(try await app.count("analytics_outbox") == 0)
            #expect(try await app.database.read { try await $0.raw("SELECT COUNT(*) AS n FROM model_trials WHERE trial_messages_used > 0").first()?.decode(column: "n", as: Int.self) } == 0)
            let metrics = series(app.metrics.exposition())
            #expect(metrics[#"modelgate_provider_errors_total{provider="openai",code="unavailable"}"#] == 1)
            #expect(metrics[#"modelgate_quota_outcomes_total{model="gpt-4o",outcome="trial"}"#] == 1)
            #expect(metrics[#"modelgate_trial_tracking_failures_total{model="gpt-4o"}"#] == 0)
            // The retry after the outage is the user's first trial message that counted.
            let retried = try await client.chat(#"{"message": "Hi", "personaId": "fitness", "modelId": "gpt-4o"}"#, token: token)
            #expect(retried.status == .ok && retried.meta?["trialMessagesRemaining"] == 1)
            #expect(try await OutboxRepository(database: app.database).recent(limit: 10).map(\.event)
                == ["model_selected", "model_message_sent", "model_trial_started", "model_trial_message_used", "model_message_completed"])
        }
    }

    @Test func analyticsAndMetricsSettingsAreCheckedAtStart() throws {
        let configuration = try ServerConfiguration.fromEnvironment([
            "MODELGATE_POSTHOG_API_KEY": "phc_abc", "MODELGATE_POSTHOG_HOST": "https://eu.i.posthog.com/", "MODELGATE_METRICS_TOKEN": "t",
        ])
        #expect(configuration.analytics.apiKey?.rawValue == "phc_abc" && configuration.analytics.host == "https://eu.i.posthog.com")
        #expect(configuration.metricsToken == "t")
        let defaults = try ServerConfiguration.fromEnvironment([:])
        #expect(defaults.analytics.apiKey == nil && defaults.analytics.host == "https://us.i.posthog.com" && defaults.metricsToken == nil)
        #expect(throws: ConfigurationError(variable: "MODELGATE_POSTHOG_API_KEY", reason: "must be a project API key (phc_…)")) {
            try ServerConfiguration.fromEnvironment(["MODELGATE_POSTHOG_API_KEY": "sk_oops"])
        }
        #expect(throws: ConfigurationError(variable: "MODELGATE_POSTHOG_HOST", reason: "'ftp://x' is not an http(s) URL")) {
            try ServerConfiguration.fromEnvironment(["MODELGATE_POSTHOG_HOST": "ftp://x"])
        }
    }
}
