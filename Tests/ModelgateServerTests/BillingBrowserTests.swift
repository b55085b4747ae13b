import Foundation
import ModelgateAppTesting
import ModelgateBilling
import ModelgateCore
import ModelgateStore
import ModelgateTestSupport
import Testing

/// The settings page's plan and credits card in headless Chromium: `scripts/e2e/billing_e2e.py`.
@Suite(.enabled(if: Browser.available, "needs MODELGATE_TEST_PYTHON and chromedriver (scripts/test sets them up)"), .timeLimit(.minutes(5)))
struct BillingBrowserTests {
    @Test func aUserSubscribesBuysCreditsAndOpensThePortalInARealBrowser() async throws {
        try await Browser.withLiveApp { app, base in
            let user = testUser(321)
            let token = try await app.token(user, email: "paula@example.com")
            let admin = Actor(command: "test")
            try await app.services.paidAdministration.save(
                Plan(id: PlanID("pro"), name: "Pro", interval: .month, priceCents: 1_900, unlocksAllPremium: true, messagesPerPeriod: 100), by: admin)
            try await app.services.paidAdministration.save(CreditPack(id: "starter", name: "Starter", credits: 100, priceCents: 500), by: admin)
            try await app.services.paidAdministration.setCreditPrice(.perMessage(10), of: "claude-3-opus", by: admin)
            _ = try await StripeSync(stripe: try #require(app.stripe), database: app.database, clock: app.clock).run(dryRun: false)
            try await app.services.cache.refresh()

            let result = try await Browser.run("billing_e2e.py", scenario: ["base": base, "out": Browser.outputDirectory + "/billing", "token": token])
            #expect(result.status == 0, "\(result.output)")

            // What the browser did is in the database: the plan through its webhooks, the pack once.
            let billing = try await app.services.paidAccount.view(of: user)
            #expect(billing.subscriptions.map(\.planName) == ["Pro"])
            #expect(billing.creditBalance == 100)
            let books = try await app.creditBooks(of: user)
            #expect(books.ledgerSum == books.balance)
        }
    }
}
