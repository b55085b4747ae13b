import Foundation
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
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct MetricsTests {
    /// The analytics scenario plus a forged webhook and a fallback, then `GET /metrics`.
    static func scenarioMetrics(_ app: TestApp, _ client: any TestClientProtocol) async throws -> String {
        _ = try await AnalyticsScenario.run(app, client, user: testUser(96))
        let forged = StripeEvents.session("checkout.session.completed", id: "evt_forged", session: "cs_x", user: testUser(96), model: "gpt-4o")
        #expect(try await client.deliver(forged, signature: "t=1,v1=00").status != .ok)
        let other = try await app.token(testUser(97))
        _ = try await client.call(.patch, "/api/profile/model-preferences", token: other, json: #"{"defaultModelId": "llama-3.1-8b"}"#)
        try await app.sql("UPDATE ai_models SET enabled = false WHERE id = 'llama-3.1-8b'")
        #expect(try await client.chat(#"{"message": "Hi", "personaId": "career"}"#, token: other).status == .ok)
        let preview = try await client.call(.post, "/api/selection/preview", token: other, json: #"{"personaId": "career", "modelId": "claude-3-opus"}"#)
        #expect(preview.status == .ok)
        try await app.sender("http://127.0.0.1:9").purge()
        let reply = try await client.call(.get, "/metrics", token: nil)
        #expect(reply.status == .ok && reply.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
        return reply.json.stringValue ?? ""
    }

    @Test func afterTheScenarioEachFamilyShowsWhatItCaused() async throws {
        try await withFakeStripe { _, app, client in
            let text = try await Self.scenarioMetrics(app, client)
            let values = series(text)
            let expected: [String: Double] = [
                #"modelgate_http_requests_total{method="POST",route="/api/chat",status="200"}"#: 4,
                #"modelgate_http_requests_total{method="POST",route="/api/chat",status="429"}"#: 1,
                #"modelgate_http_requests_total{method="POST",route="/api/models/{id}/checkout",status="200"}"#: 1,
                #"modelgate_quota_outcomes_total{model="gpt-4o",outcome="trial"}"#: 2,
                #"modelgate_quota_outcomes_total{model="gpt-4o",outcome="trial_exhausted"}"#: 1,
                #"modelgate_quota_outcomes_total{model="gpt-4o-mini",outcome="rate_limited"}"#: 1,
                #"modelgate_quota_outcomes_total{model="gpt-4o-mini",outcome="allowed"}"#: 2,
                #"modelgate_quota_outcomes_total{model="claude-3-opus",outcome="locked"}"#: 0,
                #"modelgate_webhook_events_total{outcome="granted"}"#: 1,
                #"modelgate_webhook_events_total{outcome="bad_signature"}"#: 1,
                #"modelgate_webhook_events_total{outcome="refunded"}"#: 0,
                #"modelgate_entitlement_bypass_attempts_total{model="gpt-4o",path="api_chat"}"#: 1,
                #"modelgate_selection_fallbacks_total{reason="disabled",to="system_default"}"#: 1,
                #"modelgate_trial_tracking_failures_total{model="gpt-4o"}"#: 0,
                #"modelgate_entitlement_bypass_attempts_total{model="claude-3-opus",path="v1"}"#: 0,
                #"modelgate_provider_errors_total{provider="anthropic",code="unavailable"}"#: 0,
                #"modelgate_selection_fallbacks_total{reason="missing",to="system_default"}"#: 0,
                #"modelgate_provider_requests_total{provider="openai"}"#: 4,
                #"modelgate_provider_time_to_first_token_seconds_count{provider="openai"}"#: 4,
                #"modelgate_provider_duration_seconds_count{provider="openai"}"#: 4,
                // 17 written as messages were charged and refused, and one `model_message_completed` per answered message.
                "modelgate_analytics_outbox_depth": 21,
                "modelgate_analytics_delivery_failures_total": 0,
            ]
            for (name, value) in expected { #expect(values[name] == value, "\(name)") }
            #expect(values["modelgate_selection_duration_seconds_count"].map { $0 >= 7 } == true)
            #expect(values[#"modelgate_selection_duration_seconds_bucket{le="0.05"}"#] != nil)
            #expect(values[#"modelgate_http_request_duration_seconds_bucket{method="POST",route="/api/chat",le="0.2"}"#] != nil)
            #expect(values["modelgate_database_connections_max"].map { $0 >= 2 } == true)
            #expect(values["modelgate_database_connections_in_use"] != nil)
            #expect(!text.contains("00000000-0000-4000"), "no user or raw path in a label")
        }
    }

    @Test(.enabled(if: Promtool.available, "needs promtool (scripts/check_ops installs it)"))
    func promtoolAcceptsTheOutput() async throws {
        try await withFakeStripe { _, app, client in
            let text = try await Self.scenarioMetrics(app, client)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).txt")
            try text.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let script = PythonSDK.repository.appendingPathComponent("scripts/check_ops").path
            let result = try await runProgram("/bin/bash", [script, file.path])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("accepted by promtool"))
        }
    }

    @Test func aMetricsTokenIsRequiredWhenConfigured() async throws {
        try await TestApp.run { app, _ in
            var configuration = app.configuration
            configuration.metricsToken = "scrape-secret"
            let application = buildApplication(configuration: configuration, dependencies: app.dependencies, services: app.services, tokens: app.tokens)
            try await application.test(.router) { client in
                let refused = try await client.call(.get, "/metrics", token: nil)
                #expect(refused.status == .unauthorized && refused.code == "unauthenticated")
                #expect(refused.headers[.contentType] == "application/problem+json")
                #expect(try await client.call(.get, "/metrics", token: "wrong").status == .unauthorized)
                #expect(try await client.call(.get, "/metrics", token: "scrape-secret").status == .ok)
            }
        }
    }
}
