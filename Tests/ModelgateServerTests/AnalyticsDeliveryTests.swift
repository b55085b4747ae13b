import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAnalytics
import ModelgateAppTesting
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

@Suite(.timeLimit(.minutes(5))) struct AnalyticsDeliveryTests {
    @Test func theScenarioDeliversEveryUserFacingEventWithItsProperties() async throws {
        try await withFakePostHog { posthog in
            try await withFakeStripe { _, app, client in
                let user = testUser(92)
                let expected = try await AnalyticsScenario.run(app, client, user: user)
                let sender = app.sender(posthog.baseURL, batchSize: 5)
                while case .delivered = await sender.deliverOnce() {}
                let events = posthog.events
                #expect(events.map(\.event) == expected.map(\.event))
                for (event, want) in zip(events, expected) {
                    #expect(ours(event.properties) == want.properties, "\(event.event)")
                    #expect(event.distinctID == user.description && event.timestamp == ISO8601.string(app.clock.now()))
                    #expect(event.properties["$lib"] == .string("modelgate"))
                }
                #expect(posthog.apiKeys == ["phc_testkey"] && posthog.duplicates == 0)
                #expect(try await app.outboxRows().allSatisfy { $0.deliveredAt != nil && $0.attempts == 1 })
                #expect(await sender.deliverOnce() == .idle)
            }
        }
    }

    @Test func withPostHogDownForAWhileEveryEventArrivesExactlyOnce() async throws {
        try await withFakePostHog { posthog in
            try await TestApp.run { app, client in
                let token = try await app.token(testUser(93))
                for n in 0..<7 {
                    _ = try await client.call(.patch, "/api/profile/model-preferences", token: token,
                                              json: n.isMultiple(of: 2) ? #"{"defaultModelId": "llama-3.1-8b"}"# : #"{"defaultModelId": null}"#)
                }
                posthog.setDown(true)
                // The loop, with sleeps recorded instead of waited: PostHog comes back after five failed batches.
                let sleeps = NIOLockedValueBox<[Duration]>([])
                let sender = app.sender(posthog.baseURL, batchSize: 3) { duration in
                    let failed = sleeps.withLockedValue { $0.append(duration); return $0.count }
                    if failed == 5 { posthog.setDown(false) }
                    await Task.yield()
                }
                let loop = Task { try await sender.run() }
                // Until the outbox is empty: the suite's time limit fails a loop that never delivers.
                while try await OutboxRepository(database: app.database).depth() > 0 {
                    try await Task.sleep(for: .milliseconds(5))
                }
                loop.cancel()
                _ = await loop.result
                #expect(posthog.refusedWhileDown == 5)
                #expect(posthog.events.count == 7 && posthog.duplicates == 0)
                #expect(Set(posthog.events.map(\.uuid)) == Set(try await app.outboxRows().map(\.id)))
                // Backoff doubles from 1 s with the jitter at its middle (0.75 of each step).
                #expect(Array(sleeps.withLockedValue { $0 }.prefix(5)) == [0.75, 1.5, 3, 6, 12].map { Duration.seconds($0) })
                let rows = try await app.outboxRows()
                #expect(rows.allSatisfy { $0.deliveredAt != nil && $0.lastError == nil })
                #expect(rows.prefix(3).allSatisfy { $0.attempts == 6 })
                let metrics = app.dependencies.metrics.exposition()
                #expect(metrics.contains("modelgate_analytics_delivery_failures_total 5"))
                #expect(metrics.contains("modelgate_analytics_events_delivered_total 7"))
            }
        }
    }

    @Test func aBatchSentAgainIsDeDuplicatedByUUID() async throws {
        try await withFakePostHog { posthog in
            try await TestApp.run { app, client in
                let token = try await app.token(testUser(94))
                _ = try await client.call(.patch, "/api/profile/model-preferences", token: token, json: #"{"defaultModelId": "llama-3.1-8b"}"#)
                let sender = app.sender(posthog.baseURL)
                #expect(await sender.deliverOnce() == .delivered(1))
                // An instance that died before marking the batch: the rows are pending again and go out once more.
                try await app.sql("UPDATE analytics_outbox SET delivered_at = NULL")
                #expect(await sender.deliverOnce() == .delivered(1))
                #expect(posthog.received.count == 2 && posthog.events.count == 1 && posthog.duplicates == 1)
            }
        }
    }

    @Test func retentionPurgesDeliveredRowsAfterAWeekAndDropsStaleOnesAfterAMonth() async throws {
        try await TestApp.run { app, _ in
            let outbox = AnalyticsOutbox(makeID: { UUID() })
            let start = app.clock.now()
            func write(ageDays: Double, delivered: Bool) async throws {
                let at = start - ageDays * 86_400
                try await app.database.write { db in
                    let ids = try await outbox.enqueue([.adminModelEnabled(model: "gpt-4o")], for: testUser(95), at: at, in: db)
                    if delivered { try await OutboxRepository.markDelivered(ids, at: at, in: db) }
                }
            }
            for (age, delivered) in [(8.0, true), (6.0, true), (31.0, false), (29.0, false), (0.0, false)] {
                try await write(ageDays: age, delivered: delivered)
            }
            try await app.sender("http://127.0.0.1:9").purge()
            let left = try await app.outboxRows().map { (Int((start.timeIntervalSince($0.createdAt) / 86_400).rounded()), $0.deliveredAt != nil) }
            #expect(left.map(\.0) == [29, 6, 0] && left.map(\.1) == [false, true, false])
            #expect(app.dependencies.metrics.exposition().contains("modelgate_analytics_outbox_depth 2"))
        }
    }

    @Test func backoffIsExponentialWithJitterAndCapped() {
        let backoff = Backoff()
        #expect(backoff.delay(afterFailures: 1, random: 0) == .milliseconds(500))
        #expect(backoff.delay(afterFailures: 1, random: 0.999_999) < .seconds(1))
        #expect(backoff.delay(afterFailures: 4, random: 0) == .seconds(4))
        #expect(backoff.delay(afterFailures: 50, random: 0.5) == .seconds(45))
    }

    @Test(.enabled(if: TestDatabase.backend == .postgres, "two instances need a shared PostgreSQL"))
    func twoInstancesOnOnePostgreSQLNeverSendTheSameRowTwice() async throws {
        try await withFakePostHog { posthog in
            try await TestApp.run { app, _ in
                let outbox = AnalyticsOutbox(makeID: { UUID() })
                try await app.database.write { db in
                    for n in 0..<60 {
                        try await outbox.enqueue([.modelMessageSent(model: "gpt-4o-mini", persona: nil, isTrialMessage: false)], for: testUser(n), at: app.clock.now(), in: db)
                    }
                }
                let second = try await Database.open(app.databaseURL, logger: TestDatabase.logger)
                let senders = [app.sender(posthog.baseURL, batchSize: 4), PostHogSender(
                    configuration: { var c = AnalyticsConfiguration(apiKey: PostHogAPIKey("phc_testkey"), host: posthog.baseURL); c.batchSize = 4; return c }(),
                    database: second, http: .shared, clock: app.clock, metrics: ModelgateMetrics(), logger: TestDatabase.logger)]
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for sender in senders { group.addTask { while await sender.deliverOnce() != .idle {} } }
                    try await group.waitForAll()
                }
                await second.shutdown()
                #expect(posthog.events.count == 60 && posthog.duplicates == 0)
            }
        }
    }
}
