import Foundation
import HummingbirdTesting
import ModelgateBilling
import ModelgateCore
import ModelgateServer
import ModelgateTestSupport
import Testing

/// The official Python SDKs, in the venv `scripts/test` makes, against our fakes and against Modelgate.
enum PythonSDK {
    static var python: String? { ProcessInfo.processInfo.environment["MODELGATE_TEST_PYTHON"] }
    static var available: Bool { python != nil }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs a script of the repository (the SDK checks by default) without blocking a cooperative
    /// thread (the server under test needs them); returns its exit code and output.
    static func run(_ arguments: [String], script: String = "scripts/sdk_checks.py") async throws -> (status: Int32, output: String) {
        try await runProgram(python!, [repository.appendingPathComponent(script).path] + arguments)
    }
}

@Suite(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"))
struct SDKCheckTests {
    @Test func theOfficialSDKsParseTheFakeProviders() async throws {
        let fake = try await FakeProviderServer.start()
        let result = try await PythonSDK.run(["fakes", fake.baseURL])
        await fake.stop()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ok gemini 429"))
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

@Suite(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"))
struct StripeSDKCheckTests {
    @Test func theStripeSDKTalksToTheFake() async throws {
        let stripe = try await FakeStripeServer.start()
        let result = try await PythonSDK.run(["stripe-fake", stripe.baseURL])
        await stripe.stop()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ok stripe 404 → InvalidRequestError"))
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

@Suite(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"))
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
