import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// What plans and credits brought in over a range, what is owed in credits, and the subscribers.
public struct PaidRevenueReport: Sendable, Equatable, Encodable {
    public struct Day: Sendable, Equatable, Encodable {
        public let day: String
        public var subscriptionRevenueCents = 0
        public var creditRevenueCents = 0
        public var creditsSold = 0
        public var creditsSpent = 0
        /// Subscriptions that gave access at the end of the day, that started, and that ended on it.
        public var activeSubscribers = 0
        public var newSubscribers = 0
        public var endedSubscribers = 0
    }

    /// Provider cost of the stored replies of one model that one source paid for.
    public struct SourceCost: Sendable, Equatable, Encodable {
        public let modelId: ModelID
        public let source: String
        public let replies: Int
        public let costMicros: Int
    }

    public let subscriptionRevenueCents: Int
    public let creditRevenueCents: Int
    public let creditsSold: Int
    public let creditsSpent: Int
    /// Now: credits sold or granted and not yet spent, expired or taken back (a liability).
    public let creditsOutstanding: Int
    /// Now: subscriptions giving access, and their monthly list price (yearly ÷ 12; trials pay nothing).
    public let activeSubscribers: Int
    public let mrrCents: Int
    /// Subscriptions that ended in the range.
    public let churnedSubscribers: Int
    public let days: [Day]
    public let costBySource: [SourceCost]

    public static let rule = """
        Subscription revenue is booked per paid invoice, in full on the UTC day Stripe reported it paid (not spread \
        over its period). Credit revenue is booked on the UTC day a pack's payment completed and taken back on the day \
        of its refund. Credits sold count packs and app-store purchases; credits outstanding (now) are every credit \
        bought or granted and not yet spent, expired or taken back — a liability. MRR is the monthly list price of \
        every subscription active or past due now (yearly plans ÷ 12, trials count nothing). A subscription counts as \
        ended (churn) on the UTC day of its last change to cancelled, expired or unpaid. Cost by source covers the \
        replies stored in conversations.
        """
}

/// Reads the paid-access figures from the invoices, the credit ledger and orders, and the subscriptions.
enum PaidRevenueRepository {
    static let ended = ["canceled", "incomplete_expired", "unpaid"]

    static func report(_ range: DayRange, now: Date, in db: any SQLDatabase) async throws -> PaidRevenueReport {
        var days = Dictionary(uniqueKeysWithValues: DayRange.days(from: range.from, through: range.to).map { ($0, PaidRevenueReport.Day(day: $0)) })
        func add(_ at: Date, _ change: (inout PaidRevenueReport.Day) -> Void) {
            let key = QuotaCalendar.day(at: at, zoneIdentifier: "UTC").key
            if days[key] != nil { change(&days[key, default: PaidRevenueReport.Day(day: key)]) }
        }
        let start = range.start, end = range.end
        for row in try await db.raw("""
            SELECT amount_cents, paid_at FROM subscription_invoices WHERE paid_at >= \(bind: start) AND paid_at < \(bind: end)
            """).all() {
            let cents = try row.decode(column: "amount_cents", as: Int.self)
            add(try row.decode(column: "paid_at", as: Date.self)) { $0.subscriptionRevenueCents += cents }
        }
        for row in try await creditMoney(from: start, to: end, in: db) {
            let cents = try row.decode(column: "cents", as: Int.self)
            add(try row.decode(column: "at", as: Date.self)) { $0.creditRevenueCents += cents }
        }
        for row in try await db.raw("""
            SELECT movement, amount, created_at FROM credit_ledger
            WHERE movement IN ('purchase', 'store', 'spend') AND created_at >= \(bind: start) AND created_at < \(bind: end)
            """).all() {
            let amount = try row.decode(column: "amount", as: Int.self)
            let spent = try row.decode(column: "movement", as: String.self) == "spend"
            add(try row.decode(column: "created_at", as: Date.self)) { spent ? ($0.creditsSpent -= amount) : ($0.creditsSold += amount) }
        }
        let activeAtStart = try await subscribers(from: start, to: end, add: add, in: db)
        var ordered = days.values.sorted { $0.day < $1.day }
        var active = activeAtStart
        for index in ordered.indices {
            active += ordered[index].newSubscribers - ordered[index].endedSubscribers
            ordered[index].activeSubscribers = active
        }
        let (current, mrr) = try await standing(at: now, in: db)
        return PaidRevenueReport(
            subscriptionRevenueCents: ordered.map(\.subscriptionRevenueCents).reduce(0, +), creditRevenueCents: ordered.map(\.creditRevenueCents).reduce(0, +),
            creditsSold: ordered.map(\.creditsSold).reduce(0, +), creditsSpent: ordered.map(\.creditsSpent).reduce(0, +),
            creditsOutstanding: try await outstanding(in: db), activeSubscribers: current, mrrCents: mrr,
            churnedSubscribers: ordered.map(\.endedSubscribers).reduce(0, +), days: ordered,
            costBySource: try await costBySource(from: start, to: end, in: db))
    }

    /// Paid packs (when their credits arrived) and their refunds (when Stripe reported them).
    private static func creditMoney(from start: Date, to end: Date, in db: any SQLDatabase) async throws -> [any SQLRow] {
        try await db.raw("""
            SELECT o.amount_cents AS cents, l.created_at AS at FROM credit_ledger l JOIN credit_orders o ON o.session_id = l.reference
            WHERE l.movement = 'purchase' AND l.created_at >= \(bind: start) AND l.created_at < \(bind: end)
            UNION ALL
            SELECT -o.amount_cents AS cents, r.refunded_at AS at FROM stripe_refunds r JOIN credit_orders o ON o.payment_intent = r.payment_intent_id
            WHERE o.status = 'refunded' AND r.refunded_at >= \(bind: start) AND r.refunded_at < \(bind: end)
            """).all()
    }

    /// Counts starts and ends per day; returns how many gave access when the range began.
    private static func subscribers(from start: Date, to end: Date, add: (Date, (inout PaidRevenueReport.Day) -> Void) -> Void, in db: any SQLDatabase) async throws -> Int {
        var before = 0
        for row in try await db.raw("SELECT status, created_at, updated_at FROM subscriptions WHERE created_at < \(bind: end)").all() {
            let created = try row.decode(column: "created_at", as: Date.self), changed = try row.decode(column: "updated_at", as: Date.self)
            let ended = Self.ended.contains(try row.decode(column: "status", as: String.self))
            if created < start, !(ended && changed < start) { before += 1 }
            if created >= start { add(created) { $0.newSubscribers += 1 } }
            if ended, changed >= start, changed < end, created < end { add(changed) { $0.endedSubscribers += 1 } }
        }
        return before
    }

    private static func standing(at now: Date, in db: any SQLDatabase) async throws -> (active: Int, mrrCents: Int) {
        var active = 0, mrr = 0.0
        for row in try await db.raw("""
            SELECT s.status, p.price_cents, p.billing_interval FROM subscriptions s JOIN plans p ON p.id = s.plan_id
            WHERE s.status IN ('trialing', 'active', 'past_due') AND s.period_end > \(bind: now)
            """).all() {
            active += 1
            guard try row.decode(column: "status", as: String.self) != "trialing" else { continue }
            let cents = Double(try row.decode(column: "price_cents", as: Int.self))
            mrr += try row.decode(column: "billing_interval", as: String.self) == "year" ? cents / 12 : cents
        }
        return (active, Int(mrr.rounded()))
    }

    private static func outstanding(in db: any SQLDatabase) async throws -> Int {
        // Held credits are still owed until the call settles: holds and their releases are left out.
        try await db.raw("""
            SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM credit_ledger WHERE movement NOT IN ('hold', 'release')
            """).first()?.decode(column: "n", as: Int.self) ?? 0
    }

    private static func costBySource(from start: Date, to end: Date, in db: any SQLDatabase) async throws -> [PaidRevenueReport.SourceCost] {
        try await db.raw("""
            SELECT model_id, COALESCE(payment_source, payment_kind) AS source, COUNT(*) AS replies,
                CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) AS cost
            FROM messages WHERE role = 'assistant' AND model_id IS NOT NULL AND created_at >= \(bind: start) AND created_at < \(bind: end)
            GROUP BY model_id, COALESCE(payment_source, payment_kind) ORDER BY model_id, source
            """).all().map { row in
            PaidRevenueReport.SourceCost(modelId: ModelID(try row.decode(column: "model_id", as: String.self)),
                                         source: try row.decode(column: "source", as: String?.self) ?? "unknown",
                                         replies: try row.decode(column: "replies", as: Int.self), costMicros: try row.decode(column: "cost", as: Int.self))
        }
    }
}
