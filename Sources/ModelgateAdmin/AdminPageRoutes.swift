import Foundation
import HTTPTypes
import Hummingbird
import ModelgateAccess
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// The admin console pages: the same sign-in and CSRF rules as the settings page, the admin role
/// required, every form usable without JavaScript (post, then redirect with a notice).
public struct AdminPageRoutes: Sendable {
    let renderer: PageRenderer
    let session: PageSession
    let admin: AdminService

    public init(renderer: PageRenderer, session: PageSession, admin: AdminService) {
        self.renderer = renderer
        self.session = session
        self.admin = admin
    }

    public func register(on group: RouterGroup<AppRequestContext>) {
        group.get("models") { request, context in try await table(request, context) }
        group.get("models/new", use: newModelForm)
        group.post("models", use: create)
        group.get("models/:id", use: editForm)
        group.post("models/:id", use: update)
        group.post("models/:id/enabled", use: toggle)
        group.post("models/bulk", use: bulk)
        group.post("settings/default-model", use: setSystemDefault)
        group.post("settings/free-daily-limit", use: setFreeDailyLimit)
        group.post("settings/user-daily-cost-budget", use: setUserDailyCostBudget)
        group.get("models/:id/stats") { request, context in try await stats(request, context) }
        group.post("models/:id/stand-ins", use: setStandIns)
        registerAliases(on: group)
        group.post("models/:id/grants", use: grant)
        group.post("models/:id/grants/revoke", use: revoke)
        group.get("audit", use: audit)
        group.get("margin", use: margin)
    }

    @Sendable private func margin(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let report = try await admin.margin(try Query(request).dayRange(now: admin.now, maxDays: AdminService.marginMaxDays))
        return renderer.render("admin-margin", MarginPage(chrome: try chrome(context, "Cost and margin"), report: report, catalog: admin.snapshot))
    }

    @Sendable private func newModelForm(_ request: Request, _ context: AppRequestContext) throws -> Response {
        renderer.render("admin-model-form", AdminPage.Form(chrome: try chrome(context, "New model"), model: nil, values: nil, errors: []))
    }

    @Sendable private func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(AdminModelForm.self, request, context)
        let (draft, unreadable) = form.draft
        do {
            let model = try await admin.create(draft, earlier: unreadable, by: try context.actor())
            return Response.redirect(to: "/admin/models?notice=created&model=\(model.id)", type: .normal)
        } catch ModelgateError.validationFailed(let errors) {
            return try refusedForm(context, model: nil, form: form, errors: errors)
        }
    }

    @Sendable private func editForm(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let model = try await admin.model(try context.parameters.model())
        return renderer.render("admin-model-form", AdminPage.Form(
            chrome: try chrome(context, "Edit \(model.displayName)"), model: model, values: nil, errors: [], catalogStandIns: admin.snapshot.standIns))
    }

    @Sendable private func update(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        var form = try await session.verifiedForm(AdminModelForm.self, request, context)
        let model = try await admin.model(try context.parameters.model())
        form.id = nil
        let (draft, unreadable) = form.draft
        do {
            _ = try await admin.update(model.id, with: draft, earlier: unreadable, by: try context.actor())
            return Response.redirect(to: "/admin/models?notice=updated&model=\(model.id)", type: .normal)
        } catch ModelgateError.validationFailed(let errors) {
            return try refusedForm(context, model: model, form: form, errors: errors)
        }
    }

    @Sendable private func toggle(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let enabled = try await session.verifiedForm(EnabledForm.self, request, context).enabled
        return try await act(request, context) {
            _ = try await admin.setEnabled([try context.parameters.model()], enabled, by: try context.actor())
            return "notice=\(enabled ? "enabled" : "disabled")&model=\(try context.parameters.model())"
        }
    }

    @Sendable private func bulk(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(BulkForm.self, request, context)
        let ids = (form.ids ?? []).map { ModelID($0) }
        return try await act(request, context) {
            let changed = try await admin.setEnabled(ids, form.enabled, by: try context.actor())
            return "notice=bulk&count=\(changed.count)"
        }
    }

    @Sendable private func setSystemDefault(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(ModelChoiceForm.self, request, context)
        return try await act(request, context) {
            let id = ModelID(form.modelId ?? "")
            try await admin.setSystemDefault(id, by: try context.actor())
            return "notice=default&model=\(id)"
        }
    }

    /// A blank field is unlimited: the form labels it so.
    @Sendable private func setFreeDailyLimit(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(FreeDailyLimitForm.self, request, context)
        return try await act(request, context) {
            let raw = form.limit?.trimmingCharacters(in: .whitespaces) ?? ""
            guard raw.isEmpty || Int(raw) != nil else {
                throw ModelgateError.validationFailed([FieldError("limit", "must be a whole number, or blank for unlimited")])
            }
            try await admin.set(.freeDailyLimit, to: Int(raw), by: try context.actor())
            return "notice=free-limit"
        }
    }

    /// The stand-ins as ids separated by commas (blank: none), with one higher-tier mark for all.
    @Sendable private func setStandIns(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(StandInsForm.self, request, context)
        let model = try context.parameters.model()
        return try await act(request, context) {
            let ids = (form.standIns ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let standIns = ids.map { StandIn(modelId: ModelID($0), allowHigherTier: form.allowHigherTier == "true") }
            _ = try await admin.setStandIns(standIns, of: model, by: try context.actor())
            return "notice=updated&model=\(model)"
        }
    }

    /// Dollars as typed (blank: no budget), stored as micro-dollars.
    @Sendable private func setUserDailyCostBudget(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(FreeDailyLimitForm.self, request, context)
        return try await act(request, context) {
            let raw = form.limit?.trimmingCharacters(in: .whitespaces) ?? ""
            let micros = TokenPrices.micros(fromDollars: raw)
            guard raw.isEmpty || micros != nil else {
                throw ModelgateError.validationFailed([FieldError("limit", "must be dollars, e.g. 0.50, or blank for no budget")])
            }
            try await admin.set(.userDailyCostBudget, to: micros, by: try context.actor())
            return "notice=cost-budget"
        }
    }

    @Sendable private func grant(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(GrantForm.self, request, context)
        let id = try context.parameters.model()
        do {
            let source = EntitlementSource(rawValue: form.source ?? "") ?? .adminGrant
            let note = form.note.flatMap { $0.isEmpty ? nil : $0 }
            let outcome = try await admin.grant(id, to: form.user ?? "", source: source, note: note, by: try context.actor())
            return Response.redirect(to: "/admin/models/\(id)/stats?notice=\(outcome.granted ? "granted" : "unchanged")", type: .normal)
        } catch {
            return try await stats(request, context, notice: .refused(error, catalog: admin.snapshot))
        }
    }

    @Sendable private func revoke(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(RevokeForm.self, request, context)
        let id = try context.parameters.model()
        _ = try await admin.revoke(id, from: form.user ?? "", by: try context.actor())
        return Response.redirect(to: "/admin/models/\(id)/stats?notice=revoked", type: .normal)
    }

    private func chrome(_ context: AppRequestContext, _ title: String, notice: SettingsNotice? = nil) throws -> AdminPage.Chrome {
        try AdminPage.Chrome(context, session: session, title: title, notice: notice)
    }

    /// Runs a table action: redirect with its notice, or show the table with why it was refused.
    func act(_ request: Request, _ context: AppRequestContext, _ action: () async throws -> String) async throws -> Response {
        do {
            return Response.redirect(to: "/admin/models?\(try await action())", type: .normal)
        } catch {
            return try await table(request, context, notice: .refused(error, catalog: admin.snapshot))
        }
    }

    private func refusedForm(_ context: AppRequestContext, model: AIModel?, form: AdminModelForm, errors: [FieldError]) throws -> Response {
        let notice = SettingsNotice(kind: "error", text: "Nothing was saved: please correct the fields marked below.")
        let page = AdminPage.Form(chrome: try chrome(context, model.map { "Edit \($0.displayName)" } ?? "New model", notice: notice),
                                  model: model, values: form.values, errors: errors, catalogStandIns: admin.snapshot.standIns)
        return renderer.render("admin-model-form", page, status: .unprocessableContent)
    }

    private func table(_ request: Request, _ context: AppRequestContext, notice: SettingsNotice? = nil) async throws -> Response {
        let query = Query(request)
        let list = try query.modelList
        let page = try await admin.models(list)
        let stats = Dictionary(uniqueKeysWithValues: try await admin.statisticsTable().map { ($0.modelId, $0) })
        let catalog = admin.snapshot
        let kept: [(String, String)] = ["tier", "provider", "enabled", "q", "sort", "order"].compactMap { key in query.string(key).map { (key, $0) } }
        let window = StatisticsWindow(now: admin.now)
        let failovers = try await admin.failovers(DayRange(from: window.monthStart, to: window.today))
        let sorts: [(ModelListQuery.Sort, String)] = [(.name, "Name"), (.provider, "Provider"), (.tier, "Tier"), (.sortOrder, "Order"), (.messagesToday, "Messages today")]
        let view = AdminPage.Table(
            chrome: try chrome(context, "Models", notice: notice ?? AdminNotice.from(query, catalog: catalog)),
            rows: page.models.map { AdminPage.ModelRow($0.model, messagesToday: $0.messagesToday, stats: stats[$0.model.id], systemDefault: catalog.systemDefaultID) },
            empty: page.models.isEmpty, total: page.total, search: list.search ?? "",
            tiers: AdminPage.options(Tier.allCases, selected: list.tier, all: "All tiers"),
            providers: AdminPage.options(Provider.allCases, selected: list.provider, all: "All providers"),
            states: [AdminPage.Option(value: "", label: "Enabled and disabled", selected: list.enabled == nil),
                     AdminPage.Option(value: "true", label: "Enabled", selected: list.enabled == true),
                     AdminPage.Option(value: "false", label: "Disabled", selected: list.enabled == false)],
            sortLinks: sorts.map { sort, label in
                let descending = list.sort == sort && !list.descending
                return AdminPage.Link(label: label + (list.sort == sort ? (list.descending ? " ↓" : " ↑") : ""),
                                      href: "/admin/models?" + AdminPage.encode(kept.filter { $0.0 != "sort" && $0.0 != "order" }
                                          + [("sort", sort.rawValue), ("order", descending ? "desc" : "asc")]),
                                      current: list.sort == sort)
            },
            pagination: AdminPage.pages(total: page.total, perPage: list.perPage, current: list.page, path: "/admin/models", query: kept),
            exportFrom: window.monthStart, exportTo: window.today,
            freeDailyLimit: catalog.freeDailyLimit.map(String.init) ?? "",
            userDailyCostBudget: catalog.userDailyCostBudgetMicros.map { String(Money.dollars(micros: $0).dropFirst()) } ?? "",
            failovers: failovers, hasFailovers: !failovers.isEmpty,
            defaultOptions: catalog.enabledModels.filter { $0.kind == .chat }.map { AdminPage.Option(value: $0.id.rawValue, label: $0.displayName, selected: $0.id == catalog.systemDefaultID) },
            aliases: catalog.aliases, hasAliases: !catalog.aliases.isEmpty,
            aliasModelOptions: catalog.models.map { AdminPage.Option(value: $0.id.rawValue, label: $0.displayName, selected: false) })
        return renderer.render("admin-models", view, status: notice?.status ?? .ok)
    }

    private func stats(_ request: Request, _ context: AppRequestContext, notice: SettingsNotice? = nil) async throws -> Response {
        let id = try context.parameters.model()
        let model = try await admin.model(id)
        let figures = try await admin.statistics(of: id)
        let page = try Query(request).int("page", default: 1, in: 1...100_000)
        let holders = try await admin.holders(of: id, page: page, perPage: AdminPage.Stats.holdersPerPage)
        let window = StatisticsWindow(now: admin.now)
        let margin = try await admin.margin(DayRange(from: window.monthStart, to: window.today))
        let view = AdminPage.Stats(
            chrome: try chrome(context, "\(model.displayName) statistics", notice: notice ?? AdminNotice.from(Query(request), catalog: admin.snapshot)),
            id: id.rawValue, name: model.displayName, isPremium: model.tier == .premium,
            figures: [
                .init(label: "Users with access", value: "\(figures.usersWithAccess)"),
                .init(label: "Messages today", value: "\(figures.messagesToday)"),
                .init(label: "Messages, last 7 days", value: "\(figures.messagesLast7Days)"),
                .init(label: "Messages, last 30 days", value: "\(figures.messagesLast30Days)"),
                .init(label: "Active users, last 30 days", value: "\(figures.activeUsersLast30Days ?? 0)"),
                .init(label: "Average messages per active user", value: String(format: "%.2f", figures.averageMessagesPerUser ?? 0)),
                .init(label: "Purchases", value: "\(figures.purchases)"),
                .init(label: "Revenue (after refunds)", value: Money.dollars(figures.revenueCents)),
                .init(label: "Refunded", value: Money.dollars(figures.refundedCents)),
                .init(label: "Trial users", value: "\(figures.trialUsers)"),
                .init(label: "Trial → purchase", value: String(format: "%.1f%%", figures.trialConversionRate * 100)),
            ] + Self.costFigures(of: id, in: margin),
            charts: AdminPage.Stats.charts(of: id, in: margin),
            ranking: (figures.topUsers ?? []).isEmpty ? nil : AdminPage.Ranking(users: figures.topUsers ?? []),
            holders: holders.holders.map { AdminPage.Holder(userId: $0.userId, email: $0.email ?? "—", source: $0.source.rawValue, note: $0.note ?? "",
                                                            grantedAt: ISO8601.string($0.grantedAt)) },
            hasHolders: !holders.holders.isEmpty,
            holderPages: AdminPage.Pages(page: page, perPage: AdminPage.Stats.holdersPerPage, total: holders.total))
        return renderer.render("admin-model-stats", view, status: notice?.status ?? .ok)
    }

    /// The model's tokens, cost and margin over the last 30 days.
    private static func costFigures(of model: ModelID, in report: MarginReport) -> [AdminPage.Figure] {
        let figures = report.models.first { $0.modelId == model }?.figures ?? MarginFigures()
        return [
            .init(label: "Tokens, last 30 days", value: ChartUnit.count.format(figures.inputTokens + figures.outputTokens)),
            .init(label: "Provider cost, last 30 days", value: ChartUnit.microdollars.format(figures.costMicros)),
            .init(label: "Margin, last 30 days (booked revenue − cost)", value: ChartUnit.microdollars.format(figures.marginMicros)),
        ]
    }

    @Sendable private func audit(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let query = Query(request)
        let filter = try query.audit
        let result = try await admin.auditLog(filter)
        func json(_ value: JSONValue?) -> String {
            value.map { String(decoding: (try? JSONEncoder.sorted.encode($0)) ?? Data(), as: UTF8.self) } ?? ""
        }
        let kept: [(String, String)] = ["actor", "action", "target", "from", "to"].compactMap { key in query.string(key).map { (key, $0) } }
        let view = AdminPage.Audit(
            chrome: try chrome(context, "Audit log"),
            rows: result.entries.map { AdminPage.AuditRow(time: ISO8601.string($0.createdAt), actor: $0.actorId ?? "system", action: $0.action.rawValue,
                                                          target: "\($0.targetType) \($0.targetId)", before: json($0.before), after: json($0.after)) },
            empty: result.entries.isEmpty, total: result.total, actor: filter.actor ?? "", action: filter.action ?? "",
            target: filter.target ?? "", from: query.string("from") ?? "", to: query.string("to") ?? "",
            pagination: AdminPage.pages(total: result.total, perPage: filter.perPage, current: filter.page, path: "/admin/audit", query: kept))
        return renderer.render("admin-audit", view)
    }
}
