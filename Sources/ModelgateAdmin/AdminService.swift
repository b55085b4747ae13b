import Foundation
import ModelgateAccess
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// What admins do to the catalog and to access, with the in-memory catalog refreshed after each
/// change so this instance answers with it at once (others follow the version counter).
public struct AdminService: Sendable {
    let cache: CatalogCache
    let catalog: CatalogRepository
    let listing: ModelListing
    let failovers: Failovers
    let administration: CatalogAdministration
    let grants: AccessGrants
    let profiles: ProfileRepository
    let statistics: StatisticsRepository
    let margins: MarginRepository
    let audit: AuditTrail
    let exports: ExportReader
    let outbox: AnalyticsOutbox
    let clock: any WallClock

    public init(database: Database, cache: CatalogCache, outbox: AnalyticsOutbox, clock: any WallClock) {
        self.cache = cache
        catalog = CatalogRepository(database: database)
        listing = ModelListing(database: database)
        failovers = Failovers(database: database)
        administration = CatalogAdministration(database: database)
        grants = AccessGrants(database: database)
        profiles = ProfileRepository(database: database)
        statistics = StatisticsRepository(database: database)
        margins = MarginRepository(database: database)
        audit = AuditTrail(database: database)
        exports = ExportReader(database: database)
        self.outbox = outbox
        self.clock = clock
    }

    var today: String { StatisticsWindow(now: clock.now()).today }
    var now: Date { clock.now() }
    /// The in-memory catalog this instance serves from.
    var snapshot: CatalogSnapshot { cache.catalog }

    func searchUsers(emailPrefix prefix: String) async throws -> [UserSummary] {
        try await profiles.searchUsers(emailPrefix: prefix)
    }

    func auditLog(_ query: AuditQuery) async throws -> (entries: [AuditEntry], total: Int) {
        try await audit.list(query)
    }

    func exportPage(_ kind: ExportKind, range: DayRange, after cursor: ExportReader.Cursor?) async throws -> (rows: [[String]], next: ExportReader.Cursor?) {
        try await exports.page(kind, range: range, after: cursor)
    }

    func models(_ query: ModelListQuery) async throws -> ModelListPage {
        try await listing.list(query, today: today)
    }

    /// The newest stored model (not the cache, which another instance may have just outdated).
    func model(_ id: ModelID) async throws -> AIModel {
        guard let model = try await catalog.snapshot().model(id) else { throw ModelgateError.notFound(what: "model", id: id.rawValue) }
        return model
    }

    func create(_ draft: ModelDraft, earlier: [FieldError] = [], by actor: Actor) async throws -> AIModel {
        let model = try draft.validated(editing: nil, earlier: earlier)
        let now = clock.now()
        try await administration.create(model, by: actor, at: now) { [outbox] db in
            guard let user = actor.user else { return }
            try await outbox.enqueue([.adminModelCreated(model: model.id, tier: model.tier, priceCents: model.priceCents)], for: user, at: now, in: db)
        }
        try await cache.refresh()
        return model
    }

    func update(_ id: ModelID, with draft: ModelDraft, earlier: [FieldError] = [], by actor: Actor) async throws -> AIModel {
        let current = try await catalog.snapshot()
        guard let before = current.model(id) else { throw ModelgateError.notFound(what: "model", id: id.rawValue) }
        let model = try draft.validated(editing: before, earlier: earlier)
        if !model.enabled, before.enabled, current.systemDefaultID == id { throw ModelgateError.systemDefaultRequired(id) }
        guard model != before else { return model }
        let now = clock.now()
        try await administration.update(model, before: before, by: actor, at: now) { [outbox] db in
            guard model.enabled != before.enabled, let user = actor.user else { return }
            try await outbox.enqueue([Self.toggled(model.id, model.enabled)], for: user, at: now, in: db)
        }
        try await cache.refresh()
        return model
    }

    func setEnabled(_ ids: [ModelID], _ enabled: Bool, by actor: Actor) async throws -> [ModelID] {
        let now = clock.now()
        let changed = try await administration.setEnabled(ids, enabled: enabled, by: actor, at: now) { [outbox] changed, db in
            guard let user = actor.user else { return }
            try await outbox.enqueue(changed.map { Self.toggled($0, enabled) }, for: user, at: now, in: db)
        }
        try await cache.refresh()
        return changed
    }

    func setSystemDefault(_ id: ModelID, by actor: Actor) async throws {
        try await administration.setSystemDefault(id, by: actor, at: clock.now())
        try await cache.refresh()
    }

    func set(_ limit: CatalogLimit, to value: Int?, by actor: Actor) async throws {
        try await administration.set(limit, to: value, by: actor, at: clock.now())
        try await cache.refresh()
    }

    /// Grants a premium model to a user found by id or email. Returns whether access is new.
    func grant(_ model: ModelID, to reference: String, source: EntitlementSource, note: String?, by actor: Actor)
        async throws -> (user: UserSummary, granted: Bool) {
        guard source != .purchase else {
            throw ModelgateError.validationFailed([FieldError("source", "must be admin_grant or trial (purchases come from Stripe)")])
        }
        let (user, _) = try await target(model, reference)
        let now = clock.now()
        let event = AnalyticsEvent.adminModelAccessGranted(
            model: model, user: user.id, source: source == .trial ? .trial : .adminGrant)
        let granted = try await grants.grant(model: model, to: user, source: source, note: note, by: actor, at: now) { [outbox] db in
            guard let admin = actor.user else { return }
            try await outbox.enqueue([event], for: admin, at: now, in: db)
        }
        return (user, granted)
    }

    /// Revokes a user's access (found by id or email). Returns the user and whether access ended.
    func revoke(_ model: ModelID, from reference: String, by actor: Actor) async throws -> (user: UserSummary, revoked: Bool) {
        let (user, _) = try await target(model, reference)
        return (user, try await grants.revoke(model: model, from: user, by: actor, at: clock.now()))
    }

    func holders(of model: ModelID, page: Int, perPage: Int) async throws -> (holders: [AccessHolder], total: Int) {
        _ = try await self.model(model)
        return try await grants.holders(of: model, page: page, perPage: perPage)
    }

    func statistics(of model: ModelID) async throws -> ModelStatistics {
        _ = try await self.model(model)
        return try await statistics.one(model, window: StatisticsWindow(now: clock.now()))
    }

    func statisticsTable() async throws -> [ModelStatistics] {
        let models = try await catalog.snapshot().models.sorted { ($0.sortOrder, $0.id.rawValue) < ($1.sortOrder, $1.id.rawValue) }
        return try await statistics.all(models: models.map(\.id), window: StatisticsWindow(now: clock.now()))
    }

    /// Every model's stand-ins, in the order they are tried, for the models that have any.
    func failoverGroups() -> [FailoverGroupView] {
        let catalog = cache.catalog
        return catalog.models.compactMap { model in
            catalog.standIns[model.id].map { FailoverGroupView(modelId: model.id, standIns: $0) }
        }
    }

    func setStandIns(_ standIns: [StandIn], of model: ModelID, by actor: Actor) async throws -> [StandIn] {
        try await administration.setStandIns(standIns, of: model, by: actor, at: clock.now())
        try await cache.refresh()
        return cache.catalog.standIns[model] ?? []
    }

    func failovers(_ range: DayRange) async throws -> [FailoverCount] {
        try await failovers.counts(from: range.from, through: range.to)
    }

    /// Every price the model had, newest first.
    func priceHistory(of model: ModelID) async throws -> [PriceChange] {
        _ = try await self.model(model)
        return try await catalog.priceHistory(of: model)
    }

    /// The longest range of the margin report, a row per model and day.
    static let marginMaxDays = 366
    /// The longest range of a streamed export or the failover counts (ten years): both read ranges
    /// of rows, never a day at a time.
    static let exportMaxDays = 3_660

    /// Cost, revenue and margin per model and day over `range` (at most a year), with the top spenders.
    func margin(_ range: DayRange) async throws -> MarginReport {
        guard (1...Self.marginMaxDays).contains(range.dayCount) else {
            throw ModelgateError.validationFailed([FieldError("to", "must be on or after from, at most \(Self.marginMaxDays) days later")])
        }
        let models = try await catalog.snapshot().models.sorted { ($0.sortOrder, $0.id.rawValue) < ($1.sortOrder, $1.id.rawValue) }
        return try await margins.report(models: models.map(\.id), range: range, now: clock.now())
    }

    static func toggled(_ model: ModelID, _ enabled: Bool) -> AnalyticsEvent {
        enabled ? .adminModelEnabled(model: model) : .adminModelDisabled(model: model)
    }

    /// A user by id or email.
    func findUser(_ reference: String) async throws -> UserSummary? {
        try await profiles.findUser(reference.trimmingCharacters(in: .whitespaces))
    }

    private func target(_ model: ModelID, _ reference: String) async throws -> (UserSummary, AIModel) {
        let found = try await self.model(model)
        guard found.tier == .premium else {
            throw ModelgateError.validationFailed([FieldError("modelId", "is a free model: everyone has access")])
        }
        guard let user = try await profiles.findUser(reference.trimmingCharacters(in: .whitespaces)) else {
            throw ModelgateError.notFound(what: "user", id: reference)
        }
        return (user, found)
    }
}
