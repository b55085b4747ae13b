import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// Reads what pays for a user's messages besides purchases: their subscriptions, the plan counters
/// and the credit balance. Only ever about the user it is asked about.
public struct PaidAccessReader: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    static let subscriptionColumns = PaidAccessColumns.subscription

    /// The user's subscriptions and credit balance in one statement (the model lists read it on every call).
    func subscriptionsAndBalance(of user: UserID) async throws -> (subscriptions: [Subscription], balance: Int) {
        try await database.read { db in
            let rows = try await db.raw("""
                SELECT \(unsafeRaw: Self.subscriptionColumns.split(separator: ",").map { "s." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")),
                       (SELECT balance FROM credit_wallets WHERE user_id = \(bind: user.description)) AS balance
                FROM (SELECT 1 AS one) AS here LEFT JOIN subscriptions s ON s.user_id = \(bind: user.description)
                ORDER BY s.period_end DESC
                """).all()
            let balance = try rows.first?.decode(column: "balance", as: Int?.self) ?? 0
            let subscriptions = try rows.filter { try $0.decode(column: "id", as: String?.self) != nil }.map(Self.decodeSubscription)
            return (subscriptions, balance)
        }
    }

    public func subscriptions(of user: UserID) async throws -> [Subscription] {
        try await database.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.subscriptionColumns) FROM subscriptions WHERE user_id = \(bind: user.description) ORDER BY period_end DESC
                """).all().map(Self.decodeSubscription)
        }
    }

    static func decodeSubscription(_ row: any SQLRow) throws -> Subscription { try PaidAccessColumns.decodeSubscription(row) }
}

/// How a subscription row is read, by Access and by Billing alike.
public enum PaidAccessColumns {
    public static let subscription = "id, user_id, plan_id, source, status, period_start, period_end, cancel_at_period_end, past_due_since"

    public static func decodeSubscription(_ row: any SQLRow) throws -> Subscription {
        Subscription(
            id: try row.decode(column: "id", as: String.self), user: try row.decodeUserID(column: "user_id"),
            plan: PlanID(try row.decode(column: "plan_id", as: String.self)), source: try row.decodeEnum(column: "source", as: SubscriptionSource.self),
            status: try row.decodeEnum(column: "status", as: SubscriptionStatus.self), periodStart: try row.decode(column: "period_start", as: Date.self),
            periodEnd: try row.decode(column: "period_end", as: Date.self),
            cancelAtPeriodEnd: try row.decode(column: "cancel_at_period_end", as: Bool.self),
            pastDueSince: try row.decode(column: "past_due_since", as: Date?.self))
    }
}

extension PaidAccessReader {

    /// The user's messages counted in each of `buckets`.
    func planUsage(of user: UserID, buckets: [String]) async throws -> [String: Int] {
        guard !buckets.isEmpty else { return [:] }
        return try await database.read { db in
            var usage: [String: Int] = [:]
            for row in try await db.raw("""
                SELECT bucket, messages FROM plan_usage WHERE user_id = \(bind: user.description) AND bucket IN (\(binds: buckets))
                """).all() {
                usage[try row.decode(column: "bucket", as: String.self)] = try row.decode(column: "messages", as: Int.self)
            }
            return usage
        }
    }

    public func balance(of user: UserID) async throws -> Int {
        try await database.read { db in try await CreditWallet.balance(of: user, in: db) }
    }

    /// The user's ledger, newest first (at most `limit` lines), with the balance it sums to.
    public func ledger(of user: UserID, limit: Int = 100) async throws -> (balance: Int, entries: [CreditEntry]) {
        try await database.read { db in
            let entries = try await db.raw("""
                SELECT id, movement, amount, reference, created_at FROM credit_ledger WHERE user_id = \(bind: user.description)
                ORDER BY created_at DESC, id DESC LIMIT \(bind: limit)
                """).all().map { row in
                CreditEntry(id: try row.decode(column: "id", as: String.self), movement: try row.decodeEnum(column: "movement", as: CreditMovement.self),
                            amount: try row.decode(column: "amount", as: Int.self), reference: try row.decode(column: "reference", as: String.self),
                            at: try row.decode(column: "created_at", as: Date.self))
            }
            return (try await CreditWallet.balance(of: user, in: db), entries)
        }
    }
}

extension PlanAccess {
    /// The plan's counters a message on `model` on `day` counts against.
    func allowances(model: ModelID, day: String) -> [PlanAllowance] {
        [plan.messagesPerDay.map { PlanAllowance(bucket: Self.dayBucket(day: day, model: model), limit: $0) },
         plan.messagesPerPeriod.map { PlanAllowance(bucket: periodBucket, limit: $0) }].compactMap { $0 }
    }

    static func dayBucket(day: String, model: ModelID) -> String { "day:\(day):\(model.rawValue)" }

    /// One counter per subscription and period: a renewal starts a new one.
    var periodBucket: String { "period:\(subscription.id):\(Int(subscription.periodStart.timeIntervalSince1970))" }
}

/// A user's subscriptions as they bear on each model: which one covers it, and what it gives now.
struct PlanChoice: Sendable {
    let subscriptions: [(Subscription, Plan, PlanStanding)]
    let now: Date

    init(subscriptions: [Subscription], catalog: CatalogSnapshot, at now: Date, grace: TimeInterval) {
        self.now = now
        self.subscriptions = subscriptions.compactMap { subscription in
            catalog.plan(subscription.plan).map { (subscription, $0, subscription.standing(at: now, grace: grace)) }
        }
    }

    /// The subscription that covers `model`: one that gives access before one that is past due;
    /// `nil` when none covers it or every one has ended.
    func access(to model: AIModel) -> PlanAccess? {
        let covering = subscriptions.filter { $0.1.covers(model) && $0.2 != .ended }
        guard let (subscription, plan, standing) = covering.first(where: { $0.2 == .active }) ?? covering.first else { return nil }
        return PlanAccess(plan: plan, subscription: subscription, standing: standing, at: now)
    }

    /// Every plan counter the models' messages count against today.
    func buckets(models: [AIModel], day: String) -> [String] {
        models.compactMap { access(to: $0)?.allowances(model: $0.id, day: day).map(\.bucket) }.flatMap { $0 }
    }
}

extension PlanAccess {
    /// The same access with its counters read.
    func counting(_ usage: [String: Int], model: ModelID, day: String) -> PlanAccess {
        PlanAccess(plan: plan, subscription: subscription, standing: standing, usedToday: usage[Self.dayBucket(day: day, model: model)] ?? 0,
                   usedInPeriod: usage[periodBucket] ?? 0, at: at)
    }
}
