import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// Tokens, provider cost and booked revenue of one model, on one day or over a range.
public struct MarginFigures: Sendable, Equatable, Encodable {
    public var messages = 0
    /// Provider calls settled (messages, background tasks, cut streams).
    public var calls = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var cachedInputTokens = 0
    public var cacheWriteTokens = 0
    /// Calls whose provider reported no usage: their tokens and cost are estimates (characters / 4).
    public var estimatedCalls = 0
    public var costMicros = 0
    /// Purchases minus refunds, as booked (see `MarginReport.revenueRule`).
    public var revenueCents = 0
    /// Revenue minus provider cost, in micro-dollars.
    public var marginMicros: Int { revenueCents * 10_000 - costMicros }

    public init() {}

    public mutating func add(_ other: MarginFigures) {
        messages += other.messages
        calls += other.calls
        inputTokens += other.inputTokens
        outputTokens += other.outputTokens
        cachedInputTokens += other.cachedInputTokens
        cacheWriteTokens += other.cacheWriteTokens
        estimatedCalls += other.estimatedCalls
        costMicros += other.costMicros
        revenueCents += other.revenueCents
    }

    enum CodingKeys: String, CodingKey {
        case messages, calls, inputTokens, outputTokens, cachedInputTokens, cacheWriteTokens, estimatedCalls, costMicros, revenueCents, marginMicros
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(messages, forKey: .messages)
        try container.encode(calls, forKey: .calls)
        try container.encode(inputTokens, forKey: .inputTokens)
        try container.encode(outputTokens, forKey: .outputTokens)
        try container.encode(cachedInputTokens, forKey: .cachedInputTokens)
        try container.encode(cacheWriteTokens, forKey: .cacheWriteTokens)
        try container.encode(estimatedCalls, forKey: .estimatedCalls)
        try container.encode(costMicros, forKey: .costMicros)
        try container.encode(revenueCents, forKey: .revenueCents)
        try container.encode(marginMicros, forKey: .marginMicros)
    }
}

/// Provider cost against revenue per model and day, with the users who cost the most.
public struct MarginReport: Sendable, Equatable {
    /// Encoded flat: `{"day", "modelId", "messages", …, "marginMicros"}`.
    public struct Day: Sendable, Equatable, Encodable {
        public let day: String
        public let modelId: ModelID
        public let figures: MarginFigures

        enum CodingKeys: String, CodingKey { case day, modelId }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(day, forKey: .day)
            try container.encode(modelId, forKey: .modelId)
            try figures.encode(to: encoder)
        }
    }

    /// Encoded flat: `{"modelId", "messages", …, "marginMicros"}`.
    public struct Model: Sendable, Equatable, Encodable {
        public let modelId: ModelID
        public let figures: MarginFigures

        enum CodingKeys: String, CodingKey { case modelId }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(modelId, forKey: .modelId)
            try figures.encode(to: encoder)
        }
    }

    public struct Spender: Sendable, Equatable, Encodable {
        public let userId: String
        public let email: String?
        /// All time: provider cost, tokens and calls, and what the user paid (purchases minus refunds).
        public let costMicros: Int
        public let tokens: Int
        public let calls: Int
        public let revenueCents: Int
        public var marginMicros: Int { revenueCents * 10_000 - costMicros }

        enum CodingKeys: String, CodingKey { case userId, email, costMicros, tokens, calls, revenueCents, marginMicros }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(userId, forKey: .userId)
            try container.encode(email, forKey: .email)
            try container.encode(costMicros, forKey: .costMicros)
            try container.encode(tokens, forKey: .tokens)
            try container.encode(calls, forKey: .calls)
            try container.encode(revenueCents, forKey: .revenueCents)
            try container.encode(marginMicros, forKey: .marginMicros)
        }
    }

    public let from: String
    public let to: String
    /// Each (day, model) with any figure, oldest first.
    public let days: [Day]
    /// Per model over the range, in catalog order.
    public let models: [Model]
    public let totals: MarginFigures
    /// The ten users with the highest provider cost of all time.
    public let topSpenders: [Spender]
    /// Plans and credits: their revenue, the credits owed, the subscribers.
    public let paid: PaidRevenueReport

    public static let revenueRule = """
        Revenue is booked, not amortised: a purchase counts in full on the UTC day it completed, a refund \
        (or a lost chargeback) subtracts it on the UTC day it happened (lifetime access has no term to spread it over). \
        Cost counts on the user's local day, as quotas do.
        """
}

/// Reads the margin report from the closed days' rollup, the open days' raw rows and the revenue
/// bookings: a few grouped statements whatever the history's size.
public struct MarginRepository: Sendable {
    public let database: Database
    let statistics: StatisticsRepository

    public init(database: Database) {
        self.database = database
        statistics = StatisticsRepository(database: database)
    }

    public func report(models: [ModelID], range: DayRange, now: Date) async throws -> MarginReport {
        let window = StatisticsWindow(now: now)
        try await statistics.rollUp(days: DayRange.days(from: range.from, through: min(range.to, window.closedUntil)))
        return try await database.read(.long) { db in
            var cells: [String: [ModelID: MarginFigures]] = [:]
            for row in try await Self.costs(of: models, range: range, closedUntil: window.closedUntil, in: db) {
                let figures = try Self.figures(row)
                cells[try row.decode(column: "day", as: String.self), default: [:]][ModelID(try row.decode(column: "model_id", as: String.self)), default: MarginFigures()].add(figures)
            }
            for row in try await db.raw("""
                SELECT day, model_id, SUM(amount_cents) AS revenue FROM revenue_bookings
                WHERE day >= \(bind: range.from) AND day <= \(bind: range.to) GROUP BY day, model_id
                """).all() {
                let day = try row.decode(column: "day", as: String.self), model = ModelID(try row.decode(column: "model_id", as: String.self))
                cells[day, default: [:]][model, default: MarginFigures()].revenueCents += try row.decode(column: "revenue", as: Int.self)
            }
            return MarginReport(from: range.from, to: range.to, cells: cells, models: models, topSpenders: try await Self.topSpenders(in: db),
                                paid: try await PaidRevenueRepository.report(range, now: now, in: db))
        }
    }

    /// Closed days from the rollup, open days summed from the users' rows (read per model, through
    /// the (model, day) index: a day has a row per active user).
    private static func costs(of models: [ModelID], range: DayRange, closedUntil: String, in db: any SQLDatabase) async throws -> [any SQLRow] {
        let closed = try await db.raw("""
            SELECT day, model_id, messages, calls, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, estimated_calls, cost_micros
            FROM model_usage_rollup WHERE day >= \(bind: range.from) AND day <= \(bind: range.to) AND day <= \(bind: closedUntil)
            """).all()
        guard !models.isEmpty else { return closed }
        let open = try await db.raw("""
            SELECT day, model_id, SUM(message_count) AS messages, CAST(SUM(calls) AS BIGINT) AS calls, CAST(SUM(input_tokens) AS BIGINT) AS input_tokens,
                CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, CAST(SUM(cached_input_tokens) AS BIGINT) AS cached_input_tokens,
                CAST(SUM(cache_write_tokens) AS BIGINT) AS cache_write_tokens, CAST(SUM(estimated_calls) AS BIGINT) AS estimated_calls, CAST(SUM(cost_micros) AS BIGINT) AS cost_micros
            FROM model_usage_daily WHERE model_id IN (\(binds: models.map(\.rawValue))) AND day >= \(bind: range.from) AND day <= \(bind: range.to)
                AND day > \(bind: closedUntil)
            GROUP BY day, model_id
            """).all()
        return closed + open
    }

    private static func figures(_ row: any SQLRow) throws -> MarginFigures {
        var figures = MarginFigures()
        figures.messages = try row.decode(column: "messages", as: Int.self)
        figures.calls = try row.decode(column: "calls", as: Int.self)
        figures.inputTokens = try row.decode(column: "input_tokens", as: Int.self)
        figures.outputTokens = try row.decode(column: "output_tokens", as: Int.self)
        figures.cachedInputTokens = try row.decode(column: "cached_input_tokens", as: Int.self)
        figures.cacheWriteTokens = try row.decode(column: "cache_write_tokens", as: Int.self)
        figures.estimatedCalls = try row.decode(column: "estimated_calls", as: Int.self)
        figures.costMicros = try row.decode(column: "cost_micros", as: Int.self)
        return figures
    }

    private static func topSpenders(in db: any SQLDatabase) async throws -> [MarginReport.Spender] {
        let rows = try await db.raw("""
            SELECT s.user_id, p.email, s.cost_micros, s.tokens, s.calls FROM user_spend_totals s LEFT JOIN profiles p ON p.id = s.user_id
            WHERE s.cost_micros > 0 ORDER BY s.cost_micros DESC, s.user_id DESC LIMIT 10
            """).all()
        let ids = try rows.map { try $0.decode(column: "user_id", as: String.self) }
        var paid: [String: Int] = [:]
        if !ids.isEmpty {
            for row in try await db.raw("""
                SELECT user_id, SUM(amount_cents) AS revenue FROM revenue_bookings WHERE user_id IN (\(binds: ids)) GROUP BY user_id
                """).all() {
                paid[try row.decode(column: "user_id", as: String.self)] = try row.decode(column: "revenue", as: Int.self)
            }
        }
        return try rows.map { row in
            let id = try row.decode(column: "user_id", as: String.self)
            return MarginReport.Spender(
                userId: id, email: try row.decode(column: "email", as: String?.self), costMicros: try row.decode(column: "cost_micros", as: Int.self),
                tokens: try row.decode(column: "tokens", as: Int.self), calls: try row.decode(column: "calls", as: Int.self), revenueCents: paid[id] ?? 0)
        }
    }
}

extension MarginReport {
    init(from: String, to: String, cells: [String: [ModelID: MarginFigures]], models: [ModelID], topSpenders: [Spender], paid: PaidRevenueReport) {
        let order = Dictionary(models.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        func sorted(_ ids: some Sequence<ModelID>) -> [ModelID] {
            ids.sorted { (order[$0] ?? Int.max, $0.rawValue) < (order[$1] ?? Int.max, $1.rawValue) }
        }
        var perModel: [ModelID: MarginFigures] = [:]
        var totals = MarginFigures()
        var days: [Day] = []
        for day in cells.keys.sorted() {
            let row = cells[day] ?? [:]
            for model in sorted(row.keys) {
                let figures = row[model] ?? MarginFigures()
                days.append(Day(day: day, modelId: model, figures: figures))
                perModel[model, default: MarginFigures()].add(figures)
                totals.add(figures)
            }
        }
        self.from = from
        self.to = to
        self.days = days
        self.models = sorted(Set(models).union(perModel.keys)).map { Model(modelId: $0, figures: perModel[$0] ?? MarginFigures()) }
        self.totals = totals
        self.topSpenders = topSpenders
        self.paid = paid
    }
}
