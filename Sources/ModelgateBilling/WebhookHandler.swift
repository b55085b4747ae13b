import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateStore
import SQLKit

/// Applies one new Stripe event inside the webhook's transaction. A checkout event counts only for
/// a purchase Modelgate's own checkout created, with the same user, model, amount and currency;
/// refunds and disputes touch only the entitlement their purchase granted.
struct WebhookHandler {
    let event: StripeEvent
    let now: Date
    let outbox: AnalyticsOutbox
    let db: any SQLDatabase
    /// The subscription the event is about, as Stripe says it is now (fetched before the transaction).
    var fetched: StripeSubscription? = nil
    /// The plans, to know which one a subscription's price sells.
    var plans: [Plan] = []
    /// Revenue the event booked, for the metrics once the transaction commits.
    let bookings = BookingList()

    /// Collects bookings made while the event is applied (the handler is a value; this is shared).
    final class BookingList: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [RevenueBooking] = []
        private var paidInvoices: [PaidInvoice] = []
        func add(_ booking: RevenueBooking?) { if let booking { lock.withLock { items.append(booking) } } }
        func addInvoice(_ invoice: PaidInvoice) { lock.withLock { paidInvoices.append(invoice) } }
        var all: [RevenueBooking] { lock.withLock { items } }
        var invoices: [PaidInvoice] { lock.withLock { paidInvoices } }
    }

    func apply() async throws -> WebhookOutcome {
        do {
            return try await route()
        } catch let refused as CheckoutRefused {
            return refused.outcome
        }
    }

    /// A checkout event that does not match its purchase; it is audited before it is thrown.
    private struct CheckoutRefused: Error {
        let outcome: WebhookOutcome
    }

    private func route() async throws -> WebhookOutcome {
        if let outcome = try await routePaid() { return outcome }
        switch event.type {
        case "checkout.session.completed", "checkout.session.async_payment_succeeded":
            return try await fulfil(paid: event.type.hasSuffix("succeeded") || event.string("payment_status") == "paid")
        case "checkout.session.async_payment_failed":
            return try await fail()
        case "charge.refunded":
            return try await refund()
        case "charge.dispute.created":
            return try await dispute(.open)
        case "charge.dispute.closed":
            // `won`, or `warning_closed` (an inquiry that never became a chargeback), gives access back.
            return try await dispute(event.string("status") == "lost" ? .lost : .won)
        default:
            return .ignored
        }
    }

    /// The purchase of the event's checkout session, when the event agrees with it.
    private func matchCheckout() async throws -> PurchaseRecord {
        guard let session = event.string("id"), let purchase = try await PurchaseRepository.find(sessionID: session, in: db) else {
            try await audit(.purchaseRefused, type: "checkout_session", id: event.string("id") ?? "", ["reason": .string("unknown_session")])
            throw CheckoutRefused(outcome: .unmatched)
        }
        let checks: [(AnalyticsEvent.PurchaseRefusal, Bool)] = [
            (.userMismatch, (event.metadata("user_id") ?? event.string("client_reference_id")) == purchase.user.description),
            (.modelMismatch, event.metadata("model_id") == purchase.model.rawValue),
            (.amountMismatch, event.int("amount_total") == purchase.amountCents),
            (.currencyMismatch, event.string("currency")?.lowercased() == purchase.currency),
        ]
        if let refusal = checks.first(where: { !$0.1 })?.0 {
            try await audit(.purchaseRefused, type: "checkout_session", id: session, [
                "reason": .string(refusal.rawValue), "purchaseId": .number(Double(purchase.id)),
                "amountTotal": event.int("amount_total").map { .number(Double($0)) } ?? .null, "currency": event.string("currency").map(JSONValue.string) ?? .null,
            ])
            try await outbox.enqueue([.modelPurchaseRefused(model: purchase.model, reason: refusal)], for: purchase.user, at: now, in: db)
            throw CheckoutRefused(outcome: .mismatched)
        }
        if let intent = event.string("payment_intent"), purchase.paymentIntent != intent {
            try await PurchaseRepository.attach(paymentIntent: intent, to: purchase.id, in: db)
        }
        return purchase
    }

    private func fulfil(paid: Bool) async throws -> WebhookOutcome {
        let purchase = try await matchCheckout()
        guard paid else { return .pending }
        if purchase.status == .refunded { return .ignored }
        if let intent = event.string("payment_intent") ?? purchase.paymentIntent, try await PurchaseRepository.wasRefunded(paymentIntent: intent, in: db) {
            bookings.add(try await PurchaseRepository.setStatus(.refunded, of: purchase.id, at: now, in: db))
            return .refunded
        }
        bookings.add(try await PurchaseRepository.setStatus(.completed, of: purchase.id, at: now, in: db))
        let granted = try await EntitlementRepository.grant(
            model: purchase.model, to: purchase.user, source: .purchase, grantedBy: "stripe", purchaseID: purchase.id, at: now, in: db)
        guard granted else { return .duplicate }
        try await audit(.accessGranted, id: purchase.model.rawValue, [
            "userId": .string(purchase.user.description), "source": .string("purchase"), "purchaseId": .number(Double(purchase.id)),
        ])
        try await outbox.enqueue(
            [.modelPurchaseCompleted(model: purchase.model, priceCents: purchase.amountCents, source: .stripe)], for: purchase.user, at: now, in: db)
        return .granted
    }

    private func fail() async throws -> WebhookOutcome {
        let purchase = try await matchCheckout()
        guard purchase.status == .pending else { return .ignored }
        try await PurchaseRepository.setStatus(.failed, of: purchase.id, at: now, in: db)
        return .failed
    }

    /// A full refund revokes the access its purchase granted (an admin grant of the same model stays)
    /// and keeps the history; one that arrives before its purchase completed is remembered so the
    /// completion grants nothing.
    private func refund() async throws -> WebhookOutcome {
        guard event.bool("refunded") == true, let intent = event.string("payment_intent") else { return .ignored }
        try await PurchaseRepository.rememberRefund(paymentIntent: intent, amount: event.int("amount_refunded") ?? 0, at: now, in: db)
        guard let purchase = try await PurchaseRepository.find(paymentIntent: intent, in: db) else { return .refunded }
        bookings.add(try await PurchaseRepository.setStatus(.refunded, of: purchase.id, at: now, in: db))
        try await revokeAccess(of: purchase, reason: "refund", orAudit: .purchaseRefunded)
        try await outbox.enqueue([.modelPurchaseRefunded(model: purchase.model, priceCents: purchase.amountCents)], for: purchase.user, at: now, in: db)
        return .refunded
    }

    /// A chargeback: access is suspended while it is open, restored when won, revoked when lost.
    private func dispute(_ status: DisputeStatus) async throws -> WebhookOutcome {
        guard let intent = event.string("payment_intent"), let purchase = try await PurchaseRepository.find(paymentIntent: intent, in: db) else {
            return .ignored
        }
        try await PurchaseRepository.setDispute(status, of: purchase.id, at: now, in: db)
        switch status {
        case .open:
            try await EntitlementRepository.suspend(true, purchase: purchase.id, at: now, in: db)
            try await audit(.accessSuspended, id: purchase.model.rawValue, subject(purchase, reason: "dispute_open"))
        case .won:
            try await EntitlementRepository.suspend(false, purchase: purchase.id, at: now, in: db)
            try await audit(.accessRestored, id: purchase.model.rawValue, subject(purchase, reason: "dispute_won"))
        case .lost:
            try await revokeAccess(of: purchase, reason: "dispute_lost", orAudit: .purchaseDisputeLost)
            // The bank took the money back: revenue is taken back as a refund's would be.
            bookings.add(try await PurchaseRepository.book(.refund, of: purchase.id, at: now, in: db))
        }
        try await outbox.enqueue([.modelPurchaseDisputed(model: purchase.model, status: status)], for: purchase.user, at: now, in: db)
        return .disputed
    }

    /// Revokes the purchase's own entitlement and audits `access.revoked`, or audits `fallback`
    /// when it held none (it was refunded before, or the user's access is an admin grant).
    private func revokeAccess(of purchase: PurchaseRecord, reason: String, orAudit fallback: AuditAction) async throws {
        let revoked = try await EntitlementRepository.revoke(purchase: purchase.id, reason: reason, at: now, in: db)
        try await audit(revoked ? .accessRevoked : fallback, id: purchase.model.rawValue, subject(purchase, reason: reason))
    }

    private func subject(_ purchase: PurchaseRecord, reason: String) -> [String: JSONValue] {
        ["userId": .string(purchase.user.description), "purchaseId": .number(Double(purchase.id)), "reason": .string(reason)]
    }

    func audit(_ action: AuditAction, type: String = "model", id: String, _ after: [String: JSONValue]) async throws {
        try await AuditLog.record(actor: "stripe", action: action, targetType: type, targetID: id, before: nil, after: .object(after), at: now, in: db)
    }
}
