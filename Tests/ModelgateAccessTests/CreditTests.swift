import Foundation
import Hummingbird
import HummingbirdTesting
import ModelgateAccess
import ModelgateAppTesting
import ModelgateCore
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import SQLKit
import Testing

@Suite(.timeLimit(.minutes(5)))
struct CreditTests {
    static let user = testUser(720)

    static func body(_ model: String = "gpt-4o", maxTokens: Int = 500) -> String {
        #"{"message": "Hi", "personaId": "career", "modelId": "\#(model)", "maxTokens": \#(maxTokens)}"#
    }

    static func paidBy(_ reply: BudgetReply) -> String? {
        reply.events.first { $0.name == "meta" }?.data["paymentKind"]?.stringValue
    }

    /// A premium model that only credits pay for: no trial, no daily limit.
    static func sellByCredits(_ app: TestApp, _ client: any TestClientProtocol, price: String) async throws {
        try await app.sql("UPDATE ai_models SET trial_messages_allowed = 0, rate_limit_messages_per_day = NULL WHERE id = 'gpt-4o'")
        try await app.services.cache.refresh()
        try await app.setCreditPrice("gpt-4o", price, client: client)
    }

    /// 200 calls at once from one user, half on each of two instances (on PostgreSQL each its own
    /// connection pool; each its own catalog cache), against 50 messages' worth of credits.
    @Test func twoHundredConcurrentCallsOnTwoInstancesSpendExactlyTheBalance() async throws {
        try await TestApp.run { app, firstClient in
            try await Self.sellByCredits(app, firstClient, price: #"{"perMessage": 10}"#)
            try await app.grantCredits(500, to: Self.user, client: firstClient)
            let database = app.database.backend == .postgres ? try await Database.open(app.databaseURL, logger: TestDatabase.logger) : app.database
            let dependencies = TestApp.dependencies(database: database, providers: app.providers, clock: app.clock)
            let second = buildRouter(configuration: ServerConfiguration(), dependencies: dependencies,
                                     services: try await Services(dependencies: dependencies), tokens: app.tokens)
            let token = try await app.token(Self.user)
            let replies = try await Application(router: second).test(.router) { secondClient in
                try await withThrowingTaskGroup(of: BudgetReply.self) { group in
                    for index in 0..<200 {
                        let client: any TestClientProtocol = index.isMultiple(of: 2) ? firstClient : secondClient
                        group.addTask { try await BudgetTests.chat(client, token: token, body: Self.body()) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            if database !== app.database { await database.shutdown() }
            let answered = replies.filter { $0.status == 200 && $0.done != nil }
            let refused = replies.filter { $0.status == 402 }
            #expect(answered.count == 50)
            #expect(refused.count == 150)
            #expect(refused.allSatisfy { $0.problem?["code"] == .string("credits_insufficient") && $0.shouldRetry == "false" })
            let books = try await app.creditBooks(of: Self.user)
            #expect(books.balance == 0 && books.ledgerSum == 0 && books.held == 0 && books.lotsRemaining == 0)
            let movements = try await app.creditMovements(of: Self.user)
            #expect(movements.filter { $0 == "spend -10" }.count == 50)
            #expect(movements.filter { $0 == "hold -10" }.count == 50)
        }
    }

    @Test func aPricePerMillionTokensHoldsTheWorstCaseAndSettlesWhatTheReplyUsed() async throws {
        try await TestApp.run { app, client in
            // 1,000,000 credits per million tokens: a credit per token.
            try await Self.sellByCredits(app, client, price: #"{"perMillionInputTokens": 1000000, "perMillionOutputTokens": 1000000}"#)
            try await app.grantCredits(10_000, to: Self.user, client: client)
            let token = try await app.token(Self.user)
            let models = try await client.call(.get, "/api/models", token: token)
            let gpt4o = try #require(models.json["data"]?["premium"]?.array.first { $0["id"] == .string("gpt-4o") })
            #expect(gpt4o["creditPrice"]?["perMillionOutputTokens"]?.int == 1_000_000)
            #expect(gpt4o["paidBy"] == .string("credits"))
            #expect(gpt4o["creditsPerMessage"]?.int == 1_500)
            let reply = try await BudgetTests.chat(client, token: token, body: Self.body(maxTokens: 500))
            #expect(reply.status == 200)
            let done = try #require(reply.done)
            let used = try #require(done["usage"]?["inputTokens"]?.int) + (try #require(done["usage"]?["outputTokens"]?.int))
            #expect(Self.paidBy(reply) == "credits")
            let books = try await app.creditBooks(of: Self.user)
            #expect(books.balance == 10_000 - used)
            #expect(books.ledgerSum == books.balance && books.lotsRemaining == books.balance && books.held == 0)
            let movements = try await app.creditMovements(of: Self.user)
            #expect(movements.count == 4)
            #expect(movements.first == "grant 10000")
            #expect(movements.contains("spend -\(used)"))

            let ledger = try await client.call(.get, "/api/credits", token: token)
            #expect(ledger.json["balance"]?.int == 10_000 - used)
            #expect(ledger.json["entries"]?.array.count == 4)
            // Another user sees none of it.
            let other = try await client.call(.get, "/api/credits", token: try await app.token(testUser(721)))
            #expect(other.json["balance"]?.int == 0 && other.json["entries"]?.array.isEmpty == true)
        }
    }

    @Test func creditsPayPastAFreeModelsDailyLimitAndAreRefusedByNameWhenTheyRunOut() async throws {
        try await TestApp.run { app, client in
            try await app.sql("UPDATE ai_models SET rate_limit_messages_per_day = 1 WHERE id = 'gpt-4o-mini'")
            try await app.services.cache.refresh()
            try await app.setCreditPrice("gpt-4o-mini", #"{"perMessage": 3}"#, client: client)
            try await app.grantCredits(5, to: Self.user, client: client)
            let token = try await app.token(Self.user)
            let free = try await BudgetTests.chat(client, token: token, body: Self.body("gpt-4o-mini"))
            #expect(Self.paidBy(free) == "free")
            let paid = try await BudgetTests.chat(client, token: token, body: Self.body("gpt-4o-mini"))
            #expect(Self.paidBy(paid) == "credits")
            let refused = try await BudgetTests.chat(client, token: token, body: Self.body("gpt-4o-mini"))
            // The first source that ran out answers: the free model's daily limit.
            #expect(refused.status == 429 && refused.problem?["code"] == .string("rate_limited"))
            #expect(try await app.creditBooks(of: Self.user).balance == 2)
        }
    }

    @Test func aHoldWhoseCallNeverSettledComesBackWhenItExpiresAndExpiredCreditsAreRemoved() async throws {
        try await TestApp.run { app, client in
            try await Self.sellByCredits(app, client, price: #"{"perMessage": 10}"#)
            let profile = try await app.services.profiles.findOrCreate(Self.user, email: nil, at: app.clock.now())
            let now = app.clock.now()
            try await app.database.transaction { db in
                try await CreditWallet.deposit(CreditDeposit(user: Self.user, credits: 30, movement: .grant, reference: "short",
                                                             expiresAt: now.addingTimeInterval(3_600)), lot: "lot-short", at: now, in: db)
                try await CreditWallet.deposit(CreditDeposit(user: Self.user, credits: 30, movement: .grant, reference: "long"),
                                               lot: "lot-long", at: now, in: db)
            }
            // Admitted, never settled (its instance died).
            let admission = try await app.services.access.admit(profile, persona: "career", explicit: "gpt-4o")
            #expect(admission.payment == .credits && admission.reservation?.credits == 10)
            #expect(try await app.creditBooks(of: Self.user).balance == 50)
            app.clock.set(app.clock.now().addingTimeInterval(OpenCallGate.callLifetime + 1))
            let spend = SpendLedger(database: app.database)
            #expect(try await spend.sweep(at: app.clock.now()) == 1)
            #expect(try await app.creditBooks(of: Self.user).balance == 60)
            // An hour on, the lot that expires goes, whole (nothing of it was spent).
            app.clock.set(app.clock.now().addingTimeInterval(3_600))
            _ = try await spend.sweep(at: app.clock.now())
            let books = try await app.creditBooks(of: Self.user)
            #expect(books.balance == 30 && books.ledgerSum == 30 && books.lotsRemaining == 30)
            #expect(try await app.creditMovements(of: Self.user).contains("expiry -30"))
        }
    }
}
