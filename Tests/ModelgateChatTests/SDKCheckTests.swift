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

@Suite(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"), .timeLimit(.minutes(5)))
struct SDKCheckTests {
    @Test func theOfficialSDKsParseTheFakeProviders() async throws {
        let fake = try await FakeProviderServer.start()
        let result = try await PythonSDK.run(["fakes", fake.baseURL])
        await fake.stop()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ok gemini 429"))
    }

    @Test func theAnthropicSDKParsesTheFakesThinkingCacheCountsAndTokenCount() async throws {
        let fake = try await FakeProviderServer.start()
        let result = try await PythonSDK.run(["fake", fake.baseURL], script: "scripts/messages_extras_checks.py")
        await fake.stop()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ok fake count_tokens"), "\(result.output)")
    }

    @Test func theOpenAISDKTalksToModelgate() async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake), test: .live) { app, client in
                try await app.sql("UPDATE ai_models SET rate_limit_messages_per_day = 2 WHERE id = 'gpt-4o-mini'")
                let token = try await app.token(testUser(60))
                let port = try #require(client.port)
                let result = try await PythonSDK.run(["modelgate", "http://127.0.0.1:\(port)/v1", token])
                #expect(result.status == 0, "\(result.output)")
                #expect(result.output.contains("ok modelgate 429 → RateLimitError"))
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }
}

/// The official `openai` SDK against Modelgate, through each wire format's fake provider.
@Suite(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"), .timeLimit(.minutes(5)))
struct OpenAISDKFeatureTests {
    static func withLiveModelgate(_ body: @escaping @Sendable (TestApp, any TestClientProtocol, String, String) async throws -> Void) async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake), test: .live) { app, client in
                let token = try await app.token(testUser(62))
                _ = try await client.call(.get, "/api/me", token: token)
                let port = try #require(client.port)
                try await body(app, client, "http://127.0.0.1:\(port)/v1", token)
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    @Test(arguments: CompletionTranslationTests.models)
    func toolsStructuredOutputImagesAndSamplingWorkThrough(model: String) async throws {
        try await Self.withLiveModelgate { app, _, base, token in
            try await app.grant("gemini-pro-1.5", to: testUser(62))
            let result = try await PythonSDK.run(["modelgate-features", base, token, model])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("ok \(model) n=2 refused by name"), "\(result.output)")
        }
    }

    /// langchain-openai (`bind_tools`, `with_structured_output`, stream) and the `llm` CLI (an extra
    /// OpenAI-compatible model, a prompt, `--schema`), unchanged.
    @Test(arguments: ["langchain", "llm"], ["gpt-4o-mini", "claude-3-5-haiku"])
    func otherClientsWorkUnchanged(client: String, model: String) async throws {
        try await Self.withLiveModelgate { _, _, base, token in
            let result = try await PythonSDK.run([client, base, token, model], script: "scripts/client_checks.py")
            #expect(result.status == 0, "\(result.output)")
            let last = client == "llm" ? "ok llm \(model) --schema" : "ok langchain \(model) stream"
            #expect(result.output.contains(last), "\(result.output)")
            print(result.output)
        }
    }

    /// The integration guide's three recipes, and one service key keeping alice's and bob's quotas,
    /// trials and histories apart, with the official SDK (120 concurrent messages for alice).
    @Test func theIntegrationRecipesWorkAndEndUsersStayApart() async throws {
        try await Self.withLiveModelgate { app, live, base, _ in
            let origin = String(base.dropLast("/v1".count))
            let service = try await app.createKey(live, #"{"name": "backend", "kind": "service", "app": "coach-app"}"#)
            let webui = try await app.createKey(live, #"{"name": "open-webui", "kind": "service", "app": "webui", "forwardedUserHeaders": true}"#)
            let script = try await app.createKey(live, #"{"name": "script", "kind": "user", "user": "\#(testUser(62))"}"#)
            // Alice bought GPT-4o (an admin grant here); Bob did not.
            let keyID = try #require(service.split(separator: "_").dropFirst(2).first.map(String.init))
            let appID = try #require(try await ApiKeyRepository(database: app.database).find(keyID)).appID
            let alice = try await ApiKeyRepository(database: app.database).endUser(app: appID, externalID: "alice", newUser: UserID(UUID()), at: app.clock.now())
            try await app.grant("gpt-4o", to: alice)
            let recipes = try await PythonSDK.run(["recipes", origin, service, webui, script], script: "scripts/integration_recipes.py")
            #expect(recipes.status == 0, "\(recipes.output)")
            let users = try await PythonSDK.run(["end-users", origin, service], script: "scripts/integration_recipes.py")
            #expect(users.status == 0, "\(users.output)")
            #expect(users.output.contains("ok bob sees only their own history"), "\(users.output)")
        }
    }

    /// With the SDK's default two retries, a daily-limit refusal reaches Modelgate once.
    @Test func aDailyLimitIsAskedOnceAndRecordedOnce() async throws {
        try await Self.withLiveModelgate { app, _, base, token in
            try await app.sql("UPDATE ai_models SET rate_limit_messages_per_day = 0 WHERE id = 'gpt-4o-mini'")
            let result = try await PythonSDK.run(["modelgate-limited", base, token, "gpt-4o-mini"])
            #expect(result.status == 0, "\(result.output)")
            let metrics = series(app.metrics.exposition())
            #expect(metrics[#"modelgate_http_requests_total{method="POST",route="/v1/chat/completions",status="429"}"#] == 1)
            let events = try await OutboxRepository(database: app.database).recent(limit: 10).map(\.event)
            #expect(events.filter { $0 == "model_rate_limit_hit" }.count == 1, "\(events)")
        }
    }
}

@Suite(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"), .timeLimit(.minutes(5)))
struct StripeSDKCheckTests {
    @Test func theStripeSDKTalksToTheFake() async throws {
        let stripe = try await FakeStripeServer.start()
        let result = try await PythonSDK.run(["stripe-fake", stripe.baseURL])
        await stripe.stop()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ok stripe 404 → InvalidRequestError"))
    }

    /// Plans on the fake with the SDK (recurring and metered prices, subscription checkout paid on the
    /// hosted page, the subscription, the portal, meter events); then the events the fake builds for
    /// that subscription and for one it completes itself, signed by us and read with the SDK.
    @Test func theStripeSDKReadsTheFakesSubscriptionsPortalMetersAndEvents() async throws {
        let stripe = try await FakeStripeServer.start()
        let billing = try await PythonSDK.run(["stripe-fake-billing", stripe.baseURL])
        let ids = billing.output.split(separator: "\n").first { $0.hasPrefix("ids ") }?.split(separator: " ").dropFirst().map(String.init) ?? []
        let events = ids.count == 3 ? Self.events(stripe, subscription: ids[0], completing: ids[2]) : []
        await stripe.stop()
        #expect(billing.status == 0, "\(billing.output)")
        try #require(ids.count == 3, "\(billing.output)")

        let now = Int(Date().timeIntervalSince1970)
        let signed = events.map { ["payload": $0, "header": WebhookSignature.header(payload: Data($0.utf8), secret: WebhookSecret("whsec_test_secret"), timestamp: now)] }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: signed).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let checked = try await PythonSDK.run(["stripe-events", file.path, "whsec_test_secret", ids[0], ids[1]])
        #expect(checked.status == 0, "\(checked.output)")
        #expect(checked.output.contains("""
            types checkout.session.completed customer.subscription.created customer.subscription.updated invoice.paid \
            invoice.payment_failed customer.subscription.deleted checkout.session.completed charge.refunded charge.dispute.created
            """), "\(checked.output)")
    }

    /// Every kind of event the fake makes: a subscription checkout completed, a scheduled cancellation,
    /// a renewal paid and one failed, the end; a credit pack paid, refunded, disputed.
    private static func events(_ stripe: FakeStripeServer, subscription: String, completing session: String) -> [String] {
        let now = Int(Date().timeIntervalSince1970)
        var events = stripe.completeCheckout(session)
        stripe.update(subscription, .init(cancelAtPeriodEnd: true))
        events.append(stripe.subscriptionEvent("customer.subscription.updated", subscription, eventID: "evt_sdk_updated", created: now))
        events.append(stripe.invoiceEvent("invoice.paid", subscription, invoice: "in_sdk_1", amount: 1900, created: now))
        events.append(stripe.invoiceEvent("invoice.payment_failed", subscription, invoice: "in_sdk_2", amount: 1900, created: now))
        stripe.update(subscription, .init(status: "canceled"))
        events.append(stripe.subscriptionEvent("customer.subscription.deleted", subscription, eventID: "evt_sdk_deleted", created: now))
        return events + [StripeEvents.session("checkout.session.completed", id: "evt_sdk_pack", session: "cs_sdk_pack", user: "user_42", model: "m"),
                         StripeEvents.refund(id: "evt_sdk_refund"), StripeEvents.dispute("charge.dispute.created", id: "evt_sdk_dispute")]
    }

    /// What our Stripe client posts (nested names, non-ASCII, `&`, spaces) decodes to exactly the
    /// pairs the official SDK makes of the same nested parameters.
    @Test func ourFormEncodingIsTheSDKs() async throws {
        let stripe = try await FakeStripeServer.start()
        let client = StripeClient(http: .shared, baseURL: stripe.baseURL, key: StripeSecretKey("sk_test_123"))
        let model = "café-model"
        _ = try await client.createProduct(name: "Claude 3 Opus — café & co + 100%", modelID: model, idempotencyKey: "k1")
        _ = try await client.createCheckoutSession(
            price: "price_1", userID: "user é", modelID: model, successURL: "http://127.0.0.1:8080/settings?checkout=success&x=ü y",
            cancelURL: "http://127.0.0.1:8080/settings?checkout=cancelled", idempotencyKey: "k2")
        await stripe.stop()
        let cases: [(path: String, params: String)] = [
            ("/v1/products", #"{"name": "Claude 3 Opus — café & co + 100%", "metadata": {"model_id": "café-model"}}"#),
            ("/v1/checkout/sessions", #"""
                {"mode": "payment", "line_items": [{"price": "price_1", "quantity": 1}],
                 "success_url": "http://127.0.0.1:8080/settings?checkout=success&x=ü y",
                 "cancel_url": "http://127.0.0.1:8080/settings?checkout=cancelled", "client_reference_id": "user é",
                 "metadata": {"model_id": "café-model", "user_id": "user é"}}
                """#),
        ]
        for (path, params) in cases {
            let body = try #require(stripe.lastBody(path: path))
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stripe-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try body.write(to: folder.appendingPathComponent("body"), atomically: true, encoding: .utf8)
            try params.write(to: folder.appendingPathComponent("params.json"), atomically: true, encoding: .utf8)
            let result = try await PythonSDK.run(["stripe-encoding", folder.appendingPathComponent("body").path, folder.appendingPathComponent("params.json").path])
            #expect(result.status == 0, "\(path): \(result.output)")
            #expect(!body.contains("é"), "non-ASCII is percent-encoded: \(body)")
        }
    }

    @Test func signaturesFromTheSDKVerifyHereAndOursVerifyThere() async throws {
        let payload = StripeEvents.refund(id: "evt_sdk")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("event-\(UUID().uuidString).json")
        try payload.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let now = Date()
        let signed = try await PythonSDK.run(["stripe-sign", file.path, "whsec_test_secret", String(Int(now.timeIntervalSince1970))])
        #expect(signed.status == 0, "\(signed.output)")
        let header = signed.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(throws: Never.self) {
            try WebhookSignature.verify(payload: Data(payload.utf8), header: header, secret: WebhookSecret("whsec_test_secret"), now: now)
        }
        let ours = WebhookSignature.header(payload: Data(payload.utf8), secret: WebhookSecret("whsec_test_secret"), timestamp: Int(now.timeIntervalSince1970))
        let verified = try await PythonSDK.run(["stripe-verify", file.path, ours, "whsec_test_secret"])
        #expect(verified.status == 0, "\(verified.output)")
    }
}

@Suite(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"), .timeLimit(.minutes(5)))
struct PostHogSDKCheckTests {
    @Test func theFakeAcceptsAndParsesThePostHogSDKsExactPayload() async throws {
        try await withFakePostHog { posthog in
            let result = try await PythonSDK.run(["posthog-fake", posthog.baseURL])
            #expect(result.status == 0, "\(result.output)")
            let uuids = result.output.split(separator: "\n").first { $0.hasPrefix("uuids ") }?.split(separator: " ").dropFirst().map(String.init)
            #expect(posthog.rejected.isEmpty)
            #expect(posthog.events.map(\.event) == ["model_selected", "model_message_sent"])
            #expect(posthog.events.map(\.uuid) == uuids)
            let selected = try #require(posthog.events.first)
            #expect(selected.distinctID == "user_42" && posthog.apiKeys == ["phc_testkey"])
            #expect(ours(selected.properties) == ["modelId": "claude-3-opus", "personaId": "fitness", "isDefault": false, "isOverride": true])
            #expect(selected.properties["$lib"] == .string("posthog-python"))
            posthog.setDown(true)
            let down = try await PythonSDK.run(["posthog-fake-down", posthog.baseURL])
            #expect(down.status == 0, "\(down.output)")
            #expect(posthog.refusedWhileDown == 1 && posthog.events.count == 2)
        }
    }
}
