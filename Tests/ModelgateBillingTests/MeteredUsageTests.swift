import Foundation
import HummingbirdTesting
import Logging
import ModelgateAppTesting
import ModelgateBilling
import ModelgateCore
import ModelgateStore
import ModelgateTestSupport
import SQLKit
import Testing

/// A plan with a meter: each call it pays for reaches Stripe's meter exactly once, through the
/// outbox, whatever is lost or restarted on the way.
@Suite(.timeLimit(.minutes(5)))
struct MeteredUsageTests {
    static let user = testUser(750)

    @Test func everyCallAPlanPaysForIsOneMeterEventAtStripeAcrossLostAnswersAndARestart() async throws {
        try await withFakeStripe { stripe, app, client in
            try await app.sql("UPDATE ai_models SET trial_messages_allowed = 0 WHERE tier = 'premium'")
            let admin = try await app.adminToken()
            let plan = #"{"name": "Usage", "interval": "month", "priceCents": 900, "unlocksAllPremium": true, "meter": {"eventName": "modelgate_tokens", "value": "tokens", "priceId": "price_metered_1"}}"#
            #expect(try await client.call(.put, "/api/admin/plans/usage", token: admin, json: plan).status == .ok)
            let refused = #"{"name": "Bad", "interval": "month", "priceCents": 900, "unlocksAllPremium": true, "meter": {"eventName": "", "value": "tokens", "priceId": "x"}}"#
            let problem = try await client.call(.put, "/api/admin/plans/bad", token: admin, json: refused)
            #expect(problem.status == .unprocessableContent, "\(problem.json)")
            _ = try await StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock).run(dryRun: false)
            try await app.services.cache.refresh()
            stripe.setNow(app.clock.now())

            let token = try await app.token(Self.user)
            let checkout = try await client.call(.post, "/api/plans/usage/checkout", token: token)
            #expect(stripe.lastForm(path: "/v1/checkout/sessions")?["line_items[1][price]"] == "price_metered_1")
            #expect(stripe.lastForm(path: "/v1/checkout/sessions")?["line_items[1][quantity]"] == nil)
            for event in stripe.completeCheckout(try #require(checkout.json["sessionId"]?.stringValue)) {
                #expect(try await client.deliver(event, signature: app.sign(event)).status == .ok)
            }

            // One answer will be lost after Stripe took the event: it is sent again and counted once. It is
            // lost whichever sender sends first — this test's, or the app's own, which runs meanwhile as
            // another instance would (on a slow machine it may send them all before this test's does).
            stripe.loseMeterAnswers(1)
            // Ten calls paid by the plan, one on a free model (not metered).
            for model in Array(repeating: "gpt-4o", count: 10) + ["gpt-4o-mini"] {
                let reply = try await client.call(.post, "/api/chat", token: token, json: #"{"message": "Hi", "personaId": "career", "modelId": "\#(model)"}"#)
                #expect(reply.status == .ok)
            }
            #expect(try await app.count("meter_events") == 10)

            let logger = Logger(label: "test")
            let client = try #require(app.stripe)
            let first = MeterEventSender(stripe: client, database: app.database, clock: app.clock, metrics: app.dependencies.metrics, logger: logger, batchSize: 4)
            for _ in 0..<10 {
                guard try await first.depth() > 0 else { break }
                _ = await first.deliverOnce()
            }
            #expect(try await first.depth() == 0)

            // The instance dies after Stripe took an event but before it was marked, and Stripe has
            // forgotten the idempotency key: a new instance resends it and Stripe refuses the duplicate.
            try await app.sql("UPDATE meter_events SET delivered_at = NULL WHERE id = (SELECT MIN(id) FROM meter_events WHERE delivered_at IS NOT NULL)")
            stripe.forgetIdempotencyKeys()
            let restarted = [0, 1].map { _ in MeterEventSender(stripe: client, database: app.database, clock: app.clock, metrics: app.dependencies.metrics, logger: logger, batchSize: 4) }
            for _ in 0..<10 {
                async let one = restarted[0].deliverOnce()
                async let two = restarted[1].deliverOnce()
                if await (one, two) == (.idle, .idle), try await restarted[0].depth() == 0 { break }
            }

            let events = stripe.meterEvents
            let rows = try await app.database.read { db in
                try await db.raw("SELECT id, value, delivered_at FROM meter_events ORDER BY id").all().map {
                    (try $0.decode(column: "id", as: String.self), try $0.decode(column: "value", as: Int.self), try $0.decode(column: "delivered_at", as: Date?.self))
                }
            }
            #expect(events.count == 10 && Set(events.map(\.identifier)) == Set(rows.map(\.0)))
            #expect(rows.allSatisfy { $0.2 != nil })
            #expect(try await restarted[0].depth() == 0)
            let retried = try await app.database.read { try await $0.raw("SELECT MAX(attempts) AS n FROM meter_events").first()?.decode(column: "n", as: Int.self) }
            #expect((retried ?? 0) >= 2, "the lost answer's event was sent again")
            // Each call's tokens, for the subscription's customer.
            let tokens = try await app.database.read { db in
                try await db.raw("SELECT CAST(SUM(input_tokens + output_tokens) AS BIGINT) AS n FROM model_usage_daily WHERE model_id = 'gpt-4o'").first()?
                    .decode(column: "n", as: Int.self)
            }
            #expect(events.compactMap { Int($0.value) }.reduce(0, +) == tokens)
            #expect(Set(events.map(\.customer)).count == 1 && events.allSatisfy { $0.customer.hasPrefix("cus_") && $0.eventName == "modelgate_tokens" })
        }
    }
}
