import Foundation
import Hummingbird
import HummingbirdTesting
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
import SQLKit
import Testing

extension TestClientProtocol {
    public func deliver(_ payload: String, signature: String?) async throws -> Reply {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let signature { headers[.init("Stripe-Signature")!] = signature }
        return try await execute(uri: "/api/purchases/webhook", method: .post, headers: headers, body: ByteBuffer(string: payload)) { response in
            Reply(status: response.status, headers: response.headers,
                  json: (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body))) ?? .null)
        }
    }
}

extension TestApp {
    public func sign(_ payload: String, secret: WebhookSecret = TestApp.webhookSecret, age: TimeInterval = 0) -> String {
        WebhookSignature.header(payload: Data(payload.utf8), secret: secret, timestamp: Int(clock.now().timeIntervalSince1970 - age))
    }

    public func count(_ table: String) async throws -> Int {
        try await database.read { try await $0.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()?.decode(column: "n", as: Int.self) ?? -1 }
    }

    public func purchased(_ model: String, token: String, client: any TestClientProtocol) async throws -> Bool? {
        let models = try await client.call(.get, "/api/models", token: token)
        return models.json["data"]?["premium"]?.array.first { $0["id"] == .string(model) }?["purchased"]?.bool
    }
}

public func withFakeStripe(
    limits: UserLimits = .off, _ body: @escaping @Sendable (FakeStripeServer, TestApp, any TestClientProtocol) async throws -> Void
) async throws {
    let stripe = try await FakeStripeServer.start()
    do {
        try await TestApp.run(providers: TestApp.providers(fake: nil, demo: true), billing: TestApp.billing(stripe: stripe), limits: limits) { app, client in
            _ = try await StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock).run(dryRun: false)
            try await app.services.cache.refresh()
            try await body(stripe, app, client)
        }
    } catch {
        await stripe.stop()
        throw error
    }
    await stripe.stop()
}
