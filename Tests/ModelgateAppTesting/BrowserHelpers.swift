import AsyncHTTPClient
import Foundation
import Hummingbird
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

/// Headless Chromium (driven by Selenium from the venv `scripts/test` makes) against Modelgate on
/// a real loopback port, with the fake Stripe's hosted checkout delivering signed webhooks.
public enum Browser {
    /// On the SQLite run only: the pages are the same on both backends, and the PostgreSQL run
    /// covers the data paths.
    public static var available: Bool {
        TestDatabase.backend == .sqlite
            && (ExternalTools.required || (PythonSDK.python != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")))
    }

    public static var outputDirectory: String {
        ProcessInfo.processInfo.environment["MODELGATE_TEST_OUTPUT"]
            ?? PythonSDK.repository.appendingPathComponent("test-output").path
    }

    /// A loopback port nobody listens on, so the billing URLs can name it before the server starts.
    public static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    /// Runs Modelgate with a Stripe fake on a real port for `body`, then stops both.
    public static func withLiveApp(_ body: @escaping @Sendable (TestApp, String) async throws -> Void) async throws {
        let stripe = try await FakeStripeServer.start()
        let port = try await freePort()
        let base = "http://127.0.0.1:\(port)"
        var billing = TestApp.billing(stripe: stripe)
        billing.publicURL = base
        stripe.deliverWebhooks(to: base + "/api/purchases/webhook", secret: TestApp.webhookSecret)
        // Subscriptions paid on the hosted page start now, where the live app's clock is.
        stripe.setNow(Date())
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
    public static func run(_ script: String, scenario: [String: Any]) async throws -> (status: Int32, output: String) {
        let data = try JSONSerialization.data(withJSONObject: scenario)
        return try await PythonSDK.run([String(decoding: data, as: UTF8.self)], script: "scripts/e2e/\(script)")
    }
}
