import Foundation
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateTestSupport
import SQLKit
import Testing

/// Attacks on the money: signed Stripe events that must not grant, and chargebacks and refunds
/// that must take back exactly what their purchase gave.
@Suite(.timeLimit(.minutes(5))) struct PaymentAttackTests {
    @Test func aSignedCompletionForASessionModelgateNeverCreatedGrantsNothing() async throws {
        try await withFakeStripe { _, app, client in
            let buyer = testUser(140)
            let token = try await app.token(buyer)
            let forged = StripeEvents.session("checkout.session.completed", id: "evt_s1", session: "cs_made_elsewhere", user: buyer, model: "gpt-4o")
            let reply = try await client.deliver(forged, signature: app.sign(forged))
            #expect(reply.status == .ok && reply.json["outcome"] == .string("unmatched"))
            #expect(try await app.count("purchases") == 0)
            #expect(try await app.count("entitlements") == 0)
            #expect(try await app.purchased("gpt-4o", token: token, client: client) == false)
            #expect(try await app.auditActions(target: "cs_made_elsewhere") == ["purchase.refused"])
        }
    }

    @Test func aSignedCompletionWithALowerAmountAnotherCurrencyOrAnotherUserGrantsNothing() async throws {
        try await withFakeStripe { _, app, client in
            let buyer = testUser(141), other = testUser(142)
            let token = try await app.token(buyer)
            _ = try await client.call(.get, "/api/me", token: try await app.token(other))
            let session = try #require(try await client.call(.post, "/api/models/gpt-4o/checkout", token: token).json["sessionId"]?.stringValue)
            let attempts = [
                StripeEvents.session("checkout.session.completed", id: "evt_s2", session: session, user: buyer, model: "gpt-4o", amount: 1),
                StripeEvents.session("checkout.session.completed", id: "evt_s3", session: session, user: buyer, model: "gpt-4o", currency: "jpy"),
                StripeEvents.session("checkout.session.completed", id: "evt_s4", session: session, user: other, model: "gpt-4o"),
                StripeEvents.session("checkout.session.completed", id: "evt_s5", session: session, user: buyer, model: "claude-3-opus"),
            ]
            for attempt in attempts {
                #expect(try await client.deliver(attempt, signature: app.sign(attempt)).json["outcome"] == .string("mismatched"))
            }
            #expect(try await app.count("entitlements") == 0)
            #expect(try await app.purchased("gpt-4o", token: token, client: client) == false)
            let reasons = try await app.database.read { db in
                try await db.raw("SELECT properties FROM analytics_outbox WHERE event = 'model_purchase_refused' ORDER BY id").all()
                    .map { try $0.decode(column: "properties", as: String.self) }
            }
            #expect(reasons.count == 4 && ["amount", "currency", "user", "model"].allSatisfy { kind in reasons.contains { $0.contains("\(kind)_mismatch") } })
            let honest = StripeEvents.session("checkout.session.completed", id: "evt_s6", session: session, user: buyer, model: "gpt-4o")
            #expect(try await client.deliver(honest, signature: app.sign(honest)).json["outcome"] == .string("granted"))
        }
    }

    @Test func aChargebackSuspendsAccessAWonOneRestoresItAndALostOneRevokesIt() async throws {
        try await withFakeStripe { _, app, client in
            let buyer = testUser(143)
            let token = try await app.token(buyer)
            let session = try #require(try await client.call(.post, "/api/models/gpt-4o/checkout", token: token).json["sessionId"]?.stringValue)
            let paid = StripeEvents.session("checkout.session.completed", id: "evt_d1", session: session, user: buyer, model: "gpt-4o", intent: "pi_d")
            #expect(try await client.deliver(paid, signature: app.sign(paid)).json["outcome"] == .string("granted"))
            let steps: [(String, String, Bool)] = [
                ("charge.dispute.created", "needs_response", false), ("charge.dispute.closed", "won", true),
                ("charge.dispute.created", "needs_response", false), ("charge.dispute.closed", "lost", false),
            ]
            for (index, (type, status, entitled)) in steps.enumerated() {
                let event = StripeEvents.dispute(type, id: "evt_d\(index + 2)", intent: "pi_d", status: status)
                #expect(try await client.deliver(event, signature: app.sign(event)).json["outcome"] == .string("disputed"))
                #expect(try await app.purchased("gpt-4o", token: token, client: client) == entitled, "\(type) \(status)")
            }
            let chat = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o"}"#, token: token)
            #expect(chat.meta?["paymentKind"] == .string("trial"), "a lost dispute leaves trial messages only")
            #expect(try await app.auditActions(target: "gpt-4o") == ["access.granted", "access.suspended", "access.restored", "access.suspended", "access.revoked"])
            #expect(try await app.count("analytics_outbox WHERE event = 'model_purchase_disputed'") == 4)
            // The lost chargeback took the money back: the margin report books it as a refund.
            let booked = try await app.database.read { db in
                try await db.raw("SELECT kind, amount_cents FROM revenue_bookings ORDER BY kind").all().map {
                    "\(try $0.decode(column: "kind", as: String.self)) \(try $0.decode(column: "amount_cents", as: Int.self))"
                }
            }
            #expect(booked == ["purchase 299", "refund -299"])
            // Revenue has one owner: the model statistics read the same bookings as the margin report.
            let admin = try await app.token(testUser(144), admin: true)
            let stats = try await client.call(.get, "/api/admin/models/gpt-4o/stats", token: admin).json
            #expect(stats["purchases"] == .number(1) && stats["grossRevenueCents"] == .number(299))
            #expect(stats["refundedCents"] == .number(299) && stats["revenueCents"] == .number(0))
            let table = try await client.call(.get, "/api/admin/stats/models", token: admin).json["data"]?.array.first { $0["modelId"] == "gpt-4o" }
            #expect(table?["revenueCents"] == .number(0))
            let margin = try await client.call(.get, "/api/admin/margin", token: admin).json["models"]?.array.first { $0["modelId"] == "gpt-4o" }
            #expect(margin?["revenueCents"] == .number(0))
        }
    }

    @Test func aRefundOfOnePurchaseLeavesAnAdminGrantOfTheSameModelInPlace() async throws {
        try await withFakeStripe { _, app, client in
            let buyer = testUser(144)
            let token = try await app.token(buyer, email: "buyer144@example.com")
            let session = try #require(try await client.call(.post, "/api/models/claude-3-opus/checkout", token: token).json["sessionId"]?.stringValue)
            let granted = try await client.call(.post, "/api/admin/models/claude-3-opus/grants", token: try await app.adminToken(),
                                                json: #"{"user": "buyer144@example.com", "source": "admin_grant", "note": "support"}"#)
            #expect(granted.status == .created)
            let paid = StripeEvents.session("checkout.session.completed", id: "evt_r1", session: session, user: buyer, model: "claude-3-opus",
                                            intent: "pi_r", amount: 499)
            #expect(try await client.deliver(paid, signature: app.sign(paid)).json["outcome"] == .string("duplicate"))
            let refund = StripeEvents.refund(id: "evt_r2", intent: "pi_r")
            #expect(try await client.deliver(refund, signature: app.sign(refund)).json["outcome"] == .string("refunded"))
            #expect(try await app.purchased("claude-3-opus", token: token, client: client) == true, "the admin grant stays")
            #expect(try await app.auditActions(target: "claude-3-opus") == ["access.granted", "purchase.refunded"])
        }
    }
}
