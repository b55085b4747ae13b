import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// A call's hold on a user's budgets: its worst case, taken at admission and settled after the stream.
public struct BudgetReservation: Sendable, Equatable {
    /// The hold's own id (its row in `budget_holds`).
    public let id: String
    public let user: UserID
    public let model: ModelID
    /// The user's local day the call counts on.
    public let day: String
    /// Tokens held against the model's daily token budget (0: the model has none).
    public let tokens: Int
    /// Micro-dollars held against the user's daily dollar budget (0: there is none).
    public let costMicros: Int
    /// When a sweep returns the hold if its call has not settled by then.
    public let expiresAt: Date
    /// Credits held from the user's balance when credits pay for the call (0: they do not).
    public let credits: Int
    /// The price the call's credits are settled at: the one in force when it was admitted.
    public let creditPrice: CreditPrice?

    public init(id: String, user: UserID, model: ModelID, day: String, tokens: Int, costMicros: Int, expiresAt: Date,
                credits: Int = 0, creditPrice: CreditPrice? = nil) {
        self.id = id
        self.credits = credits
        self.creditPrice = creditPrice
        self.expiresAt = expiresAt
        self.user = user
        self.model = model
        self.day = day
        self.tokens = tokens
        self.costMicros = costMicros
    }
}

/// The budgets a reservation must fit in.
public struct BudgetLimits: Sendable, Equatable {
    public let dailyTokens: Int?
    public let dailyCostMicros: Int?

    public init(dailyTokens: Int?, dailyCostMicros: Int?) {
        self.dailyTokens = dailyTokens
        self.dailyCostMicros = dailyCostMicros
    }
}

public enum ReserveOutcome: Sendable, Equatable {
    case reserved(BudgetReservation)
    case tokenBudgetExhausted
    case costBudgetExhausted
    /// The credit balance is smaller than the call's worst case.
    case creditsInsufficient(balance: Int)
}

/// What a finished (or cut) call used and cost, to settle against its reservation.
public struct CallSettlement: Sendable, Equatable {
    /// The call's id: a call is settled once, however often its settlement is tried.
    public let id: String
    public let user: UserID
    public let model: ModelID
    public let day: String
    public let tokens: TurnTokens
    public let costMicros: Int
    public let reservation: BudgetReservation?
    /// The plan's meter the call is reported to, when a plan with one paid for it.
    public let metered: MeteredCall?

    public init(id: String, user: UserID, model: ModelID, day: String, tokens: TurnTokens, costMicros: Int, reservation: BudgetReservation?,
                metered: MeteredCall? = nil) {
        self.id = id
        self.user = user
        self.model = model
        self.day = day
        self.tokens = tokens
        self.costMicros = costMicros
        self.reservation = reservation
        self.metered = metered
    }

    /// The meter event's row, queued with the settlement: the call's id is Stripe's identifier.
    func meterEvent(at now: Date) -> SQLQueryString? {
        guard let metered else { return nil }
        return """
            INSERT INTO meter_events (id, user_id, subscription_id, event_name, value, occurred_at)
            VALUES (\(bind: id), \(bind: user.description), \(bind: metered.subscription), \(bind: metered.meter.eventName),
                    \(bind: metered.meter.amount(for: tokens)), \(bind: now))
            """
    }
}

/// A user's spend on one local day: tokens per model and micro-dollars across models, each counting
/// calls still streaming at their reserved worst case.
public struct DailySpend: Sendable, Equatable {
    public var tokens: [ModelID: Int] = [:]
    public var costMicros = 0

    public init(tokens: [ModelID: Int] = [:], costMicros: Int = 0) {
        self.tokens = tokens
        self.costMicros = costMicros
    }
}

/// One user's totals on one local day, across models.
public struct UsageDay: Sendable, Equatable {
    public let messages: Int
    public let tokens: Int
    public let costMicros: Int

    public static let idle = UsageDay(messages: 0, tokens: 0, costMicros: 0)
}

/// Tokens and dollars per user and day. A reservation is one conditional upsert per budget, so
/// concurrent calls on any number of instances can never hold more than the budget; settling
/// replaces the hold with what the provider reported.
public struct SpendLedger: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Holds `tokens` and `costMicros` against the budgets that are set, both or neither.
    public func reserve(_ reservation: BudgetReservation, within limits: BudgetLimits, at now: Date) async throws -> ReserveOutcome {
        let tokenBudget = limits.dailyTokens.map { ($0, reservation.tokens) }
        let costBudget = limits.dailyCostMicros.map { ($0, reservation.costMicros) }
        do {
            return try await database.transaction { db in
                if let (budget, tokens) = tokenBudget, try await Self.holdTokens(tokens, of: reservation, budget: budget, in: db) == nil {
                    throw Refusal.tokens
                }
                if let (budget, cost) = costBudget, try await Self.holdCost(cost, of: reservation, budget: budget, in: db) == nil {
                    throw Refusal.cost
                }
                if reservation.credits > 0,
                   try await !CreditWallet.hold(reservation.credits, call: reservation.id, user: reservation.user, at: now, in: db) {
                    throw Refusal.credits(balance: try await CreditWallet.balance(of: reservation.user, in: db))
                }
                try await Self.recordHold(reservation, in: db)
                return .reserved(reservation)
            }
        } catch Refusal.tokens {
            return .tokenBudgetExhausted
        } catch Refusal.cost {
            return .costBudgetExhausted
        } catch Refusal.credits(let balance) {
            return .creditsInsufficient(balance: balance)
        }
    }

    /// Gives a hold back whole (the call failed before its first token), unless a sweep already did.
    public func release(_ reservation: BudgetReservation, at now: Date) async throws {
        try await database.transaction { db in
            if try await Self.dropHold(reservation.id, in: db) { try await Self.unhold(reservation, at: now, in: db) }
        }
    }

    /// Records what a call used and cost and returns its hold (unless a sweep returned it), in
    /// `db`'s transaction (with the stored turn). A call settled before throws `AlreadySettled`, so
    /// the caller's transaction writes nothing twice.
    public static func settle(_ settlement: CallSettlement, at now: Date, in db: any SQLDatabase) async throws {
        guard try await db.raw("""
            INSERT INTO settled_calls (id, settled_at) VALUES (\(bind: settlement.id), \(bind: now)) ON CONFLICT (id) DO NOTHING RETURNING id
            """).first() != nil else { throw AlreadySettled() }
        var held = (tokens: 0, costMicros: 0)
        if let reservation = settlement.reservation, try await dropHold(reservation.id, in: db) {
            held = (reservation.tokens, reservation.costMicros)
            if reservation.credits > 0 {
                let cost = reservation.creditPrice?.charge(for: settlement.tokens, held: reservation.credits) ?? reservation.credits
                try await CreditWallet.settle(held: reservation.credits, cost: cost, call: reservation.id, user: reservation.user, at: now, in: db)
            }
        }
        for statement in settleStatements(settlement, when: "1 = 1", heldTokens: "\(bind: held.tokens)", heldCost: "\(bind: held.costMicros)") {
            try await db.raw(statement).run()
        }
        if let meterEvent = settlement.meterEvent(at: now) { try await db.raw(meterEvent).run() }
    }

    /// Settles a call that stores no turn (`/v1`, background tasks) with its analytics `events`: on
    /// PostgreSQL one statement (data-modifying CTEs, one round trip instead of six), elsewhere one
    /// transaction.
    /// A call settled before (a retry after a commit whose answer was lost) writes nothing.
    public func settle(_ settlement: CallSettlement, events: [AnalyticsEvent], outbox: AnalyticsOutbox, at now: Date) async throws {
        // Credits move through their wallet's statements, and a metered call queues its meter event:
        // one transaction then, on either backend.
        guard database.backend == .postgres, (settlement.reservation?.credits ?? 0) == 0, settlement.metered == nil else {
            do {
                return try await database.transaction { db in
                    try await Self.settle(settlement, at: now, in: db)
                    _ = try await outbox.enqueue(events, for: settlement.user, at: now, in: db)
                }
            } catch is AlreadySettled {
                return
            }
        }
        let settled: SQLQueryString = "EXISTS (SELECT 1 FROM settled)"
        var parts: [SQLQueryString] = [
            "INSERT INTO settled_calls (id, settled_at) VALUES (\(bind: settlement.id), \(bind: now)) ON CONFLICT (id) DO NOTHING RETURNING id",
            "DELETE FROM budget_holds WHERE id = \(bind: settlement.reservation?.id ?? "") AND \(settled) RETURNING tokens, cost_micros",
        ]
        parts += Self.settleStatements(settlement, when: settled, heldTokens: "(SELECT COALESCE(SUM(tokens), 0) FROM released)",
                                       heldCost: "(SELECT COALESCE(SUM(cost_micros), 0) FROM released)")
        if let rows = outbox.rows(events, for: settlement.user, at: now) {
            parts.append("""
                INSERT INTO analytics_outbox (\(unsafeRaw: AnalyticsOutbox.columns))
                SELECT v.* FROM (VALUES \(rows.values)) AS v(\(unsafeRaw: AnalyticsOutbox.columns)) WHERE \(settled)
                """)
        }
        guard let last = parts.popLast() else { return }
        let names = ["settled", "released"] + (0..<parts.count).map { "step\($0)" }
        let steps = zip(names, parts).map { name, part -> SQLQueryString in "\(unsafeRaw: name) AS (\(part))" }
        let statement: SQLQueryString = "WITH \(steps.joined(separator: ", ")) \(last)"
        try await database.write { db in try await db.raw(statement).run() }
    }

    /// The settlement's upserts, each returning its part of the hold as it adds; each writes only
    /// `when` its condition holds (the call was not settled before).
    static func settleStatements(_ settlement: CallSettlement, when condition: SQLQueryString, heldTokens: SQLQueryString,
                                 heldCost: SQLQueryString) -> [SQLQueryString] {
        let tokens = settlement.tokens
        let user = settlement.user.description
        return [
            """
            INSERT INTO model_usage_daily (user_id, model_id, day, message_count, input_tokens, output_tokens, cached_input_tokens,
                                           cache_write_tokens, cost_micros, calls, estimated_calls)
            SELECT \(bind: user), \(bind: settlement.model.rawValue), \(bind: settlement.day), 0, \(bind: tokens.inputTokens),
                   \(bind: tokens.outputTokens), \(bind: tokens.cachedInputTokens), \(bind: tokens.cacheWriteTokens),
                   \(bind: settlement.costMicros), 1, \(bind: tokens.estimated ? 1 : 0) WHERE \(condition)
            ON CONFLICT (user_id, model_id, day) DO UPDATE SET
                input_tokens = model_usage_daily.input_tokens + excluded.input_tokens,
                output_tokens = model_usage_daily.output_tokens + excluded.output_tokens,
                cached_input_tokens = model_usage_daily.cached_input_tokens + excluded.cached_input_tokens,
                cache_write_tokens = model_usage_daily.cache_write_tokens + excluded.cache_write_tokens,
                cost_micros = model_usage_daily.cost_micros + excluded.cost_micros,
                calls = model_usage_daily.calls + 1, estimated_calls = model_usage_daily.estimated_calls + excluded.estimated_calls,
                tokens_reserved = CASE WHEN model_usage_daily.tokens_reserved > \(heldTokens)
                    THEN model_usage_daily.tokens_reserved - \(heldTokens) ELSE 0 END
            """,
            """
            INSERT INTO user_spend_daily (user_id, day, cost_micros, tokens)
            SELECT \(bind: user), \(bind: settlement.day), \(bind: settlement.costMicros), \(bind: tokens.totalTokens) WHERE \(condition)
            ON CONFLICT (user_id, day) DO UPDATE SET cost_micros = user_spend_daily.cost_micros + excluded.cost_micros,
                tokens = user_spend_daily.tokens + excluded.tokens,
                reserved_micros = CASE WHEN user_spend_daily.reserved_micros > \(heldCost)
                    THEN user_spend_daily.reserved_micros - \(heldCost) ELSE 0 END
            """,
            """
            INSERT INTO user_spend_totals (user_id, cost_micros, tokens, calls)
            SELECT \(bind: user), \(bind: settlement.costMicros), \(bind: tokens.totalTokens), 1 WHERE \(condition)
            ON CONFLICT (user_id) DO UPDATE SET cost_micros = user_spend_totals.cost_micros + excluded.cost_micros,
                tokens = user_spend_totals.tokens + excluded.tokens, calls = user_spend_totals.calls + 1
            """,
        ]
    }

    /// The user's messages and tokens per model and spend on `day`, holds included, in one statement
    /// (the model lists read it on every call).
    public func day(of user: UserID, on day: String) async throws -> (messages: [ModelID: Int], spend: DailySpend) {
        try await database.read { db in
            var messages: [ModelID: Int] = [:]
            var spend = DailySpend()
            for row in try await db.raw("""
                SELECT model_id, message_count, input_tokens + output_tokens + tokens_reserved AS amount FROM model_usage_daily
                WHERE user_id = \(bind: user.description) AND day = \(bind: day)
                UNION ALL
                SELECT NULL, 0, cost_micros + reserved_micros FROM user_spend_daily WHERE user_id = \(bind: user.description) AND day = \(bind: day)
                """).all() {
                let amount = try row.decode(column: "amount", as: Int.self)
                guard let model = try row.decode(column: "model_id", as: String?.self).map(ModelID.init(rawValue:)) else {
                    spend.costMicros = amount
                    continue
                }
                messages[model] = try row.decode(column: "message_count", as: Int.self)
                spend.tokens[model] = amount
            }
            return (messages, spend)
        }
    }

    /// The user's messages, tokens and cost per local day from `first` through `last` (days without any are absent).
    public func history(of user: UserID, from first: String, through last: String) async throws -> [String: UsageDay] {
        try await database.read { db in
            var days: [String: UsageDay] = [:]
            for row in try await db.raw("""
                SELECT day, SUM(message_count) AS messages, CAST(SUM(input_tokens + output_tokens) AS BIGINT) AS tokens, CAST(SUM(cost_micros) AS BIGINT) AS cost
                FROM model_usage_daily WHERE user_id = \(bind: user.description) AND day >= \(bind: first) AND day <= \(bind: last) GROUP BY day
                """).all() {
                days[try row.decode(column: "day", as: String.self)] = UsageDay(
                    messages: try row.decode(column: "messages", as: Int.self), tokens: try row.decode(column: "tokens", as: Int.self),
                    costMicros: try row.decode(column: "cost", as: Int.self))
            }
            return days
        }
    }
}
