import Foundation
import HTTPTypes
import Hummingbird
import ModelgateAccess
import ModelgateBilling
import ModelgateCore
import ModelgateHTTP
import ModelgateMetrics

struct WebhookReceipt: Encodable, Sendable {
    let received = true
    let outcome: String
}

/// Checkout for the signed-in user, and Stripe's webhook (authenticated by its signature, not a token).
public struct BillingRoutes: Sendable {
    let purchases: PurchaseService
    let userModels: UserModelsService
    let metrics: ModelgateMetrics

    public init(purchases: PurchaseService, userModels: UserModelsService, metrics: ModelgateMetrics) {
        self.purchases = purchases
        self.userModels = userModels
        self.metrics = metrics
    }
    static let webhookBodyLimit = 1 << 20

    public func register(api: RouterGroup<AppRequestContext>, router: Router<AppRequestContext>) {
        api.post("models/:id/checkout", use: checkout)
        router.post("api/purchases/webhook", use: webhook)
    }

    @Sendable func checkout(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        JSONBody(try await purchases.checkout(try context.parameters.model(), for: try context.requireIdentity().profile, userModels: userModels))
    }

    @Sendable func webhook(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        let body = try await request.body.collect(upTo: Self.webhookBodyLimit)
        let result: WebhookResult
        do {
            result = try await purchases.handleWebhook(
                payload: Data(buffer: body), signature: request.headers[HTTPField.Name("Stripe-Signature")!])
        } catch {
            if case .invalidSignature = error as? ModelgateError { metrics.webhook(.badSignature) } else { metrics.webhook(.failed) }
            throw error
        }
        metrics.webhook(Self.metric(result.outcome))
        if let lag = result.lagSeconds { metrics.webhookLag(seconds: lag) }
        for invoice in result.invoiceCents { metrics.subscriptionRevenue(plan: invoice.plan.rawValue, cents: invoice.cents) }
        for booking in result.bookings {
            metrics.revenue(model: booking.model, booking.kind == .refund ? .refund : .purchase, cents: abs(booking.amountCents))
        }
        return JSONBody(WebhookReceipt(outcome: result.outcome.rawValue))
    }

    /// A payment still pending counts as `ignored`: nothing changed yet.
    static func metric(_ outcome: WebhookOutcome) -> ModelgateMetrics.WebhookOutcome {
        switch outcome {
        case .granted: .granted
        case .duplicate: .duplicate
        case .failed: .failed
        case .refunded: .refunded
        case .disputed: .disputed
        case .unmatched, .mismatched: .refused
        case .ignored, .pending: .ignored
        }
    }
}
