import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateStore
import SQLKit

/// A subscription's state as a source reports it: Stripe (fetched, or from an event) or an app store.
struct SubscriptionState: Sendable, Equatable {
    let id: String
    let user: UserID
    let plan: PlanID
    let source: SubscriptionSource
    let status: SubscriptionStatus
    let periodStart: Date
    let periodEnd: Date
    let cancelAtPeriodEnd: Bool
    let customer: String?
}

/// A paid invoice of a subscription: the revenue of one period.
struct PaidInvoice: Sendable, Equatable {
    let id: String
    let subscription: String
    let user: UserID
    let plan: PlanID
    let amountCents: Int
    let currency: String
    let periodStart: Date
    let periodEnd: Date
}

/// Each user's subscriptions. Events arrive out of order and more than once: a state is applied
/// only when it is newer (`version`, milliseconds) than the one stored, so the row converges to the
/// latest state and never goes back.
enum SubscriptionBook {
    /// Applies `state` unless a newer one is stored (a state as new as the stored one is Stripe's
    /// answer at the same instant: it wins); true when it changed the row.
    @discardableResult
    static func apply(_ state: SubscriptionState, version: Int64, at now: Date, in db: any SQLDatabase) async throws -> Bool {
        let pastDueSince: Date? = state.status == .pastDue ? now : nil
        let changed = try await db.raw("""
            INSERT INTO subscriptions (id, user_id, plan_id, source, status, period_start, period_end, cancel_at_period_end, past_due_since,
                                       customer_id, state_version, created_at, updated_at)
            VALUES (\(bind: state.id), \(bind: state.user.description), \(bind: state.plan.rawValue), \(bind: state.source.rawValue),
                    \(bind: state.status.rawValue), \(bind: state.periodStart), \(bind: state.periodEnd), \(bind: state.cancelAtPeriodEnd),
                    \(bind: pastDueSince), \(bind: state.customer), \(bind: version), \(bind: now), \(bind: now))
            ON CONFLICT (id) DO UPDATE SET plan_id = excluded.plan_id, status = excluded.status, period_start = excluded.period_start,
                period_end = excluded.period_end, cancel_at_period_end = excluded.cancel_at_period_end,
                past_due_since = CASE WHEN excluded.status = 'past_due' THEN COALESCE(subscriptions.past_due_since, excluded.past_due_since) END,
                customer_id = COALESCE(excluded.customer_id, subscriptions.customer_id), state_version = excluded.state_version,
                updated_at = excluded.updated_at
            WHERE subscriptions.state_version <= excluded.state_version
              AND (subscriptions.plan_id <> excluded.plan_id OR subscriptions.status <> excluded.status
                   OR subscriptions.period_start <> excluded.period_start OR subscriptions.period_end <> excluded.period_end
                   OR subscriptions.cancel_at_period_end <> excluded.cancel_at_period_end)
            RETURNING id
            """).first() != nil
        if let customer = state.customer { try await link(user: state.user, customer: customer, in: db) }
        return changed
    }

    static func find(_ id: String, in db: any SQLDatabase) async throws -> Subscription? {
        try await db.raw("SELECT \(unsafeRaw: PaidAccessColumns.subscription) FROM subscriptions WHERE id = \(bind: id)").first()
            .map { try PaidAccessColumns.decodeSubscription($0) }
    }

    /// Books a paid invoice once; false when it was booked before.
    static func book(_ invoice: PaidInvoice, at now: Date, in db: any SQLDatabase) async throws -> Bool {
        try await db.raw("""
            INSERT INTO subscription_invoices (id, subscription_id, user_id, plan_id, amount_cents, currency, period_start, period_end, paid_at)
            VALUES (\(bind: invoice.id), \(bind: invoice.subscription), \(bind: invoice.user.description), \(bind: invoice.plan.rawValue),
                    \(bind: invoice.amountCents), \(bind: invoice.currency), \(bind: invoice.periodStart), \(bind: invoice.periodEnd), \(bind: now))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """).first() != nil
    }

    static func link(user: UserID, customer: String, in db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO billing_customers (user_id, customer_id) VALUES (\(bind: user.description), \(bind: customer))
            ON CONFLICT DO NOTHING
            """).run()
    }

    static func customer(of user: UserID, in db: any SQLDatabase) async throws -> String? {
        try await db.raw("SELECT customer_id FROM billing_customers WHERE user_id = \(bind: user.description)").first()?
            .decode(column: "customer_id", as: String.self)
    }

    static func user(ofCustomer customer: String, in db: any SQLDatabase) async throws -> UserID? {
        try await db.raw("SELECT user_id FROM billing_customers WHERE customer_id = \(bind: customer)").first()?.decodeUserID(column: "user_id")
    }

    /// Records a store transaction once; false when it was recorded before (the app's backend retried).
    static func recordStoreTransaction(_ id: String, user: UserID, kind: String, at now: Date, in db: any SQLDatabase) async throws -> Bool {
        try await db.raw("""
            INSERT INTO store_transactions (id, user_id, kind, created_at) VALUES (\(bind: id), \(bind: user.description), \(bind: kind), \(bind: now))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """).first() != nil
    }
}
