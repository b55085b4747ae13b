import Foundation
import HummingbirdTesting
import ModelgateAppTesting
import ModelgateBilling
import ModelgateCore
import ModelgateStore
import ModelgateTestSupport
import SQLKit
import Testing

/// A subscription from checkout to its end, with Stripe's events delivered twice and out of order.
@Suite(.timeLimit(.minutes(5)))
struct PlanLifecycleTests {
    static let user = testUser(730)
    static let day: TimeInterval = 86_400

    struct Scenario {
        let stripe: FakeStripeServer
        let app: TestApp
        let client: any TestClientProtocol
        let token: String
        var eventCounter = 0

        /// Delivers `events` twice, the second time reversed, as Stripe's retries and lack of order may.
        mutating func deliver(_ events: [String]) async throws {
            for event in events.reversed() + events {
                let reply = try await client.deliver(event, signature: app.sign(event))
                #expect(reply.status == .ok, "\(reply.json)")
            }
        }

        mutating func event(_ type: String, _ subscription: String) -> String {
            eventCounter += 1
            return stripe.subscriptionEvent(type, subscription, eventID: "evt_sub_\(eventCounter)", created: Int(app.clock.now().timeIntervalSince1970))
        }

        func invoice(_ type: String, _ subscription: String, _ id: String, amount: Int = 1_900) -> String {
            stripe.invoiceEvent(type, subscription, invoice: id, amount: amount, created: Int(app.clock.now().timeIntervalSince1970))
        }

        func send() async throws -> BudgetReply {
            try await client.execute(uri: "/api/chat", method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                                     body: .init(string: #"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o"}"#)) { response in
                BudgetReply(status: response.status.code, contentType: response.headers[.contentType], retryAfter: response.headers[.retryAfter],
                            shouldRetry: response.headers[.init("x-should-retry")!], body: response.body)
            }
        }

        func paidBy() async throws -> String? {
            let reply = try await send()
            return reply.status == 200 ? reply.events.first { $0.name == "meta" }?.data["paymentKind"]?.stringValue : reply.problem?["code"]?.stringValue
        }

        func subscription() async throws -> JSONValue? {
            try await client.call(.get, "/api/billing", token: token).json["subscriptions"]?[0]
        }

        func advance(_ seconds: TimeInterval) {
            app.clock.set(app.clock.now().addingTimeInterval(seconds))
            stripe.setNow(app.clock.now())
        }
    }

    static func plan(_ id: String, name: String, messages: Int, trialDays: Int?, cents: Int) -> String {
        #"{"name": "\#(name)", "interval": "month", "priceCents": \#(cents), "unlocksAllPremium": true, "messagesPerPeriod": \#(messages)\#(trialDays.map { #", "trialDays": \#($0)"# } ?? "")}"#
    }

    @Test func aSubscriptionFromTrialToCancellationFollowsStripeWhateverTheOrderOfItsEvents() async throws {
        try await withFakeStripe { stripe, app, client in
            // Only the plan pays: no trial messages on premium models.
            try await app.sql("UPDATE ai_models SET trial_messages_allowed = 0 WHERE tier = 'premium'")
            let admin = try await app.adminToken()
            #expect(try await client.call(.put, "/api/admin/plans/pro", token: admin, json: Self.plan("pro", name: "Pro", messages: 3, trialDays: 7, cents: 1_900)).status == .ok)
            #expect(try await client.call(.put, "/api/admin/plans/max", token: admin, json: Self.plan("max", name: "Max", messages: 10, trialDays: nil, cents: 4_900)).status == .ok)
            _ = try await StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock).run(dryRun: false)
            try await app.services.cache.refresh()
            stripe.setNow(app.clock.now())
            var scenario = Scenario(stripe: stripe, app: app, client: client, token: try await app.token(Self.user))
            #expect(try await scenario.paidBy() == "model_locked")

            // Subscribe: checkout in subscription mode, a 7-day trial.
            let checkout = try await client.call(.post, "/api/plans/pro/checkout", token: scenario.token)
            #expect(stripe.lastForm(path: "/v1/checkout/sessions")?["mode"] == "subscription")
            #expect(stripe.lastForm(path: "/v1/checkout/sessions")?["subscription_data[trial_period_days]"] == "7")
            try await scenario.deliver(stripe.completeCheckout(try #require(checkout.json["sessionId"]?.stringValue)))
            let subscription = try #require(stripe.subscriptionIDs.first)
            #expect(try await scenario.subscription()?["status"] == .string("trialing"))

            // The allowance, to exactly its end.
            for _ in 0..<3 { #expect(try await scenario.paidBy() == "plan") }
            let exhausted = try await scenario.send()
            #expect(exhausted.status == 429 && exhausted.problem?["code"] == .string("plan_allowance_exhausted") && exhausted.shouldRetry == "false")

            // Renewal: the trial ends, the first invoice is paid, a new period and a new allowance.
            scenario.advance(7 * Self.day + 60)
            stripe.update(subscription, .init(status: "active", periodStart: app.clock.now(), periodEnd: app.clock.now().addingTimeInterval(30 * Self.day)))
            try await scenario.deliver([scenario.invoice("invoice.paid", subscription, "in_1"), scenario.event("customer.subscription.updated", subscription)])
            #expect(try await scenario.subscription()?["status"] == .string("active"))
            #expect(try await scenario.paidBy() == "plan")

            // A failed renewal: the grace period keeps access, then the plan's models lock.
            scenario.advance(30 * Self.day + 60)
            stripe.update(subscription, .init(status: "past_due"))
            try await scenario.deliver([scenario.invoice("invoice.payment_failed", subscription, "in_2"), scenario.event("customer.subscription.updated", subscription)])
            #expect(try await scenario.subscription()?["standing"] == .string("active"))
            #expect(try await scenario.paidBy() == "plan")
            scenario.advance(3 * Self.day + 60)
            #expect(try await scenario.paidBy() == "plan_past_due")
            #expect(try await scenario.subscription()?["standing"] == .string("past_due"))

            // Paid: restored, with the period Stripe gives.
            stripe.update(subscription, .init(status: "active", periodStart: app.clock.now(), periodEnd: app.clock.now().addingTimeInterval(30 * Self.day)))
            try await scenario.deliver([scenario.event("customer.subscription.updated", subscription), scenario.invoice("invoice.paid", subscription, "in_2")])
            #expect(try await scenario.paidBy() == "plan")

            // A plan change in the portal: the price names the new plan.
            let portal = try await client.call(.post, "/api/billing/portal", token: scenario.token)
            #expect(portal.json["url"]?.stringValue?.hasPrefix(stripe.baseURL + "/portal/") == true)
            let maxPrice = try #require(app.services.cache.catalog.plan("max")?.stripePriceID)
            stripe.update(subscription, .init(price: maxPrice))
            try await scenario.deliver([scenario.event("customer.subscription.updated", subscription)])
            #expect(try await scenario.subscription()?["planId"] == .string("max"))

            // Cancelled at the period's end: access until then, then locked; Stripe's deletion ends it.
            stripe.update(subscription, .init(cancelAtPeriodEnd: true))
            try await scenario.deliver([scenario.event("customer.subscription.updated", subscription)])
            let periodEnd = app.clock.now().addingTimeInterval(30 * Self.day)
            scenario.advance(30 * Self.day - 3_600)
            #expect(try await scenario.paidBy() == "plan")
            scenario.advance(3_601)
            #expect(try await scenario.paidBy() == "model_locked")
            stripe.update(subscription, .init(status: "canceled"))
            try await scenario.deliver([scenario.event("customer.subscription.deleted", subscription)])
            let final = try #require(try await scenario.subscription())
            #expect(final["status"] == .string("canceled") && final["standing"] == .string("ended") && final["planId"] == .string("max"))
            #expect(final["cancelAtPeriodEnd"] == .bool(true) && final["periodEnd"] == .string(ISO8601.string(periodEnd)))

            // Subscribing again starts without the free trial: it was for the first plan.
            #expect(try await client.call(.post, "/api/plans/pro/checkout", token: scenario.token).status == .ok)
            #expect(stripe.lastForm(path: "/v1/checkout/sessions")?["subscription_data[trial_period_days]"] == nil)

            // Each paid invoice booked once, however often it was delivered.
            let invoices = try await app.database.read { db in
                try await db.raw("SELECT id, amount_cents FROM subscription_invoices ORDER BY id").all().map {
                    "\(try $0.decode(column: "id", as: String.self)) \(try $0.decode(column: "amount_cents", as: Int.self))"
                }
            }
            #expect(invoices == ["in_1 1900", "in_2 1900"])
        }
    }

    @Test func anotherUserSeesNothingOfASubscriptionAndCannotOpenItsPortal() async throws {
        try await withFakeStripe { stripe, app, client in
            #expect(try await client.call(.put, "/api/admin/plans/pro", token: try await app.adminToken(),
                                          json: Self.plan("pro", name: "Pro", messages: 3, trialDays: nil, cents: 1_900)).status == .ok)
            _ = try await StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock).run(dryRun: false)
            try await app.services.cache.refresh()
            stripe.setNow(app.clock.now())
            let token = try await app.token(Self.user)
            let checkout = try await client.call(.post, "/api/plans/pro/checkout", token: token)
            for event in stripe.completeCheckout(try #require(checkout.json["sessionId"]?.stringValue)) {
                _ = try await client.deliver(event, signature: app.sign(event))
            }
            #expect(try await client.call(.get, "/api/billing", token: token).json["subscriptions"]?.array.count == 1)
            let other = try await app.token(testUser(731))
            #expect(try await client.call(.get, "/api/billing", token: other).json["subscriptions"]?.array.isEmpty == true)
            #expect(try await client.call(.post, "/api/billing/portal", token: other).code == "no_billing_account")
            // A second subscription while the first gives access is refused.
            #expect(try await client.call(.post, "/api/plans/pro/checkout", token: token).code == "already_subscribed")
        }
    }

    @Test func withStripeUnreachableTheEventsOwnSubscriptionsConvergeByEventTime() async throws {
        try await withFakeStripe { stripe, app, client in
            #expect(try await client.call(.put, "/api/admin/plans/pro", token: try await app.adminToken(),
                                          json: Self.plan("pro", name: "Pro", messages: 3, trialDays: 7, cents: 1_900)).status == .ok)
            _ = try await StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock).run(dryRun: false)
            try await app.services.cache.refresh()
            stripe.setNow(app.clock.now())
            var scenario = Scenario(stripe: stripe, app: app, client: client, token: try await app.token(Self.user))
            let checkout = try await client.call(.post, "/api/plans/pro/checkout", token: scenario.token)
            let started = stripe.completeCheckout(try #require(checkout.json["sessionId"]?.stringValue))
            let subscription = try #require(stripe.subscriptionIDs.first)

            // Stripe cannot be asked: each event's own subscription counts, ordered by the event's time.
            stripe.failSubscriptionFetches(true)
            var snapshots: [String] = []
            for status in ["active", "past_due"] {
                scenario.advance(3_600)
                stripe.update(subscription, .init(status: status))
                snapshots.append(scenario.event("customer.subscription.updated", subscription))
            }
            // Stripe has moved on meanwhile (its event not yet sent): only the events can be known.
            stripe.update(subscription, .init(status: "canceled"))
            try await scenario.deliver([snapshots[1], snapshots[0]] + started)
            #expect(try await scenario.subscription()?["status"] == .string("past_due"))

            // Reachable again, an old event is only a trigger: Stripe's state as fetched stands.
            stripe.failSubscriptionFetches(false)
            let late = snapshots[0].replacingOccurrences(of: #""id":"evt_sub_1""#, with: #""id":"evt_sub_late""#)
            #expect(late != snapshots[0])
            try await scenario.deliver([late])
            #expect(try await scenario.subscription()?["status"] == .string("canceled"))
        }
    }
}
