import Foundation
import Hummingbird
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
import NIOCore
import SQLKit
import Testing

@Suite(.timeLimit(.minutes(5))) struct StripeSyncTests {
    @Test func syncCreatesOnceAndReplacesAChangedPrice() async throws {
        let stripe = try await FakeStripeServer.start()
        try await TestApp.run(billing: TestApp.billing(stripe: stripe)) { app, _ in
            let sync = StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock)
            let dry = try await sync.run(dryRun: true)
            #expect(dry.rows.count == 4 && stripe.writes.isEmpty)
            let first = try await sync.run(dryRun: false)
            #expect((first.productsCreated, first.pricesCreated, first.pricesDeactivated) == (4, 4, 0))
            #expect(stripe.lastForm(path: "/v1/prices")?["currency"] == "usd")
            let second = try await sync.run(dryRun: false)
            #expect((second.productsCreated, second.pricesCreated, second.pricesDeactivated) == (0, 0, 0))
            #expect(second.rows.allSatisfy { $0.action == "unchanged" })

            try await app.sql("UPDATE ai_models SET price_cents = 399 WHERE id = 'gpt-4o'")
            let third = try await sync.run(dryRun: false)
            #expect((third.productsCreated, third.pricesCreated, third.pricesDeactivated) == (0, 1, 1))
            #expect(stripe.activePriceCount == 4 && stripe.productCount == 4)
            let model = try #require(try await CatalogRepository(database: app.database).snapshot().model("gpt-4o"))
            #expect(model.stripePriceID == third.rows.first { $0.item == "gpt-4o" }?.priceID)
            #expect(StripeSecretKey("sk_live_abc").isLive && !StripeSecretKey("sk_test_abc").isLive)
        }
        await stripe.stop()
    }
}

@Suite(.timeLimit(.minutes(5))) struct PurchaseTests {
    @Test func aPaidCheckoutGrantsExactlyOneEntitlementToThatUserOnly() async throws {
        try await withFakeStripe { stripe, app, client in
            let buyer = testUser(80), other = testUser(81)
            let token = try await app.token(buyer), otherToken = try await app.token(other)
            _ = try await client.call(.get, "/api/me", token: otherToken)
            let started = try await client.call(.post, "/api/models/gpt-4o/checkout", token: token)
            #expect(started.status == .ok)
            let session = try #require(started.json["sessionId"]?.stringValue)
            #expect(started.json["url"]?.stringValue?.hasPrefix(stripe.baseURL + "/pay/") == true)
            let form = try #require(stripe.lastForm(path: "/v1/checkout/sessions"))
            #expect(form["client_reference_id"] == buyer.description && form["metadata[model_id]"] == "gpt-4o" && form["mode"] == "payment")
            #expect(form["success_url"]?.contains("/settings?checkout=success") == true)

            let event = StripeEvents.session("checkout.session.completed", id: "evt_1", session: session, user: buyer, model: "gpt-4o")
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 0..<5 { group.addTask { try await client.deliver(event, signature: app.sign(event)) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.allSatisfy { $0.status == .ok })
            #expect(replies.filter { $0.json["outcome"] == .string("granted") }.count == 1)
            #expect(replies.filter { $0.json["outcome"] == .string("duplicate") }.count == 4)
            let again = StripeEvents.session("checkout.session.async_payment_succeeded", id: "evt_2", session: session, user: buyer, model: "gpt-4o")
            #expect(try await client.deliver(again, signature: app.sign(again)).json["outcome"] == .string("duplicate"))
            #expect(try await app.count("entitlements") == 1)
            #expect(try await app.purchased("gpt-4o", token: token, client: client) == true)
            #expect(try await app.purchased("gpt-4o", token: otherToken, client: client) == false)
            let chat = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o"}"#, token: token)
            #expect(chat.meta?["paymentKind"] == .string("entitled"))
            let repeatCheckout = try await client.call(.post, "/api/models/gpt-4o/checkout", token: token)
            #expect(repeatCheckout.status == .conflict && repeatCheckout.code == "already_purchased")
            #expect(try await app.count("audit_log") == 1)
            // checkout started, purchase completed, the chat: selected + sent + completed (its cost)
            #expect(try await app.count("analytics_outbox") == 5)
        }
    }

    @Test func forgedExpiredOrAlteredWebhooksAreRefusedAndWriteNothing() async throws {
        try await withFakeStripe { _, app, client in
            let buyer = testUser(82)
            _ = try await client.call(.get, "/api/me", token: try await app.token(buyer))
            let event = StripeEvents.session("checkout.session.completed", id: "evt_9", session: "cs_x", user: buyer, model: "gpt-4o")
            let altered = event.replacingOccurrences(of: "\"amount_total\":299", with: "\"amount_total\":1")
            let attempts: [(String, String?)] = [
                (event, app.sign(event, secret: WebhookSecret("whsec_wrong"))),
                (event, app.sign(event, age: 301)),
                (altered, app.sign(event)),
                (event, nil),
                (event, "t=abc,v1=00"),
            ]
            for (payload, signature) in attempts {
                let reply = try await client.deliver(payload, signature: signature)
                #expect(reply.status == .badRequest && reply.code == "invalid_signature", "\(signature ?? "no header")")
            }
            #expect(try await app.count("stripe_events") == 0)
            #expect(try await app.count("purchases") == 0)
            #expect(try await app.count("entitlements") == 0)
            let future = try await client.deliver(event, signature: app.sign(event, age: -600))
            #expect(future.status == .ok, "Stripe's SDKs accept a timestamp in the future")
        }
    }

    @Test func aRefundLocksTheModelAgainAndKeepsTheHistory() async throws {
        try await withFakeStripe { _, app, client in
            let buyer = testUser(83)
            let token = try await app.token(buyer)
            let session = try #require(try await client.call(.post, "/api/models/claude-3-opus/checkout", token: token).json["sessionId"]?.stringValue)
            let paid = StripeEvents.session("checkout.session.completed", id: "evt_10", session: session, user: buyer, model: "claude-3-opus", amount: 499)
            #expect(try await client.deliver(paid, signature: app.sign(paid)).json["outcome"] == .string("granted"))
            let refund = StripeEvents.refund(id: "evt_11")
            #expect(try await client.deliver(refund, signature: app.sign(refund)).json["outcome"] == .string("refunded"))
            #expect(try await app.purchased("claude-3-opus", token: token, client: client) == false)
            let locked = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "claude-3-opus"}"#, token: token)
            #expect(locked.meta?["paymentKind"] == .string("trial"))
            let history = try await app.database.read { db in
                try await db.raw("SELECT status FROM purchases").all().map { try $0.decode(column: "status", as: String.self) }
            }
            #expect(history == ["refunded"])
            #expect(try await app.count("entitlements") == 1)
            let actions = try await app.database.read { db in
                try await db.raw("SELECT action FROM audit_log ORDER BY id").all().map { try $0.decode(column: "action", as: String.self) }
            }
            #expect(actions == ["access.granted", "access.revoked"])
            let partial = StripeEvents.refund(id: "evt_12", full: false)
            #expect(try await client.deliver(partial, signature: app.sign(partial)).json["outcome"] == .string("ignored"))
        }
    }

    @Test func outOfOrderAndFailedDeliveriesEndInTheRightState() async throws {
        try await withFakeStripe { _, app, client in
            let buyer = testUser(84)
            let token = try await app.token(buyer)
            let lateSession = try #require(try await client.call(.post, "/api/models/gpt-4o/checkout", token: token).json["sessionId"]?.stringValue)
            let asyncSession = try #require(try await client.call(.post, "/api/models/gemini-pro-1.5/checkout", token: token).json["sessionId"]?.stringValue)
            let refund = StripeEvents.refund(id: "evt_20", intent: "pi_early")
            #expect(try await client.deliver(refund, signature: app.sign(refund)).json["outcome"] == .string("refunded"))
            let late = StripeEvents.session("checkout.session.completed", id: "evt_21", session: lateSession, user: buyer, model: "gpt-4o", intent: "pi_early")
            #expect(try await client.deliver(late, signature: app.sign(late)).json["outcome"] == .string("refunded"))
            #expect(try await app.purchased("gpt-4o", token: token, client: client) == false)

            let unpaid = StripeEvents.session("checkout.session.completed", id: "evt_22", session: asyncSession, user: buyer, model: "gemini-pro-1.5",
                                              paid: false, intent: "pi_async")
            #expect(try await client.deliver(unpaid, signature: app.sign(unpaid)).json["outcome"] == .string("pending"))
            let failed = StripeEvents.session("checkout.session.async_payment_failed", id: "evt_23", session: asyncSession, user: buyer,
                                              model: "gemini-pro-1.5", paid: false, intent: "pi_async")
            #expect(try await client.deliver(failed, signature: app.sign(failed)).json["outcome"] == .string("failed"))
            #expect(try await app.purchased("gemini-pro-1.5", token: token, client: client) == false)
            let unknown = #"{"id":"evt_24","object":"event","type":"customer.created","data":{"object":{"id":"cus_1"}}}"#
            #expect(try await client.deliver(unknown, signature: app.sign(unknown)).json["outcome"] == .string("ignored"))
        }
    }

    @Test func aDatabaseFailureAnswers500AndWritesNothingSoStripeRetries() async throws {
        try await withFakeStripe { _, app, client in
            let buyer = testUser(86)
            let token = try await app.token(buyer)
            let session = try #require(try await client.call(.post, "/api/models/gpt-4o/checkout", token: token).json["sessionId"]?.stringValue)
            try await app.sql("ALTER TABLE audit_log RENAME TO audit_log_away")
            let event = StripeEvents.session("checkout.session.completed", id: "evt_30", session: session, user: buyer, model: "gpt-4o")
            let failed = try await client.deliver(event, signature: app.sign(event))
            #expect(failed.status == .internalServerError)
            #expect(try await app.count("stripe_events") == 0)
            #expect(try await app.count("entitlements") == 0)
            #expect(try await app.purchased("gpt-4o", token: token, client: client) == false)
            try await app.sql("ALTER TABLE audit_log_away RENAME TO audit_log")
            let retried = try await client.deliver(event, signature: app.sign(event))
            #expect(retried.json["outcome"] == .string("granted"))
        }
    }

    @Test func checkoutRefusesWhatCannotBeBought() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(85))
            let closed = try await client.call(.post, "/api/models/gpt-4o/checkout", token: token)
            #expect(closed.status == .serviceUnavailable && closed.code == "payments_not_configured")
            let free = try await client.call(.post, "/api/models/gpt-4o-mini/checkout", token: token)
            #expect(free.status == .unprocessableContent && free.code == "model_not_purchasable")
            let unknown = try await client.call(.post, "/api/models/nope/checkout", token: token)
            #expect(unknown.code == "model_not_purchasable")
            #expect(try await app.count("purchases") == 0)
        }
    }
}
