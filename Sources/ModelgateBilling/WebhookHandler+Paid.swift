import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateStore
import SQLKit

/// The events of credit packs and subscriptions; `nil` hands an event to the one-time purchases.
extension WebhookHandler {
    func routePaid() async throws -> WebhookOutcome? {
        switch event.type {
        case "checkout.session.completed", "checkout.session.async_payment_succeeded":
            if event.metadata("pack_id") != nil {
                return try await fulfilPack(paid: event.type.hasSuffix("succeeded") || event.string("payment_status") == "paid")
            }
            return event.string("mode") == "subscription" ? try await startSubscription() : nil
        case "checkout.session.async_payment_failed" where event.metadata("pack_id") != nil:
            guard let session = event.string("id"), let order = try await CreditPackRepository.order(session: session, in: db),
                  order.status == .pending else { return .ignored }
            try await CreditPackRepository.setOrder(session, status: .failed, paymentIntent: nil, lot: nil, at: now, in: db)
            return .failed
        case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
             "customer.subscription.paused", "customer.subscription.resumed":
            return try await syncSubscription(fallback: try await eventSubscription())
        case "invoice.paid", "invoice.payment_succeeded":
            return try await invoicePaid()
        case "invoice.payment_failed":
            return try await syncSubscription(fallback: try await storedSubscription(as: .pastDue))
        case "charge.refunded":
            guard event.bool("refunded") == true, let intent = event.string("payment_intent"),
                  let order = try await CreditPackRepository.order(paymentIntent: intent, in: db) else { return nil }
            return try await refundPack(order, intent: intent)
        default:
            return nil
        }
    }

    // MARK: Credit packs

    private func fulfilPack(paid: Bool) async throws -> WebhookOutcome {
        guard let session = event.string("id"), let order = try await CreditPackRepository.order(session: session, in: db) else {
            try await audit(.purchaseRefused, type: "checkout_session", id: event.string("id") ?? "", ["reason": .string("unknown_session")])
            return .unmatched
        }
        let matches = (event.metadata("user_id") ?? event.string("client_reference_id")) == order.user.description
            && event.metadata("pack_id") == order.pack && event.int("amount_total") == order.amountCents
            && event.string("currency")?.lowercased() == order.currency
        guard matches else {
            try await audit(.purchaseRefused, type: "checkout_session", id: session, ["reason": .string("order_mismatch"), "packId": .string(order.pack)])
            return .mismatched
        }
        guard paid else { return .pending }
        guard order.status == .pending else { return order.status == .completed ? .duplicate : .ignored }
        let intent = event.string("payment_intent")
        if let intent, try await PurchaseRepository.wasRefunded(paymentIntent: intent, in: db) {
            try await CreditPackRepository.setOrder(session, status: .refunded, paymentIntent: intent, lot: nil, at: now, in: db)
            return .refunded
        }
        let pack = try await CreditPackRepository.find(order.pack, in: db)
        let lot = "pack:" + session
        try await CreditWallet.deposit(CreditDeposit(
            user: order.user, credits: order.credits, movement: .purchase, reference: session,
            expiresAt: pack?.validDays.map { now.addingTimeInterval(Double($0) * 86_400) }), lot: lot, at: now, in: db)
        try await CreditPackRepository.setOrder(session, status: .completed, paymentIntent: intent, lot: lot, at: now, in: db)
        try await outbox.enqueue([.creditsPurchased(pack: order.pack, credits: order.credits, priceCents: order.amountCents)], for: order.user,
                                 at: now, in: db)
        try await audit(.creditsPurchased, type: "user", id: order.user.description, [
            "packId": .string(order.pack), "credits": .number(Double(order.credits)), "session": .string(session),
        ])
        return .granted
    }

    /// A refunded pack takes back its credits not yet spent; what was spent stays spent.
    private func refundPack(_ order: CreditOrder, intent: String) async throws -> WebhookOutcome {
        try await PurchaseRepository.rememberRefund(paymentIntent: intent, amount: event.int("amount_refunded") ?? 0, at: now, in: db)
        guard order.status == .completed, let lot = order.lot else { return .ignored }
        let taken = try await CreditWallet.withdraw(lot: lot, as: .refund, reference: lot, at: now, in: db)
        try await CreditPackRepository.setOrder(order.session, status: .refunded, paymentIntent: intent, lot: nil, at: now, in: db)
        try await outbox.enqueue([.creditsRefunded(pack: order.pack, creditsRemoved: taken)], for: order.user, at: now, in: db)
        try await audit(.creditsRefunded, type: "user", id: order.user.description, [
            "packId": .string(order.pack), "creditsRemoved": .number(Double(taken)), "session": .string(order.session),
        ])
        return .refunded
    }

    // MARK: Subscriptions

    /// Links the user to their Stripe customer; the subscription itself follows Stripe's state.
    private func startSubscription() async throws -> WebhookOutcome {
        guard let user = (event.metadata("user_id") ?? event.string("client_reference_id")).flatMap(UserID.init) else { return .unmatched }
        if let customer = event.string("customer") { try await SubscriptionBook.link(user: user, customer: customer, in: db) }
        return try await syncSubscription(fallback: nil)
    }

    /// Applies Stripe's current state of the subscription (fetched), else `fallback` ordered by the event's time.
    private func syncSubscription(fallback: SubscriptionState?) async throws -> WebhookOutcome {
        let version: Int64
        let state: SubscriptionState?
        if let fetched {
            state = try await self.state(of: fetched)
            version = Int64(now.timeIntervalSince1970 * 1_000)
        } else {
            state = fallback
            version = Int64(event.created) * 1_000
        }
        guard let state else { return .ignored }
        let before = try await SubscriptionBook.find(state.id, in: db)
        guard try await SubscriptionBook.apply(state, version: version, at: now, in: db) else { return .duplicate }
        var events: [AnalyticsEvent] = [.subscriptionChanged(plan: state.plan, status: state.status, previous: before?.status,
                                                             cancelAtPeriodEnd: state.cancelAtPeriodEnd)]
        if event.type == "invoice.payment_failed" { events.append(.subscriptionPaymentFailed(plan: state.plan)) }
        try await outbox.enqueue(events, for: state.user, at: now, in: db)
        try await audit(.subscriptionChanged, type: "subscription", id: state.id, [
            "userId": .string(state.user.description), "plan": .string(state.plan.rawValue), "status": .string(state.status.rawValue),
            "before": .string(before?.status.rawValue ?? "none"), "periodEnd": .string(ISO8601.string(state.periodEnd)),
            "cancelAtPeriodEnd": .bool(state.cancelAtPeriodEnd),
        ])
        return state.status == .active || state.status == .trialing ? .granted : .failed
    }

    /// Who and which plan a Stripe subscription is: the price names the plan (a plan change in the
    /// portal changes it), the metadata the user (or the customer they paid with).
    func state(of subscription: StripeSubscription) async throws -> SubscriptionState? {
        let plan = plans.first { $0.stripePriceID.map(subscription.priceIDs.contains) ?? false }?.id
            ?? subscription.metadata["plan_id"].map(PlanID.init(rawValue:))
        var user = subscription.metadata["user_id"].flatMap(UserID.init)
        if user == nil { user = try await SubscriptionBook.user(ofCustomer: subscription.customer, in: db) }
        guard let user, let plan, let status = SubscriptionStatus(rawValue: subscription.status), let period = subscription.period else {
            try await audit(.purchaseRefused, type: "subscription", id: subscription.id, ["reason": .string("unknown_user_or_plan")])
            return nil
        }
        return SubscriptionState(id: subscription.id, user: user, plan: plan, source: .stripe, status: status, periodStart: period.start,
                                 periodEnd: period.end, cancelAtPeriodEnd: subscription.cancel_at_period_end || subscription.cancel_at != nil,
                                 customer: subscription.customer)
    }

    /// The event's own subscription object, for when Stripe cannot be asked.
    private func eventSubscription() async throws -> SubscriptionState? {
        guard event.string("object") == "subscription", let data = try? JSONEncoder().encode(JSONValue.object(event.object)),
              let subscription = try? JSONDecoder().decode(StripeSubscription.self, from: data) else { return nil }
        return try await state(of: subscription)
    }

    /// The stored subscription moved to `status` (an invoice event's fallback when Stripe cannot be asked).
    private func storedSubscription(as status: SubscriptionStatus, period: (Date, Date)? = nil) async throws -> SubscriptionState? {
        guard let id = event.subscriptionID, let stored = try await SubscriptionBook.find(id, in: db) else { return nil }
        return SubscriptionState(id: stored.id, user: stored.user, plan: stored.plan, source: stored.source, status: status,
                                 periodStart: period?.0 ?? stored.periodStart, periodEnd: period?.1 ?? stored.periodEnd,
                                 cancelAtPeriodEnd: stored.cancelAtPeriodEnd, customer: nil)
    }

    /// Books the period's revenue once, then brings the subscription to Stripe's state.
    private func invoicePaid() async throws -> WebhookOutcome {
        guard let id = event.string("id"), let subscription = event.subscriptionID else { return .ignored }
        guard case .array(let lines)? = event.object["lines"]?["data"] else { return .ignored }
        // The service period is on the line, not on the invoice (whose period bounds pending items).
        let line = lines.first
        let period = (line?["period"]?["start"]?.numberValue, line?["period"]?["end"]?.numberValue)
        let stored = try await SubscriptionBook.find(subscription, in: db)
        var fromFetch: SubscriptionState?
        if let fetched { fromFetch = try await state(of: fetched) }
        guard let user = stored?.user ?? fromFetch?.user, let plan = fromFetch?.plan ?? stored?.plan,
              let start = period.0, let end = period.1 else { return .ignored }
        let invoice = PaidInvoice(id: id, subscription: subscription, user: user, plan: plan, amountCents: event.int("amount_paid") ?? 0,
                                  currency: event.string("currency") ?? "usd", periodStart: Date(timeIntervalSince1970: start),
                                  periodEnd: Date(timeIntervalSince1970: end))
        if try await SubscriptionBook.book(invoice, at: now, in: db) {
            bookings.addInvoice(invoice)
            try await outbox.enqueue([.subscriptionInvoicePaid(plan: plan, amountCents: invoice.amountCents)], for: user, at: now, in: db)
        }
        let fallback = try await storedSubscription(as: .active, period: (invoice.periodStart, invoice.periodEnd))
        _ = try await syncSubscription(fallback: fallback)
        return .granted
    }
}
