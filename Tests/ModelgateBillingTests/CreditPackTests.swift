import Foundation
import HummingbirdTesting
import ModelgateAppTesting
import ModelgateBilling
import ModelgateCore
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import SQLKit
import Testing

@Suite(.timeLimit(.minutes(5)))
struct CreditPackTests {
    static let user = testUser(740)

    static func buyStarterPack(_ stripe: FakeStripeServer, _ app: TestApp, _ client: any TestClientProtocol, token: String) async throws -> String {
        #expect(try await client.call(.put, "/api/admin/credit-packs/starter", token: try await app.adminToken(),
                                      json: #"{"name": "Starter", "credits": 100, "priceCents": 500}"#).status == .ok)
        _ = try await StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock).run(dryRun: false)
        let checkout = try await client.call(.post, "/api/credit-packs/starter/checkout", token: token)
        #expect(stripe.lastForm(path: "/v1/checkout/sessions")?["metadata[pack_id]"] == "starter")
        return try #require(checkout.json["sessionId"]?.stringValue)
    }

    static func completed(_ session: String, amount: Int = 500, intent: String = "pi_pack") -> String {
        StripeEvents.session("checkout.session.completed", id: "evt_\(session)", session: session, user: user, model: "", intent: intent,
                             amount: amount, metadata: ["pack_id": "starter", "user_id": user.description])
    }

    @Test func aPackBoughtThroughCheckoutAddsItsCreditsOnceAndARefundTakesBackWhatIsLeft() async throws {
        try await withFakeStripe { stripe, app, client in
            let token = try await app.token(Self.user)
            let session = try await Self.buyStarterPack(stripe, app, client, token: token)
            let paid = Self.completed(session)
            #expect(try await client.deliver(paid, signature: app.sign(paid)).json["outcome"] == .string("granted"))
            #expect(try await client.deliver(paid, signature: app.sign(paid)).json["outcome"] == .string("duplicate"))
            #expect(try await client.call(.get, "/api/billing", token: token).json["creditBalance"]?.int == 100)

            // 30 of them spent on three messages.
            try await app.sql("UPDATE ai_models SET trial_messages_allowed = 0 WHERE id = 'gpt-4o'")
            try await app.services.cache.refresh()
            try await app.setCreditPrice("gpt-4o", #"{"perMessage": 10}"#, client: client)
            for _ in 0..<3 {
                let reply = try await client.call(.post, "/api/chat", token: token, json: #"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o"}"#)
                #expect(reply.status == .ok)
            }
            #expect(try await app.creditBooks(of: Self.user).balance == 70)

            let refund = StripeEvents.refund(id: "evt_refund_pack", intent: "pi_pack")
            #expect(try await client.deliver(refund, signature: app.sign(refund)).json["outcome"] == .string("refunded"))
            let books = try await app.creditBooks(of: Self.user)
            #expect(books.balance == 0 && books.ledgerSum == 0 && books.lotsRemaining == 0)
            #expect(try await app.creditMovements(of: Self.user).contains("refund -70"))
            let again = try await client.deliver(refund, signature: app.sign(refund))
            #expect(again.json["outcome"] == .string("duplicate"))
            #expect(try await app.creditBooks(of: Self.user).balance == 0)
        }
    }

    @Test func aPackSessionWithAnotherAmountOrAnUnknownSessionAddsNothing() async throws {
        try await withFakeStripe { stripe, app, client in
            let token = try await app.token(Self.user)
            let session = try await Self.buyStarterPack(stripe, app, client, token: token)
            let cheaper = Self.completed(session, amount: 1)
            #expect(try await client.deliver(cheaper, signature: app.sign(cheaper)).json["outcome"] == .string("mismatched"))
            let unknown = Self.completed("cs_test_unknown")
            #expect(try await client.deliver(unknown, signature: app.sign(unknown)).json["outcome"] == .string("unmatched"))
            #expect(try await app.creditBooks(of: Self.user).balance == 0)
        }
    }

    @Test func aStorePurchaseIsRecordedOnceForAUserOrAnAppsEndUser() async throws {
        try await TestApp.run { app, client in
            let admin = try await app.adminToken()
            _ = try await app.services.profiles.findOrCreate(Self.user, email: "store@example.com", at: app.clock.now())
            let credits = #"{"transactionId": "ios-1", "credits": 50}"#
            #expect(try await client.call(.post, "/api/admin/users/store@example.com/store-purchases", token: admin, json: credits).json["recorded"] == .bool(true))
            #expect(try await client.call(.post, "/api/admin/users/store@example.com/store-purchases", token: admin, json: credits).json["recorded"] == .bool(false))
            #expect(try await app.creditBooks(of: Self.user).balance == 50)

            #expect(try await client.call(.put, "/api/admin/plans/pro", token: admin, json: PlanLifecycleTests.plan(
                "pro", name: "Pro", messages: 5, trialDays: nil, cents: 1_900)).status == .ok)
            let periodEnd = ISO8601.string(app.clock.now().addingTimeInterval(30 * 86_400))
            let plan = #"{"transactionId": "ios-2", "planId": "pro", "subscriptionId": "ios-orig-1", "periodEnd": "\#(periodEnd)"}"#
            #expect(try await client.call(.post, "/api/admin/users/\(Self.user)/store-purchases", token: admin, json: plan).json["recorded"] == .bool(true))
            let billing = try await client.call(.get, "/api/billing", token: try await app.token(Self.user))
            #expect(billing.json["subscriptions"]?[0]?["source"] == .string("store"))
            #expect(billing.json["subscriptions"]?[0]?["standing"] == .string("active"))

            _ = try await app.createKey(client, #"{"name": "backend", "kind": "service", "app": "coach-app"}"#)
            let appID = try await app.database.read { db in
                try #require(try await db.raw("SELECT id FROM apps WHERE name = 'coach-app'").first()).decode(column: "id", as: String.self)
            }
            let endUserCredits = #"{"transactionId": "play-1", "credits": 20}"#
            #expect(try await client.call(.post, "/api/admin/apps/\(appID)/end-users/player-7/store-purchases", token: admin,
                                          json: endUserCredits).json["recorded"] == .bool(true))
            #expect(try await app.creditBooks(of: try await app.endUser("player-7")).balance == 20)
            // The app by the name the keys list shows: the same end user.
            #expect(try await client.call(.post, "/api/admin/apps/coach-app/end-users/player-7/store-purchases", token: admin,
                                          json: #"{"transactionId": "play-3", "credits": 5}"#).json["recorded"] == .bool(true))
            #expect(try await app.creditBooks(of: try await app.endUser("player-7")).balance == 25)
            #expect(try await client.call(.post, "/api/admin/apps/no-such-app/end-users/player-7/store-purchases", token: admin,
                                          json: #"{"transactionId": "play-2", "credits": 20}"#).status == .notFound)
        }
    }

    @Test func aGrantWithAReferenceHappensOnceAndItsReferenceIsOnlyItsUsers() async throws {
        try await withFakeStripe { _, app, client in
            let other = testUser(741)
            #expect(try await app.grantCredits(30, to: Self.user, client: client, reference: "welcome") == 30)
            #expect(try await app.grantCredits(30, to: Self.user, client: client, reference: "welcome") == 30)
            #expect(try await app.grantCredits(-10, to: Self.user, client: client, reference: "correction") == 20)
            #expect(try await app.grantCredits(-10, to: Self.user, client: client, reference: "correction") == 20)
            _ = try await app.services.profiles.findOrCreate(other, email: nil, at: app.clock.now())
            let taken = try await client.call(.post, "/api/admin/users/\(other)/credits", token: try await app.adminToken(),
                                              json: #"{"credits": 30, "reference": "welcome"}"#)
            #expect(taken.status == .conflict && taken.json["code"] == .string("reference_in_use"), "\(taken.json)")
            #expect(try await app.creditBooks(of: other).balance == 0)
            let books = try await app.creditBooks(of: Self.user)
            #expect(books.balance == 20 && books.ledgerSum == 20)
            #expect(try await app.count("audit_log") == 2)
        }
    }

    @Test func aServiceKeyAnAdminAllowedReportsStorePurchasesForItsEndUsers() async throws {
        try await TestApp.run { app, client in
            let admin = try await app.adminToken()
            let key = try await app.createKey(client, #"{"name": "store-backend", "kind": "service", "app": "coach-app"}"#)
            let keyID = try await app.database.read { db in
                try #require(try await db.raw("SELECT id FROM api_keys WHERE name = 'store-backend'").first()).decode(column: "id", as: String.self)
            }
            func report(_ transaction: String) async throws -> (status: Int, json: JSONValue) {
                try await client.execute(uri: "/api/store-purchases", method: .post, headers: [
                    .authorization: "Bearer \(key)", .contentType: "application/json", .init("X-Modelgate-User")!: "player-9",
                ], body: ByteBuffer(string: #"{"transactionId": "\#(transaction)", "credits": 40}"#)) { response in
                    (Int(response.status.code), (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body))) ?? .null)
                }
            }
            let refused = try await report("gp-1")
            #expect(refused.status == 403 && refused.json["code"] == .string("forbidden"), "\(refused.json)")
            #expect(try await client.call(.put, "/api/admin/keys/\(keyID)/store-purchases", token: admin, json: #"{"allowed": true}"#).status == .ok)
            #expect(try await report("gp-1").json["recorded"] == .bool(true))
            #expect(try await report("gp-1").json["recorded"] == .bool(false), "a transaction is recorded once")
            #expect(try await app.creditBooks(of: try await app.endUser("player-9")).balance == 40)
            // A user's own token cannot report purchases, and switching the key off stops it.
            #expect(try await client.call(.post, "/api/store-purchases", token: try await app.token(Self.user),
                                          json: #"{"transactionId": "x", "credits": 1}"#).status == .forbidden)
            #expect(try await client.call(.put, "/api/admin/keys/\(keyID)/store-purchases", token: admin, json: #"{"allowed": false}"#).status == .ok)
            #expect(try await report("gp-2").status == 403)
            #expect(try await client.call(.put, "/api/admin/keys/nope/store-purchases", token: admin, json: #"{"allowed": true}"#).status == .notFound)
            let audited = try await app.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'api_key.store_purchases_changed'").first()?.decode(column: "n", as: Int.self)
            }
            #expect(audited == 2)
        }
    }
}
