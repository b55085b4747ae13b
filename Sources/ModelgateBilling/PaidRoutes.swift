import Foundation
import Hummingbird
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateStore

/// A subscription as its user sees it.
public struct SubscriptionView: Encodable, Sendable {
    public let id: String
    public let planId: PlanID
    public let planName: String
    public let source: SubscriptionSource
    public let status: SubscriptionStatus
    /// What it gives now: `active`, `past_due` (locked until an invoice is paid) or `ended`.
    public let standing: PlanStanding
    public let periodStart: Date
    public let periodEnd: Date
    /// True when it ends at `periodEnd` instead of renewing.
    public let cancelAtPeriodEnd: Bool

    init(_ subscription: Subscription, plan: Plan?, at now: Date, grace: TimeInterval) {
        id = subscription.id
        planId = subscription.plan
        planName = plan?.name ?? subscription.plan.rawValue
        source = subscription.source
        status = subscription.status
        standing = subscription.standing(at: now, grace: grace)
        periodStart = subscription.periodStart
        periodEnd = subscription.periodEnd
        cancelAtPeriodEnd = subscription.cancelAtPeriodEnd
    }
}

/// `GET /api/billing`: the user's plans and credits, and what they can buy.
public struct BillingView: Encodable, Sendable {
    public let subscriptions: [SubscriptionView]
    public let creditBalance: Int
    public let plans: [Plan]
    public let creditPacks: [CreditPack]
}

public struct CreditLedgerView: Encodable, Sendable {
    public let balance: Int
    public let entries: [CreditEntry]
}

/// A user's plans and credits as the API and the settings page show them.
public struct PaidAccount: Sendable {
    let purchases: PurchaseService
    let paid: PaidAccessReader
    let catalog: @Sendable () -> CatalogSnapshot
    let clock: any WallClock
    let planGrace: TimeInterval

    public init(purchases: PurchaseService, paid: PaidAccessReader, catalog: @escaping @Sendable () -> CatalogSnapshot, clock: any WallClock,
                planGrace: TimeInterval) {
        self.purchases = purchases
        self.paid = paid
        self.catalog = catalog
        self.clock = clock
        self.planGrace = planGrace
    }

    public func view(of user: UserID) async throws -> BillingView {
        let catalog = catalog()
        let now = clock.now()
        let subscriptions = try await paid.subscriptions(of: user).map { SubscriptionView($0, plan: catalog.plan($0.plan), at: now, grace: planGrace) }
        return BillingView(subscriptions: subscriptions, creditBalance: try await paid.balance(of: user),
                           plans: catalog.plans.filter(\.active), creditPacks: try await purchases.activePacks())
    }

    public func ledger(of user: UserID, limit: Int = 100) async throws -> CreditLedgerView {
        let (balance, entries) = try await paid.ledger(of: user, limit: limit)
        return CreditLedgerView(balance: balance, entries: entries)
    }
}

struct PortalView: Encodable, Sendable {
    let url: String
}

/// The signed-in user's plans and credits: only ever their own.
public struct PaidRoutes: Sendable {
    let account: PaidAccount
    let userModels: UserModelsService

    public init(account: PaidAccount, userModels: UserModelsService) {
        self.account = account
        self.userModels = userModels
    }

    var purchases: PurchaseService { account.purchases }

    public func register(on api: RouterGroup<AppRequestContext>) {
        api.get("billing", use: billing)
        api.get("credits", use: credits)
        api.post("plans/:id/checkout", use: subscribe)
        api.post("credit-packs/:id/checkout", use: buyPack)
        api.post("billing/portal", use: portal)
    }

    @Sendable func billing(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<BillingView> {
        JSONBody(try await account.view(of: try context.requireIdentity().user))
    }

    @Sendable func credits(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<CreditLedgerView> {
        JSONBody(try await account.ledger(of: try context.requireIdentity().user))
    }

    @Sendable func subscribe(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<CheckoutStarted> {
        let profile = try context.requireIdentity().profile
        try await userModels.admitPaidCheckout(for: profile)
        return JSONBody(try await purchases.subscribe(to: PlanID(try context.parameters.require("id")), for: profile.id, catalog: account.catalog()))
    }

    @Sendable func buyPack(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<CheckoutStarted> {
        let profile = try context.requireIdentity().profile
        try await userModels.admitPaidCheckout(for: profile)
        return JSONBody(try await purchases.checkoutPack(try context.parameters.require("id"), for: profile.id))
    }

    @Sendable func portal(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<PortalView> {
        JSONBody(PortalView(url: try await purchases.portal(for: try context.requireIdentity().user)))
    }
}
