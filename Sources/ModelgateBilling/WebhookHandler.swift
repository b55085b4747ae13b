import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// Applies one new Stripe event inside the webhook's transaction.
struct WebhookHandler {
    let event: StripeEvent
    let now: Date
    let outbox: AnalyticsOutbox
    let db: any SQLDatabase

    func apply() async throws -> WebhookOutcome {
        switch event.type {
        case "checkout.session.completed", "checkout.session.async_payment_succeeded":
            return try await fulfil(paid: event.type.hasSuffix("succeeded") || event.string("payment_status") == "paid")
        case "checkout.session.async_payment_failed":
            return try await fail()
        case "charge.refunded":
            return try await refund()
        default:
            return .ignored
        }
    }

    private func purchase() async throws -> PurchaseRecord? {
        guard let session = event.string("id"), let model = event.metadata("model_id").map(ModelID.init(rawValue:)),
              let user = (event.metadata("user_id") ?? event.string("client_reference_id")).flatMap(UserID.init) else { return nil }
        let known = try await db.raw("""
            SELECT (SELECT COUNT(*) FROM profiles WHERE id = \(bind: user.description)) AS users,
                   (SELECT COUNT(*) FROM products WHERE model_id = \(bind: model.rawValue)) AS products
            """).first()
        guard try known?.decode(column: "users", as: Int.self) == 1, try known?.decode(column: "products", as: Int.self) == 1 else { return nil }
        return try await PurchaseRepository.upsert(
            sessionID: session, user: user, model: model, amountCents: event.int("amount_total") ?? 0,
            paymentIntent: event.string("payment_intent"), at: now, in: db)
    }

    private func fulfil(paid: Bool) async throws -> WebhookOutcome {
        guard let purchase = try await purchase() else { return .ignored }
        guard paid else { return .pending }
        if purchase.status == .refunded { return .ignored }
        if let intent = purchase.paymentIntent, try await PurchaseRepository.wasRefunded(paymentIntent: intent, in: db) {
            try await PurchaseRepository.setStatus(.refunded, of: purchase.id, at: now, in: db)
            return .refunded
        }
        try await PurchaseRepository.setStatus(.completed, of: purchase.id, at: now, in: db)
        let granted = try await EntitlementRepository.grant(
            model: purchase.model, to: purchase.user, source: .purchase, grantedBy: "stripe", purchaseID: purchase.id, at: now, in: db)
        guard granted else { return .duplicate }
        try await AuditLog.record(
            actor: "stripe", action: "access.granted", targetType: "model", targetID: purchase.model.rawValue, before: nil,
            after: .object(["userId": .string(purchase.user.description), "source": .string("purchase"), "purchaseId": .number(Double(purchase.id))]),
            at: now, in: db)
        try await outbox.enqueue(
            [.modelPurchaseCompleted(model: purchase.model, priceCents: purchase.amountCents, source: .stripe)], for: purchase.user, at: now, in: db)
        return .granted
    }

    private func fail() async throws -> WebhookOutcome {
        guard let purchase = try await purchase(), purchase.status == .pending else { return .ignored }
        try await PurchaseRepository.setStatus(.failed, of: purchase.id, at: now, in: db)
        return .failed
    }

    /// A full refund revokes access and keeps the history; one that arrives before its purchase
    /// completed is remembered so the completion grants nothing.
    private func refund() async throws -> WebhookOutcome {
        guard event.bool("refunded") == true, let intent = event.string("payment_intent") else { return .ignored }
        try await PurchaseRepository.rememberRefund(paymentIntent: intent, amount: event.int("amount_refunded") ?? 0, at: now, in: db)
        guard let purchase = try await PurchaseRepository.find(paymentIntent: intent, in: db) else { return .refunded }
        try await PurchaseRepository.setStatus(.refunded, of: purchase.id, at: now, in: db)
        if try await EntitlementRepository.revoke(model: purchase.model, from: purchase.user, reason: "refund", at: now, in: db) {
            try await AuditLog.record(
                actor: "stripe", action: "access.revoked", targetType: "model", targetID: purchase.model.rawValue,
                before: .object(["userId": .string(purchase.user.description), "source": .string("purchase")]),
                after: .object(["reason": .string("refund"), "purchaseId": .number(Double(purchase.id))]), at: now, in: db)
        }
        return .refunded
    }
}
