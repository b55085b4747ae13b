import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAnalytics
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateMetrics
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOConcurrencyHelpers
import SQLKit
import Testing

extension TestApp {
    /// A sender to `posthog` on this app's database, clock and metrics; `sleep` stands in for waiting.
    public func sender(
        _ host: String, batchSize: Int = 100, sleep: @escaping @Sendable (Duration) async throws -> Void = { _ in await Task.yield() }
    ) -> PostHogSender {
        var configuration = AnalyticsConfiguration(apiKey: PostHogAPIKey("phc_testkey"), host: host)
        configuration.batchSize = batchSize
        return PostHogSender(
            configuration: configuration, database: database, http: .shared, clock: clock, metrics: dependencies.metrics,
            logger: TestDatabase.logger, sleep: sleep, random: { 0.5 })
    }

    public func outboxRows() async throws -> [OutboxRow] { try await OutboxRepository(database: database).recent(limit: 1000) }
}

/// Runs `body` with a fake PostHog, stopped afterwards whatever happens.
public func withFakePostHog(_ body: (FakePostHogServer) async throws -> Void) async throws {
    let posthog = try await FakePostHogServer.start()
    do { try await body(posthog) } catch {
        await posthog.stop()
        throw error
    }
    await posthog.stop()
}

/// Our own events, without the `$…` properties the sender adds.
public func ours(_ properties: [String: JSONValue]) -> JSONValue { .object(properties.filter { !$0.key.hasPrefix("$") }) }
