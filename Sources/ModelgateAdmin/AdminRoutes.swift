import Foundation
import Hummingbird
import ModelgateAccess
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore
import NIOCore

struct AdminModelView: Encodable, Sendable {
    let id: ModelID
    let provider: Provider
    let providerModelId: String
    let displayName: String
    let description: String
    let enabled: Bool
    let tier: Tier
    let kind: ModelKind
    let priceCents: Nullable<Int>
    let stripeProductId: Nullable<String>
    let stripePriceId: Nullable<String>
    let rateLimitMessagesPerDay: Nullable<Int>
    let trialMessagesAllowed: Int
    let sortOrder: Int
    let metadata: JSONValue
    /// Provider list prices in micro-dollars per million tokens, in force now.
    let prices: Nullable<TokenPrices>
    let dailyTokenBudget: Nullable<Int>
    /// What a message costs in credits; `null`: credits do not pay for it.
    let creditPrice: Nullable<CreditPrice>
    let isSystemDefault: Bool
    let messagesToday: Int?

    init(_ model: AIModel, systemDefault: ModelID, messagesToday: Int? = nil) {
        id = model.id
        provider = model.provider
        providerModelId = model.providerModelID
        displayName = model.displayName
        description = model.description
        enabled = model.enabled
        tier = model.tier
        kind = model.kind
        priceCents = Nullable(model.priceCents)
        stripeProductId = Nullable(model.stripeProductID)
        stripePriceId = Nullable(model.stripePriceID)
        rateLimitMessagesPerDay = Nullable(model.dailyMessageLimit)
        trialMessagesAllowed = model.trialMessagesAllowed
        sortOrder = model.sortOrder
        metadata = model.metadata
        prices = Nullable(model.prices)
        dailyTokenBudget = Nullable(model.dailyTokenBudget)
        creditPrice = Nullable(model.creditPrice)
        isSystemDefault = model.id == systemDefault
        self.messagesToday = messagesToday
    }
}

struct BulkEnableRequest: Decodable {
    let ids: [ModelID]
    let enabled: Bool
}

struct DefaultModelRequest: Decodable {
    let modelId: ModelID
}

/// `{"limit": 200}`, or `{"limit": null}` for unlimited: the key is required, so unlimited is
/// never the result of leaving it out. (The daily dollar budget per user takes micro-dollars.)
struct FreeDailyLimitRequest: Codable {
    let limit: Int?

    enum CodingKeys: String, CodingKey { case limit }

    init(limit: Int?) { self.limit = limit }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        limit = try container.decodeNil(forKey: .limit) ? nil : try container.decode(Int.self, forKey: .limit)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(limit, forKey: .limit)
    }
}

struct GrantRequest: Decodable {
    let user: String
    let source: EntitlementSource
    let note: String?
}

struct ChangedModels: Encodable, Sendable {
    let changed: [ModelID]
}

struct GrantOutcome: Encodable, Sendable {
    let modelId: ModelID
    let userId: UserID
    let changed: Bool
}

/// The admin JSON API; the group it hangs on requires the admin role. Each route is a named
/// handler; the reports and exports are in `AdminRoutes+Reports.swift`.
public struct AdminRoutes: Sendable {
    let admin: AdminService
    let maxBodyBytes: Int

    public init(admin: AdminService, maxBodyBytes: Int) {
        self.admin = admin
        self.maxBodyBytes = maxBodyBytes
    }

    public func register(on group: RouterGroup<AppRequestContext>) {
        ModelAliasRoutes(admin: admin, maxBodyBytes: maxBodyBytes).register(on: group)
        group.get("models", use: listModels)
        group.post("models", use: createModel)
        group.get("models/:id", use: showModel)
        group.patch("models/:id", use: updateModel)
        group.post("models/:id/enable", use: enableModel)
        group.post("models/:id/disable", use: disableModel)
        group.post("models/bulk", use: enableModels)
        group.put("settings/default-model", use: setSystemDefault)
        group.put("settings/free-daily-limit", use: setFreeDailyLimit)
        group.put("settings/user-daily-cost-budget", use: setUserDailyCostBudget)
        group.get("failover-groups", use: listFailoverGroups)
        group.put("models/:id/stand-ins", use: setStandIns)
        group.get("models/:id/prices", use: listPrices)
        group.get("models/:id/grants", use: holders)
        group.post("models/:id/grants", use: grant)
        group.delete("models/:id/grants/:user", use: revoke)
        group.get("users", use: searchUsers)
        registerReports(on: group)
    }

    @Sendable func listModels(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<Paged<AdminModelView>> {
        let query = try Query(request).modelList
        let page = try await admin.models(query)
        let systemDefault = admin.snapshot.systemDefaultID
        return JSONBody(Paged(data: page.models.map { AdminModelView($0.model, systemDefault: systemDefault, messagesToday: $0.messagesToday) },
                              page: query.page, perPage: query.perPage, total: page.total))
    }

    @Sendable func createModel(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<AdminModelView> {
        let draft = try await request.decodeJSON(ModelDraft.self, limit: maxBodyBytes)
        return JSONBody(view(try await admin.create(draft, by: try context.actor())), status: .created)
    }

    @Sendable func showModel(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<AdminModelView> {
        JSONBody(view(try await admin.model(try context.parameters.model())))
    }

    @Sendable func updateModel(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<AdminModelView> {
        let draft = try await request.decodeJSON(ModelDraft.self, limit: maxBodyBytes)
        return JSONBody(view(try await admin.update(try context.parameters.model(), with: draft, by: try context.actor())))
    }

    @Sendable func enableModel(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<ChangedModels> {
        try await setEnabled([try context.parameters.model()], true, context)
    }

    @Sendable func disableModel(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<ChangedModels> {
        try await setEnabled([try context.parameters.model()], false, context)
    }

    @Sendable func enableModels(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<ChangedModels> {
        let body = try await request.decodeJSON(BulkEnableRequest.self, limit: maxBodyBytes)
        return try await setEnabled(body.ids, body.enabled, context)
    }

    @Sendable func setSystemDefault(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<AdminModelView> {
        let body = try await request.decodeJSON(DefaultModelRequest.self, limit: maxBodyBytes)
        try await admin.setSystemDefault(body.modelId, by: try context.actor())
        return JSONBody(view(try await admin.model(body.modelId)))
    }

    @Sendable func setFreeDailyLimit(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<FreeDailyLimitRequest> {
        let body = try await request.decodeJSON(FreeDailyLimitRequest.self, limit: maxBodyBytes)
        try await admin.set(.freeDailyLimit, to: body.limit, by: try context.actor())
        return JSONBody(FreeDailyLimitRequest(limit: admin.snapshot.freeDailyLimit))
    }

    @Sendable func setUserDailyCostBudget(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<FreeDailyLimitRequest> {
        let body = try await request.decodeJSON(FreeDailyLimitRequest.self, limit: maxBodyBytes)
        try await admin.set(.userDailyCostBudget, to: body.limit, by: try context.actor())
        return JSONBody(FreeDailyLimitRequest(limit: admin.snapshot.userDailyCostBudgetMicros))
    }

    @Sendable func listFailoverGroups(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<DataList<FailoverGroupView>> {
        JSONBody(DataList(data: admin.failoverGroups()))
    }

    @Sendable func setStandIns(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<FailoverGroupView> {
        let body = try await request.decodeJSON(StandInsRequest.self, limit: maxBodyBytes)
        let model = try context.parameters.model()
        return JSONBody(FailoverGroupView(modelId: model, standIns: try await admin.setStandIns(body.standIns, of: model, by: try context.actor())))
    }

    @Sendable func listPrices(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<DataList<PriceChange>> {
        JSONBody(DataList(data: try await admin.priceHistory(of: try context.parameters.model())))
    }

    /// A page of a model's holders (50 by default, at most 500), with their total.
    @Sendable func holders(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<Paged<AccessHolder>> {
        let query = Query(request)
        let page = try query.int("page", default: 1, in: 1...100_000), perPage = try query.int("perPage", default: 50, in: 1...500)
        let found = try await admin.holders(of: try context.parameters.model(), page: page, perPage: perPage)
        return JSONBody(Paged(data: found.holders, page: page, perPage: perPage, total: found.total))
    }

    @Sendable func grant(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<GrantOutcome> {
        let body = try await request.decodeJSON(GrantRequest.self, limit: maxBodyBytes)
        let model = try context.parameters.model()
        let outcome = try await admin.grant(model, to: body.user, source: body.source, note: body.note, by: try context.actor())
        return JSONBody(GrantOutcome(modelId: model, userId: outcome.user.id, changed: outcome.granted), status: outcome.granted ? .created : .ok)
    }

    @Sendable func revoke(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<GrantOutcome> {
        let model = try context.parameters.model()
        let outcome = try await admin.revoke(model, from: try context.parameters.require("user"), by: try context.actor())
        return JSONBody(GrantOutcome(modelId: model, userId: outcome.user.id, changed: outcome.revoked))
    }

    @Sendable func searchUsers(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<DataList<UserSummary>> {
        JSONBody(DataList(data: try await admin.searchUsers(emailPrefix: Query(request).string("email") ?? "")))
    }

    private func view(_ model: AIModel) -> AdminModelView {
        AdminModelView(model, systemDefault: admin.snapshot.systemDefaultID)
    }

    private func setEnabled(_ ids: [ModelID], _ enabled: Bool, _ context: AppRequestContext) async throws -> JSONBody<ChangedModels> {
        JSONBody(ChangedModels(changed: try await admin.setEnabled(ids, enabled, by: try context.actor())))
    }
}

/// A model's stand-ins, in the order they are tried.
struct FailoverGroupView: Encodable, Sendable {
    let modelId: ModelID
    let standIns: [StandIn]
}

/// `PUT /api/admin/models/{id}/stand-ins`: the whole ordered list (`[]` removes the group).
struct StandInsRequest: Decodable, Sendable {
    let standIns: [StandIn]
}

/// `GET /api/admin/margin`: the report with the revenue rule spelled out.
struct MarginView: Encodable, Sendable {
    let report: MarginReport
    init(_ report: MarginReport) { self.report = report }

    enum CodingKeys: String, CodingKey { case from, to, revenueRule, totals, models, days, topSpenders, paidAccess, paidAccessRule }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(report.from, forKey: .from)
        try container.encode(report.to, forKey: .to)
        try container.encode(MarginReport.revenueRule, forKey: .revenueRule)
        try container.encode(report.totals, forKey: .totals)
        try container.encode(report.models, forKey: .models)
        try container.encode(report.days, forKey: .days)
        try container.encode(report.topSpenders, forKey: .topSpenders)
        try container.encode(report.paid, forKey: .paidAccess)
        try container.encode(PaidRevenueReport.rule, forKey: .paidAccessRule)
    }
}
