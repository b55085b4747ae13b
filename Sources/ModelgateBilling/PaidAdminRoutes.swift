import Foundation
import Hummingbird
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateStore

/// `PUT /api/admin/plans/{id}`: a plan's terms (its Stripe ids are `stripe sync`'s).
struct PlanBody: Decodable {
    let name: String
    let interval: BillingInterval
    let priceCents: Int
    let unlocksAllPremium: Bool
    let models: [ModelID]?
    let messagesPerDay: Int?
    let messagesPerPeriod: Int?
    let trialDays: Int?
    let active: Bool?
    let meter: PlanMeter?
}

struct PackBody: Decodable {
    let name: String
    let credits: Int
    let priceCents: Int
    let validDays: Int?
    let active: Bool?
}

/// `PUT /api/admin/models/{id}/credit-price`: `{"price": {...}}`, or `{"price": null}` to stop selling by credits.
struct CreditPriceBody: Decodable {
    let price: CreditPrice?
}

struct GrantBody: Decodable {
    /// Positive to give, negative to take back.
    let credits: Int
    /// Makes a retried grant change nothing.
    let reference: String?
    let note: String?
}

struct BalanceView: Encodable, Sendable {
    let balance: Int
}

struct RecordedView: Encodable, Sendable {
    /// False when the transaction was reported before (nothing changed).
    let recorded: Bool
}

/// Plans, packs, credit prices, credit grants and store purchases, for admins.
public struct PaidAdminRoutes: Sendable {
    let administration: PaidAdministration
    let paid: PaidAccessReader
    let profiles: ProfileRepository
    /// An app's end user (created on first sight), for store purchases an app's backend reports.
    let endUser: @Sendable (_ app: String, _ externalID: String) async throws -> UserID
    let maxBodyBytes: Int

    public init(administration: PaidAdministration, paid: PaidAccessReader, profiles: ProfileRepository,
                endUser: @escaping @Sendable (String, String) async throws -> UserID, maxBodyBytes: Int) {
        self.administration = administration
        self.paid = paid
        self.profiles = profiles
        self.endUser = endUser
        self.maxBodyBytes = maxBodyBytes
    }

    public func register(on admin: RouterGroup<AppRequestContext>) {
        admin.get("plans", use: plans)
        admin.put("plans/:id", use: savePlan)
        admin.get("credit-packs", use: packs)
        admin.put("credit-packs/:id", use: savePack)
        admin.put("models/:id/credit-price", use: setCreditPrice)
        admin.get("users/:user/credits", use: ledger)
        admin.post("users/:user/credits", use: grant)
        admin.post("users/:user/store-purchases", use: storePurchase)
        admin.post("apps/:app/end-users/:external/store-purchases", use: endUserStorePurchase)
        admin.put("keys/:id/store-purchases", use: keyRoutes.allow)
    }

    /// `POST /api/store-purchases`: an allowed service key reports a purchase for the end user it names.
    public func registerReports(on api: RouterGroup<AppRequestContext>) {
        api.post("store-purchases", use: keyRoutes.report)
    }

    private var keyRoutes: StorePurchaseKeyRoutes { StorePurchaseKeyRoutes(administration: administration, maxBodyBytes: maxBodyBytes) }

    @Sendable func plans(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<DataList<Plan>> {
        JSONBody(DataList(data: administration.cache.catalog.plans))
    }

    @Sendable func savePlan(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<Plan> {
        let body = try await request.decodeJSON(PlanBody.self, limit: maxBodyBytes)
        let id = PlanID(try context.parameters.require("id"))
        let existing = administration.cache.catalog.plan(id)
        let plan = Plan(id: id, name: body.name, interval: body.interval, priceCents: body.priceCents, unlocksAllPremium: body.unlocksAllPremium,
                        models: body.models ?? [], messagesPerDay: body.messagesPerDay, messagesPerPeriod: body.messagesPerPeriod,
                        trialDays: body.trialDays, active: body.active ?? true, meter: body.meter, stripeProductID: existing?.stripeProductID,
                        stripePriceID: existing?.stripePriceID)
        try await administration.save(plan, by: try context.actor())
        return JSONBody(plan)
    }

    @Sendable func packs(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<DataList<CreditPack>> {
        JSONBody(DataList(data: try await administration.packs()))
    }

    @Sendable func savePack(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<CreditPack> {
        let body = try await request.decodeJSON(PackBody.self, limit: maxBodyBytes)
        let pack = CreditPack(id: try context.parameters.require("id"), name: body.name, credits: body.credits, priceCents: body.priceCents,
                              validDays: body.validDays, active: body.active ?? true)
        try await administration.save(pack, by: try context.actor())
        return JSONBody(pack)
    }

    @Sendable func setCreditPrice(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<CreditPriceBody.View> {
        let body = try await request.decodeJSON(CreditPriceBody.self, limit: maxBodyBytes)
        try await administration.setCreditPrice(body.price, of: try context.parameters.model(), by: try context.actor())
        return JSONBody(CreditPriceBody.View(price: Nullable(body.price)))
    }

    @Sendable func ledger(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<CreditLedgerView> {
        let (balance, entries) = try await paid.ledger(of: try await user(context))
        return JSONBody(CreditLedgerView(balance: balance, entries: entries))
    }

    @Sendable func grant(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<BalanceView> {
        let body = try await request.decodeJSON(GrantBody.self, limit: maxBodyBytes)
        let balance = try await administration.grant(body.credits, to: try await user(context), reference: body.reference, note: body.note ?? "",
                                                     by: try context.actor())
        return JSONBody(BalanceView(balance: balance))
    }

    @Sendable func storePurchase(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<RecordedView> {
        let body = try await request.decodeJSON(StorePurchase.self, limit: maxBodyBytes)
        return JSONBody(RecordedView(recorded: try await administration.record(body, for: try await user(context), by: try context.actor())))
    }

    @Sendable func endUserStorePurchase(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<RecordedView> {
        let body = try await request.decodeJSON(StorePurchase.self, limit: maxBodyBytes)
        let user = try await endUser(try context.parameters.require("app"), try context.parameters.require("external"))
        return JSONBody(RecordedView(recorded: try await administration.record(body, for: user, by: try context.actor())))
    }

    /// The user named in the path, by id or email.
    private func user(_ context: AppRequestContext) async throws -> UserID {
        let reference = try context.parameters.require("user")
        guard let user = try await profiles.findUser(reference) else { throw ModelgateError.notFound(what: "user", id: reference) }
        return user.id
    }
}

extension CreditPriceBody {
    struct View: Encodable, Sendable {
        let price: Nullable<CreditPrice>
    }
}
