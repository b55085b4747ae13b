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

/// A test app whose providers are `fake` and whose payments go to a fake Stripe, products synced.
public func withFakeProvidersAndStripe(
    _ body: @escaping @Sendable (FakeProviderServer, TestApp, any TestClientProtocol) async throws -> Void
) async throws {
    let fake = try await FakeProviderServer.start()
    let stripe = try await FakeStripeServer.start()
    do {
        try await TestApp.run(providers: TestApp.providers(fake: fake), billing: TestApp.billing(stripe: stripe)) { app, client in
            _ = try await StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock).run(dryRun: false)
            try await app.services.cache.refresh()
            try await body(fake, app, client)
        }
    } catch {
        await fake.stop()
        await stripe.stop()
        throw error
    }
    await fake.stop()
    await stripe.stop()
}
