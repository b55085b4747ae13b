import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// What to charge for one message.
public struct QuotaCharge: Sendable, Equatable {
    public let user: UserID
    public let model: ModelID
    public let day: String
    /// Messages allowed on `day`; `nil` is unlimited.
    public let dailyLimit: Int?
    /// Lifetime trial messages allowed when this message is a trial; `nil` when it is not.
    public let trialLimit: Int?
    /// The plan allowances the message counts against when its plan pays for it.
    public let planAllowances: [PlanAllowance]

    public init(user: UserID, model: ModelID, day: String, dailyLimit: Int?, trialLimit: Int?, planAllowances: [PlanAllowance] = []) {
        self.user = user
        self.planAllowances = planAllowances
        self.model = model
        self.day = day
        self.dailyLimit = dailyLimit
        self.trialLimit = trialLimit
    }
}

/// A charge that went through; hand it back to `release` to undo it.
public struct Consumption: Sendable, Equatable {
    public let charge: QuotaCharge
    /// The day's count after this message.
    public let usedToday: Int
    /// Trial messages used after this message, when it was a trial.
    public let trialUsed: Int?
    /// Analytics events written with the charge; withdrawn when the charge is given back.
    public var eventIDs: [String] = []
}

/// Analytics events to write with a successful charge, in its transaction.
public struct ChargeEvents: Sendable {
    let outbox: AnalyticsOutbox
    let at: Date
    let message: AdmittedMessage

    public init(outbox: AnalyticsOutbox, at now: Date, of message: AdmittedMessage) {
        self.outbox = outbox
        self.at = now
        self.message = message
    }

    func write(_ consumption: Consumption, in db: any SQLDatabase) async throws -> Consumption {
        var consumption = consumption
        let events = message.events(trialMessagesUsed: consumption.trialUsed)
        consumption.eventIDs = try await outbox.enqueue(events, for: consumption.charge.user, at: at, in: db)
        return consumption
    }
}

/// One of a plan's counters (the day's messages on a model, the period's) and its allowance.
public struct PlanAllowance: Sendable, Equatable {
    public let bucket: String
    public let limit: Int
}

public enum ConsumeOutcome: Sendable, Equatable {
    case consumed(Consumption)
    case dailyLimitReached
    case trialExhausted
    case planAllowanceExhausted
}

/// Daily and trial counters. Every check-and-increment is one conditional upsert, so any number
/// of requests on any number of instances can never push a counter past its limit.
public struct QuotaLedger: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Charges one message; `events` are written in the same transaction when it goes through.
    public func consume(_ charge: QuotaCharge, events: ChargeEvents? = nil) async throws -> ConsumeOutcome {
        if charge.dailyLimit == 0 { return .dailyLimitReached }
        if let trialLimit = charge.trialLimit, trialLimit <= 0 { return .trialExhausted }
        guard charge.trialLimit != nil else {
            if database.backend == .postgres, charge.planAllowances.isEmpty { return try await consumeInOneStatement(charge, events: events) }
            do {
                return try await database.transaction { db in
                    guard let used = try await Self.incrementDaily(charge, in: db) else { return .dailyLimitReached }
                    for allowance in charge.planAllowances where try await !Self.incrementPlan(allowance, of: charge.user, in: db) {
                        throw RollBack.planAllowance
                    }
                    try await Self.recordActivity(charge, in: db)
                    let consumption = Consumption(charge: charge, usedToday: used, trialUsed: nil)
                    return .consumed(try await events?.write(consumption, in: db) ?? consumption)
                }
            } catch RollBack.planAllowance {
                return .planAllowanceExhausted
            }
        }
        // A trial message takes a trial unit and a daily unit together, or neither.
        do {
            return try await database.transaction { db in
                guard let trialUsed = try await Self.incrementTrial(charge, in: db) else { return .trialExhausted }
                guard let used = try await Self.incrementDaily(charge, in: db) else { throw RollBack.dailyLimit }
                try await Self.recordActivity(charge, in: db)
                let consumption = Consumption(charge: charge, usedToday: used, trialUsed: trialUsed)
                return .consumed(try await events?.write(consumption, in: db) ?? consumption)
            }
        } catch RollBack.dailyLimit {
            return .dailyLimitReached
        }
    }

    /// A charge that is not a trial, on PostgreSQL: the conditional counter upsert, the activity
    /// row and the analytics rows in one statement (data-modifying CTEs), so a message costs one
    /// round trip instead of five (BEGIN, three statements, COMMIT). The activity and the events are
    /// written only when the counter was (`FROM charged`); all of it commits, or none.
    private func consumeInOneStatement(_ charge: QuotaCharge, events: ChargeEvents?) async throws -> ConsumeOutcome {
        let rows = events.flatMap { $0.outbox.rows($0.message.events(trialMessagesUsed: nil), for: charge.user, at: $0.at) }
        let writeEvents: SQLQueryString = rows.map { rows in
            """
            , events AS (
                INSERT INTO analytics_outbox (\(unsafeRaw: AnalyticsOutbox.columns))
                SELECT v.* FROM (VALUES \(rows.values)) AS v(\(unsafeRaw: AnalyticsOutbox.columns)) WHERE EXISTS (SELECT 1 FROM charged)
            )
            """
        } ?? ""
        let row = try await database.write { db in
            try await db.raw("""
                WITH charged AS (\(Self.dailyUpsert(charge))),
                activity AS (
                    INSERT INTO model_user_activity (model_id, user_id, messages, last_day)
                    SELECT \(bind: charge.model.rawValue), \(bind: charge.user.description), 1, \(bind: charge.day) FROM charged
                    \(unsafeRaw: Self.activityConflict)
                )\(writeEvents)
                SELECT message_count FROM charged
                """).first()
        }
        guard let used = try row?.decode(column: "message_count", as: Int.self) else { return .dailyLimitReached }
        var consumption = Consumption(charge: charge, usedToday: used, trialUsed: nil)
        consumption.eventIDs = rows?.ids ?? []
        return .consumed(consumption)
    }

    /// Gives back a consumption, e.g. when the provider failed before answering, with its
    /// analytics events when they were not delivered yet.
    public func release(_ consumption: Consumption) async throws {
        let charge = consumption.charge
        try await database.transaction { db in
            try await AnalyticsOutbox.withdraw(consumption.eventIDs, in: db)
            try await db.raw("""
                UPDATE model_usage_daily SET message_count = message_count - 1
                WHERE user_id = \(bind: charge.user.description) AND model_id = \(bind: charge.model.rawValue)
                  AND day = \(bind: charge.day) AND message_count > 0
                """).run()
            // The last active day may have been this message's only one.
            try await db.raw("""
                UPDATE model_user_activity SET messages = messages - 1,
                    last_day = COALESCE((SELECT MAX(day) FROM model_usage_daily WHERE user_id = \(bind: charge.user.description)
                        AND model_id = \(bind: charge.model.rawValue) AND message_count > 0), '0000-00-00')
                WHERE user_id = \(bind: charge.user.description) AND model_id = \(bind: charge.model.rawValue) AND messages > 0
                """).run()
            for allowance in charge.planAllowances {
                try await db.raw("""
                    UPDATE plan_usage SET messages = messages - 1
                    WHERE user_id = \(bind: charge.user.description) AND bucket = \(bind: allowance.bucket) AND messages > 0
                    """).run()
            }
            if consumption.trialUsed != nil {
                try await db.raw("""
                    UPDATE model_trials SET trial_messages_used = trial_messages_used - 1
                    WHERE user_id = \(bind: charge.user.description) AND model_id = \(bind: charge.model.rawValue)
                      AND trial_messages_used > 0
                    """).run()
            }
        }
    }

    /// The user's counts on `day`, per model.
    public func usage(of user: UserID, on day: String) async throws -> [ModelID: Int] {
        try await database.read { db in
            try await Self.counts(db.raw("""
                SELECT model_id, message_count AS n FROM model_usage_daily WHERE user_id = \(bind: user.description) AND day = \(bind: day)
                """))
        }
    }

    /// Trial messages the user has spent, per model.
    public func trialsUsed(by user: UserID) async throws -> [ModelID: Int] {
        try await database.read { db in
            try await Self.counts(db.raw("""
                SELECT model_id, trial_messages_used AS n FROM model_trials WHERE user_id = \(bind: user.description)
                """))
        }
    }

    private enum RollBack: Error { case dailyLimit, planAllowance }

    /// The plan counter plus one unless it reached its allowance.
    private static func incrementPlan(_ allowance: PlanAllowance, of user: UserID, in db: any SQLDatabase) async throws -> Bool {
        try await db.raw("""
            INSERT INTO plan_usage (user_id, bucket, messages) SELECT \(bind: user.description), \(bind: allowance.bucket), 1
            WHERE \(bind: allowance.limit) >= 1
            ON CONFLICT (user_id, bucket) DO UPDATE SET messages = plan_usage.messages + 1 WHERE plan_usage.messages < \(bind: allowance.limit)
            RETURNING messages
            """).first() != nil
    }

    private static func counts(_ query: SQLRawBuilder) async throws -> [ModelID: Int] {
        var result: [ModelID: Int] = [:]
        for row in try await query.all() {
            result[ModelID(try row.decode(column: "model_id", as: String.self))] = try row.decode(column: "n", as: Int.self)
        }
        return result
    }

    /// The day's counter plus one unless it reached the limit; returns the new count (no row when refused).
    private static func dailyUpsert(_ charge: QuotaCharge) -> SQLQueryString {
        let guardClause: SQLQueryString = charge.dailyLimit.map { "WHERE model_usage_daily.message_count < \(bind: $0)" } ?? ""
        return """
            INSERT INTO model_usage_daily (user_id, model_id, day, message_count)
            VALUES (\(bind: charge.user.description), \(bind: charge.model.rawValue), \(bind: charge.day), 1)
            ON CONFLICT (user_id, model_id, day) DO UPDATE SET message_count = model_usage_daily.message_count + 1
            \(guardClause)
            RETURNING message_count
            """
    }

    private static func incrementDaily(_ charge: QuotaCharge, in db: any SQLDatabase) async throws -> Int? {
        try await db.raw(dailyUpsert(charge)).first()?.decode(column: "message_count", as: Int.self)
    }

    private static let activityConflict = """
        ON CONFLICT (model_id, user_id) DO UPDATE SET messages = model_user_activity.messages + 1,
            last_day = CASE WHEN excluded.last_day > model_user_activity.last_day THEN excluded.last_day ELSE model_user_activity.last_day END
        """

    private static func recordActivity(_ charge: QuotaCharge, in db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO model_user_activity (model_id, user_id, messages, last_day)
            VALUES (\(bind: charge.model.rawValue), \(bind: charge.user.description), 1, \(bind: charge.day))
            \(unsafeRaw: activityConflict)
            """).run()
    }

    private static func incrementTrial(_ charge: QuotaCharge, in db: any SQLDatabase) async throws -> Int? {
        let row = try await db.raw("""
            INSERT INTO model_trials (user_id, model_id, trial_messages_used)
            VALUES (\(bind: charge.user.description), \(bind: charge.model.rawValue), 1)
            ON CONFLICT (user_id, model_id) DO UPDATE SET trial_messages_used = model_trials.trial_messages_used + 1
            WHERE model_trials.trial_messages_used < \(bind: charge.trialLimit ?? 0)
            RETURNING trial_messages_used
            """).first()
        return try row?.decode(column: "trial_messages_used", as: Int.self)
    }
}

extension QuotaLedger {
    /// Writes the events of a message the ledger refused: they go with no change of data, so on their own.
    public func record(_ events: [AnalyticsEvent], for user: UserID, at now: Date, outbox: AnalyticsOutbox) async throws {
        try await outbox.record(events, for: user, at: now, in: database)
    }
}
