import Foundation
import HummingbirdTesting
import ModelgateAppTesting
import ModelgateBilling
import ModelgateCore
import ModelgateStore
import ModelgateTestSupport
import SQLKit
import Testing

/// The margin report's plans and credits against figures worked out by hand.
@Suite(.timeLimit(.minutes(5)))
struct PaidRevenueTests {
    static let ana = testUser(760), ben = testUser(761), cy = testUser(762)

    @Test func theMarginReportsSubscriptionCreditAndPurchaseRevenueAsWorkedOutByHand() async throws {
        try await withFakeStripe { stripe, app, client in
            let admin = try await app.adminToken()
            let day = 86_400.0
            func advance() {
                app.clock.set(app.clock.now().addingTimeInterval(day))
                stripe.setNow(app.clock.now())
            }
            func deliver(_ events: [String]) async throws {
                for event in events { #expect(try await client.deliver(event, signature: app.sign(event)).status == .ok) }
            }
            #expect(try await client.call(.put, "/api/admin/plans/pro", token: admin,
                                          json: #"{"name": "Pro", "interval": "month", "priceCents": 1900, "unlocksAllPremium": true}"#).status == .ok)
            #expect(try await client.call(.put, "/api/admin/plans/max", token: admin,
                                          json: #"{"name": "Max", "interval": "year", "priceCents": 49000, "unlocksAllPremium": true}"#).status == .ok)
            for (id, credits, cents) in [("starter", 100, 500), ("big", 1000, 4000)] {
                #expect(try await client.call(.put, "/api/admin/credit-packs/\(id)", token: admin,
                                              json: #"{"name": "\#(id)", "credits": \#(credits), "priceCents": \#(cents)}"#).status == .ok)
            }
            _ = try await StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock).run(dryRun: false)
            try await app.services.cache.refresh()
            stripe.setNow(app.clock.now())
            let first = QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key
            let tokens = (ana: try await app.token(Self.ana), ben: try await app.token(Self.ben), cy: try await app.token(Self.cy))

            func subscribe(_ token: String, _ plan: String, invoice: String, cents: Int) async throws -> String {
                let checkout = try await client.call(.post, "/api/plans/\(plan)/checkout", token: token)
                try await deliver(stripe.completeCheckout(try #require(checkout.json["sessionId"]?.stringValue)))
                let subscription = try #require(stripe.subscriptionIDs.last)
                try await deliver([stripe.invoiceEvent("invoice.paid", subscription, invoice: invoice, amount: cents,
                                                       created: Int(app.clock.now().timeIntervalSince1970))])
                return subscription
            }
            func buyPack(_ token: String, _ user: UserID, _ pack: String, cents: Int, intent: String) async throws {
                let session = try #require(try await client.call(.post, "/api/credit-packs/\(pack)/checkout", token: token).json["sessionId"]?.stringValue)
                try await deliver([StripeEvents.session("checkout.session.completed", id: "evt_\(session)", session: session, user: user, model: "",
                                                        intent: intent, amount: cents, metadata: ["pack_id": pack, "user_id": user.description])])
            }

            // Day 1: Ana on Pro ($19.00) and a starter pack ($5.00, 100 credits); Cy buys GPT-4o ($2.99).
            _ = try await subscribe(tokens.ana, "pro", invoice: "in_ana_1", cents: 1_900)
            try await buyPack(tokens.ana, Self.ana, "starter", cents: 500, intent: "pi_ana")
            let unlock = try #require(try await client.call(.post, "/api/models/gpt-4o/checkout", token: tokens.cy).json["sessionId"]?.stringValue)
            try await deliver([StripeEvents.session("checkout.session.completed", id: "evt_unlock", session: unlock, user: Self.cy, model: "gpt-4o")])
            // Day 2: Ben on Max yearly ($490.00); Cy buys the big pack ($40.00, 1,000 credits) and spends 30 of them.
            advance()
            let max = try await subscribe(tokens.ben, "max", invoice: "in_ben_1", cents: 49_000)
            try await buyPack(tokens.cy, Self.cy, "big", cents: 4_000, intent: "pi_cy")
            try await app.setCreditPrice("claude-3-opus", #"{"perMessage": 10}"#, client: client)
            try await app.sql("UPDATE ai_models SET trial_messages_allowed = 0 WHERE id = 'claude-3-opus'")
            try await app.services.cache.refresh()
            for _ in 0..<3 {
                let reply = try await client.call(.post, "/api/chat", token: tokens.cy, json: #"{"message": "Hi", "personaId": "career", "modelId": "claude-3-opus"}"#)
                #expect(reply.status == .ok)
            }
            // Day 3: Cy's pack is refunded (970 credits left go), Ben's subscription is deleted, Ana gets 50 credits.
            advance()
            try await deliver([StripeEvents.refund(id: "evt_refund_cy", intent: "pi_cy")])
            stripe.update(max, .init(status: "canceled"))
            try await deliver([stripe.subscriptionEvent("customer.subscription.deleted", max, eventID: "evt_del", created: Int(app.clock.now().timeIntervalSince1970))])
            _ = try await app.grantCredits(50, to: Self.ana, client: client)
            let last = QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key

            let report = try await client.call(.get, "/api/admin/margin?from=\(first)&to=\(last)", token: admin).json
            let paid = try #require(report["paidAccess"])
            #expect(report["totals"]?["revenueCents"]?.int == 299, "the one-time unlock")
            #expect(paid["subscriptionRevenueCents"]?.int == 1_900 + 49_000)
            #expect(paid["creditRevenueCents"]?.int == 500 + 4_000 - 4_000)
            #expect(paid["creditsSold"]?.int == 1_100 && paid["creditsSpent"]?.int == 30)
            #expect(paid["creditsOutstanding"]?.int == 100 + 50, "Ana's pack and grant; Cy's refunded rest is gone")
            #expect(paid["activeSubscribers"]?.int == 1 && paid["churnedSubscribers"]?.int == 1)
            #expect(paid["mrrCents"]?.int == 1_900, "Max ended: only Pro's monthly price")
            let days = paid["days"]?.array ?? []
            #expect(days.map { $0["subscriptionRevenueCents"]?.int } == [1_900, 49_000, 0])
            #expect(days.map { $0["creditRevenueCents"]?.int } == [500, 4_000, -4_000])
            #expect(days.map { $0["activeSubscribers"]?.int } == [1, 2, 1])
            let bySource = paid["costBySource"]?.array ?? []
            #expect(bySource.contains { $0["modelId"] == .string("claude-3-opus") && $0["source"] == .string("credits") && $0["replies"]?.int == 3 })
            #expect(report["paidAccessRule"]?.stringValue?.contains("not spread") == true)

            // The admin console's margin page shows the same figures, with a chart per measure.
            let page = try await client.page(.get, "/admin/margin?from=\(first)&to=\(last)", cookie: try await app.session(testUser(763), admin: true, client: client))
            #expect(page.html.contains("Plans and credits") && page.html.contains("$490.00") && page.html.contains(#"id="subscribers-title""#), "\(page.status)")

            // Each lifecycle step once in the analytics outbox.
            let events = try await app.database.read { db in
                try await db.raw("SELECT event, COUNT(*) AS n FROM analytics_outbox GROUP BY event").all().reduce(into: [String: Int]()) {
                    $0[try $1.decode(column: "event", as: String.self)] = try $1.decode(column: "n", as: Int.self)
                }
            }
            #expect(events["subscription_invoice_paid"] == 2 && events["credits_purchased"] == 2 && events["credits_refunded"] == 1)
            #expect(events["subscription_changed"] == 3, "two starts and Max's end: \(events)")

            // The same money in the metrics, and how late each webhook was processed.
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains(#"modelgate_subscription_revenue_cents_total{plan="pro"} 1900"#))
            #expect(metrics.contains(#"modelgate_subscription_revenue_cents_total{plan="max"} 49000"#))
            #expect(metrics.contains("modelgate_webhook_lag_seconds_count"))
        }
    }
}
