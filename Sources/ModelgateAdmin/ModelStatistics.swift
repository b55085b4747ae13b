import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// Usage, access and revenue figures of a model. Days are the users' own calendar days, as the
/// quota ledger counts them; "today" is the UTC date the figures are asked for.
public struct ModelStatistics: Sendable, Equatable, Codable {
    public struct TopUser: Sendable, Equatable, Codable {
        public let userId: String
        public let email: String?
        public let messages: Int
    }

    public let modelId: ModelID
    public var usersWithAccess = 0
    public var messagesToday = 0
    public var messagesLast7Days = 0
    public var messagesLast30Days = 0
    /// Users who sent at least one message in the last 30 days (detail only).
    public var activeUsersLast30Days: Int?
    /// Messages of the last 30 days per active user, to two decimals (detail only).
    public var averageMessagesPerUser: Double?
    public var purchases = 0
    public var grossRevenueCents = 0
    public var refundedCents = 0
    public var revenueCents = 0
    public var trialUsers = 0
    public var trialUsersWhoPurchased = 0
    /// trialUsersWhoPurchased / trialUsers, to four decimals (0 without trial users).
    public var trialConversionRate = 0.0
    public var topUsers: [TopUser]? = nil

    init(modelId: ModelID) { self.modelId = modelId }
}

/// The day window of a statistics request.
public struct StatisticsWindow: Sendable {
    public let today: String
    public let weekStart: String
    public let monthStart: String
    /// The newest day no user can still send on: a local day ends at most 36 hours after its UTC
    /// start (UTC−12), so two days back is closed everywhere.
    let closedUntil: String

    public init(now: Date) {
        func key(_ daysAgo: Int) -> String { QuotaCalendar.day(at: now.addingTimeInterval(Double(-daysAgo) * 86_400), zoneIdentifier: "UTC").key }
        today = key(0)
        weekStart = key(6)
        monthStart = key(29)
        closedUntil = key(2)
    }
}

/// Computes statistics with SQL aggregates, never one row per message in memory. Closed days are
/// summed once into `model_usage_rollup`; open days are read raw; per-user figures come from
/// `model_user_activity`, which the quota ledger keeps exact.
public struct StatisticsRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Every model's figures (without top users), keyed by model.
    public func all(models: [ModelID], window: StatisticsWindow) async throws -> [ModelStatistics] {
        try await rollUp(window)
        return try await database.read(.long) { db in
            try await Self.figures(models: models, window: window, in: db)
        }
    }

    /// One model's figures, with its 30-day active users and its top 10 users of all time.
    public func one(_ model: ModelID, window: StatisticsWindow) async throws -> ModelStatistics {
        try await rollUp(window)
        return try await database.read(.long) { db in
            guard var stats = try await Self.figures(models: [model], window: window, in: db).first else {
                throw ModelgateError.notFound(what: "model", id: model.rawValue)
            }
            let active = try await db.raw("""
                SELECT COUNT(*) AS n FROM model_user_activity WHERE model_id = \(bind: model.rawValue) AND last_day >= \(bind: window.monthStart)
                """).first()?.decode(column: "n", as: Int.self) ?? 0
            stats.activeUsersLast30Days = active
            stats.averageMessagesPerUser = active == 0 ? 0 : (Double(stats.messagesLast30Days) / Double(active) * 100).rounded() / 100
            stats.topUsers = try await db.raw("""
                SELECT a.user_id, p.email, a.messages FROM model_user_activity a LEFT JOIN profiles p ON p.id = a.user_id
                WHERE a.model_id = \(bind: model.rawValue) AND a.messages > 0 ORDER BY a.messages DESC, a.user_id DESC LIMIT 10
                """).all().map { row in
                ModelStatistics.TopUser(
                    userId: try row.decode(column: "user_id", as: String.self), email: try row.decode(column: "email", as: String?.self),
                    messages: try row.decode(column: "messages", as: Int.self))
            }
            return stats
        }
    }

    static func figures(models: [ModelID], window: StatisticsWindow, in db: any SQLDatabase) async throws -> [ModelStatistics] {
        var byModel = Dictionary(uniqueKeysWithValues: models.map { ($0, ModelStatistics(modelId: $0)) })
        let only: SQLQueryString = models.count == 1 ? "AND model_id = \(bind: models[0].rawValue)" : ""
        let closed = try await db.raw("""
            SELECT model_id, 0 AS today, SUM(CASE WHEN day >= \(bind: window.weekStart) THEN messages ELSE 0 END) AS week, SUM(messages) AS month
            FROM model_usage_rollup WHERE day >= \(bind: window.monthStart) AND day <= \(bind: window.closedUntil) \(only) GROUP BY model_id
            """).all()
        let open = try await db.raw("""
            SELECT model_id, SUM(CASE WHEN day = \(bind: window.today) THEN message_count ELSE 0 END) AS today,
                SUM(message_count) AS week, SUM(message_count) AS month
            FROM model_usage_daily WHERE model_id IN (\(binds: models.map(\.rawValue))) AND day > \(bind: window.closedUntil) GROUP BY model_id
            """).all()
        for row in closed + open {
            try update(&byModel, row) { stats, row in
                stats.messagesToday += try row.decode(column: "today", as: Int.self)
                stats.messagesLast7Days += try row.decode(column: "week", as: Int.self)
                stats.messagesLast30Days += try row.decode(column: "month", as: Int.self)
            }
        }
        let onlyProduct: SQLQueryString = models.count == 1 ? "AND p.model_id = \(bind: models[0].rawValue)" : ""
        let onlyTrials: SQLQueryString = models.count == 1 ? "AND t.model_id = \(bind: models[0].rawValue)" : ""
        for row in try await db.raw("""
            SELECT p.model_id, COUNT(*) AS holders FROM entitlements e JOIN products p ON p.id = e.product_id
            WHERE e.revoked_at IS NULL \(onlyProduct) GROUP BY p.model_id
            """).all() {
            try update(&byModel, row) { stats, row in stats.usersWithAccess = try row.decode(column: "holders", as: Int.self) }
        }
        // Revenue as booked, the one record the margin report reads too: a lost chargeback is taken
        // back there as a refund, though its purchase stays `completed`.
        let onlyBooking: SQLQueryString = models.count == 1 ? "AND model_id = \(bind: models[0].rawValue)" : ""
        for row in try await db.raw("""
            SELECT model_id, SUM(CASE WHEN kind = 'purchase' THEN 1 ELSE 0 END) AS purchases,
                SUM(CASE WHEN kind = 'purchase' THEN amount_cents ELSE 0 END) AS gross,
                SUM(CASE WHEN kind = 'refund' THEN -amount_cents ELSE 0 END) AS refunded
            FROM revenue_bookings WHERE 1 = 1 \(onlyBooking) GROUP BY model_id
            """).all() {
            try update(&byModel, row) { stats, row in
                stats.purchases = try row.decode(column: "purchases", as: Int.self)
                stats.grossRevenueCents = try row.decode(column: "gross", as: Int.self)
                stats.refundedCents = try row.decode(column: "refunded", as: Int.self)
            }
        }
        for row in try await db.raw("""
            SELECT t.model_id, COUNT(*) AS trial_users, COUNT(b.user_id) AS converted
            FROM model_trials t LEFT JOIN (
                SELECT DISTINCT user_id, product_id FROM purchases WHERE status IN ('completed', 'refunded')
            ) b ON b.user_id = t.user_id AND b.product_id = 'model:' || t.model_id
            WHERE t.trial_messages_used > 0 \(onlyTrials) GROUP BY t.model_id
            """).all() {
            try update(&byModel, row) { stats, row in
                stats.trialUsers = try row.decode(column: "trial_users", as: Int.self)
                stats.trialUsersWhoPurchased = try row.decode(column: "converted", as: Int.self)
            }
        }
        return models.compactMap { byModel[$0] }.map { stats in
            var stats = stats
            stats.revenueCents = stats.grossRevenueCents - stats.refundedCents
            stats.trialConversionRate = stats.trialUsers == 0 ? 0
                : (Double(stats.trialUsersWhoPurchased) / Double(stats.trialUsers) * 10_000).rounded() / 10_000
            return stats
        }
    }

    /// Sums every closed day of the window not yet rolled up (once, by whichever instance asks first).
    func rollUp(_ window: StatisticsWindow) async throws {
        try await rollUp(days: DayRange.days(from: window.monthStart, through: window.closedUntil))
    }

    /// Sums the closed `days` (none may still change) not rolled up yet into the rollup, each once.
    func rollUp(days wanted: [String]) async throws {
        guard let first = wanted.first, let last = wanted.last else { return }
        let done = try await database.read { db in
            Set(try await db.raw("""
                SELECT day FROM model_usage_rollup_days WHERE day >= \(bind: first) AND day <= \(bind: last)
                """).all().map { try $0.decode(column: "day", as: String.self) })
        }
        let days = wanted.filter { !done.contains($0) }
        guard !days.isEmpty else { return }
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO model_usage_rollup (model_id, day, messages, calls, input_tokens, output_tokens, cached_input_tokens,
                                                cache_write_tokens, estimated_calls, cost_micros)
                SELECT model_id, day, SUM(message_count), SUM(calls), SUM(input_tokens), SUM(output_tokens), SUM(cached_input_tokens),
                    SUM(cache_write_tokens), SUM(estimated_calls), SUM(cost_micros)
                FROM model_usage_daily WHERE day IN (\(binds: days)) GROUP BY model_id, day
                ON CONFLICT (model_id, day) DO NOTHING
                """).run()
            for day in days {
                try await db.raw("INSERT INTO model_usage_rollup_days (day) VALUES (\(bind: day)) ON CONFLICT (day) DO NOTHING").run()
            }
        }
    }

    private static func update(_ byModel: inout [ModelID: ModelStatistics], _ row: any SQLRow,
                               _ apply: (inout ModelStatistics, any SQLRow) throws -> Void) throws {
        let id = ModelID(try row.decode(column: "model_id", as: String.self))
        guard var stats = byModel[id] else { return }
        try apply(&stats, row)
        byModel[id] = stats
    }
}
