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
        priceCents = Nullable(model.priceCents)
        stripeProductId = Nullable(model.stripeProductID)
        stripePriceId = Nullable(model.stripePriceID)
        rateLimitMessagesPerDay = Nullable(model.dailyMessageLimit)
        trialMessagesAllowed = model.trialMessagesAllowed
        sortOrder = model.sortOrder
        metadata = model.metadata
        prices = Nullable(model.prices)
        dailyTokenBudget = Nullable(model.dailyTokenBudget)
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

/// The admin JSON API; the group it hangs on requires the admin role.
public struct AdminRoutes: Sendable {
    let admin: AdminService
    let maxBodyBytes: Int

    public init(admin: AdminService, maxBodyBytes: Int) {
        self.admin = admin
        self.maxBodyBytes = maxBodyBytes
    }

    public func register(on group: RouterGroup<AppRequestContext>) {
        group.get("models") { request, _ in
            let query = try Query(request).modelList
            let page = try await admin.models(query)
            let systemDefault = admin.cache.catalog.systemDefaultID
            return JSONBody(Paged(data: page.models.map { AdminModelView($0.model, systemDefault: systemDefault, messagesToday: $0.messagesToday) },
                                  page: query.page, perPage: query.perPage, total: page.total))
        }
        group.post("models") { request, context in
            let draft = try await request.decodeJSON(ModelDraft.self, limit: maxBodyBytes)
            let model = try await admin.create(draft, by: try context.actor())
            return JSONBody(view(model), status: .created)
        }
        group.get("models/:id") { _, context in JSONBody(view(try await admin.model(try context.parameters.model()))) }
        group.patch("models/:id") { request, context in
            let draft = try await request.decodeJSON(ModelDraft.self, limit: maxBodyBytes)
            return JSONBody(view(try await admin.update(try context.parameters.model(), with: draft, by: try context.actor())))
        }
        group.post("models/:id/enable") { _, context in try await setEnabled([try context.parameters.model()], true, context) }
        group.post("models/:id/disable") { _, context in try await setEnabled([try context.parameters.model()], false, context) }
        group.post("models/bulk") { request, context in
            let body = try await request.decodeJSON(BulkEnableRequest.self, limit: maxBodyBytes)
            return try await setEnabled(body.ids, body.enabled, context)
        }
        group.put("settings/default-model") { request, context in
            let body = try await request.decodeJSON(DefaultModelRequest.self, limit: maxBodyBytes)
            try await admin.setSystemDefault(body.modelId, by: try context.actor())
            return JSONBody(view(try await admin.model(body.modelId)))
        }
        group.put("settings/free-daily-limit") { request, context in
            let body = try await request.decodeJSON(FreeDailyLimitRequest.self, limit: maxBodyBytes)
            try await admin.set(.freeDailyLimit, to: body.limit, by: try context.actor())
            return JSONBody(FreeDailyLimitRequest(limit: admin.cache.catalog.freeDailyLimit))
        }
        group.put("settings/user-daily-cost-budget") { request, context in
            let body = try await request.decodeJSON(FreeDailyLimitRequest.self, limit: maxBodyBytes)
            try await admin.set(.userDailyCostBudget, to: body.limit, by: try context.actor())
            return JSONBody(FreeDailyLimitRequest(limit: admin.cache.catalog.userDailyCostBudgetMicros))
        }
        group.get("failover-groups") { _, _ in JSONBody(DataList(data: admin.failoverGroups())) }
        group.put("models/:id/stand-ins") { request, context in
            let body = try await request.decodeJSON(StandInsRequest.self, limit: maxBodyBytes)
            let model = try context.parameters.model()
            return JSONBody(FailoverGroupView(modelId: model, standIns: try await admin.setStandIns(body.standIns, of: model, by: try context.actor())))
        }
        group.get("failovers") { request, _ in
            JSONBody(DataList(data: try await admin.failovers(try Query(request).dayRange(now: admin.clock.now(), maxDays: AdminService.exportMaxDays))))
        }
        group.get("models/:id/prices") { _, context in
            JSONBody(DataList(data: try await admin.priceHistory(of: try context.parameters.model())))
        }
        group.get("models/:id/grants", use: holders)
        group.post("models/:id/grants") { request, context in
            let body = try await request.decodeJSON(GrantRequest.self, limit: maxBodyBytes)
            let model = try context.parameters.model()
            let outcome = try await admin.grant(model, to: body.user, source: body.source, note: body.note, by: try context.actor())
            return JSONBody(GrantOutcome(modelId: model, userId: outcome.user.id, changed: outcome.granted),
                            status: outcome.granted ? .created : .ok)
        }
        group.delete("models/:id/grants/:user") { _, context in
            let model = try context.parameters.model()
            let reference = try context.parameters.require("user")
            let outcome = try await admin.revoke(model, from: reference, by: try context.actor())
            return JSONBody(GrantOutcome(modelId: model, userId: outcome.user.id, changed: outcome.revoked))
        }
        group.get("users") { request, _ in
            JSONBody(DataList(data: try await admin.profiles.searchUsers(emailPrefix: Query(request).string("email") ?? "")))
        }
        group.get("stats/models") { _, _ in JSONBody(DataList(data: try await admin.statisticsTable())) }
        group.get("models/:id/stats") { _, context in JSONBody(try await admin.statistics(of: try context.parameters.model())) }
        group.get("margin") { request, _ in JSONBody(MarginView(try await admin.margin(try Query(request).dayRange(now: admin.clock.now(), maxDays: AdminService.marginMaxDays)))) }
        group.get("audit") { request, _ in
            let query = try Query(request).audit
            let result = try await admin.audit.list(query)
            return JSONBody(Paged(data: result.entries, page: query.page, perPage: query.perPage, total: result.total))
        }
        group.get("exports/:kind") { request, context in
            let name = try context.parameters.require("kind")
            guard let kind = ExportKind(rawValue: name.hasSuffix(".csv") ? String(name.dropLast(4)) : name) else {
                throw ModelgateError.notFound(what: "export", id: name)
            }
            return try await csv(kind, Query(request))
        }
    }

    /// A page of a model's holders (50 by default, at most 500), with their total.
    @Sendable private func holders(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<Paged<AccessHolder>> {
        let query = Query(request)
        let page = try query.int("page", default: 1, in: 1...100_000), perPage = try query.int("perPage", default: 50, in: 1...500)
        let found = try await admin.holders(of: try context.parameters.model(), page: page, perPage: perPage)
        return JSONBody(Paged(data: found.holders, page: page, perPage: perPage, total: found.total))
    }

    private func view(_ model: AIModel) -> AdminModelView {
        AdminModelView(model, systemDefault: admin.cache.catalog.systemDefaultID)
    }

    private func setEnabled(_ ids: [ModelID], _ enabled: Bool, _ context: AppRequestContext) async throws -> JSONBody<ChangedModels> {
        JSONBody(ChangedModels(changed: try await admin.setEnabled(ids, enabled, by: try context.actor())))
    }

    /// Streams the export page by page: memory stays at one page however long the range.
    func csv(_ kind: ExportKind, _ query: Query) async throws -> Response {
        let range = try query.dayRange(now: admin.clock.now(), maxDays: kind == .margin ? AdminService.marginMaxDays : AdminService.exportMaxDays)
        let exports = admin.exports
        // The margin report is read (and its range checked) before the response starts: a refusal
        // must be a problem with a status, not a stream cut after its head.
        let margin = kind == .margin ? try await admin.margin(range).csvRows : nil
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: CSV.line(kind.header)))
            if let margin {
                try await writer.write(ByteBuffer(string: margin.map(CSV.line).joined()))
                return try await writer.finish(nil)
            }
            var cursor: ExportReader.Cursor?
            repeat {
                let page = try await exports.page(kind, range: range, after: cursor)
                try await writer.write(ByteBuffer(string: page.rows.map(CSV.line).joined()))
                cursor = page.next
            } while cursor != nil
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [
            .contentType: "text/csv; charset=utf-8",
            .contentDisposition: "attachment; filename=\"modelgate-\(kind.rawValue)-\(range.from)-\(range.to).csv\"",
        ], body: body)
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

    enum CodingKeys: String, CodingKey { case from, to, revenueRule, totals, models, days, topSpenders }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(report.from, forKey: .from)
        try container.encode(report.to, forKey: .to)
        try container.encode(MarginReport.revenueRule, forKey: .revenueRule)
        try container.encode(report.totals, forKey: .totals)
        try container.encode(report.models, forKey: .models)
        try container.encode(report.days, forKey: .days)
        try container.encode(report.topSpenders, forKey: .topSpenders)
    }
}
