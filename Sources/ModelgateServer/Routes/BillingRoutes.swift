import Foundation
import HTTPTypes
import Hummingbird
import ModelgateBilling
import ModelgateCore

struct WebhookReceipt: Encodable, Sendable {
    let received = true
    let outcome: String
}

/// Checkout for the signed-in user, and Stripe's webhook (authenticated by its signature, not a token).
struct BillingRoutes {
    let purchases: PurchaseService
    let access: ModelAccessService
    static let webhookBodyLimit = 1 << 20

    func register(api: RouterGroup<AppRequestContext>, router: Router<AppRequestContext>) {
        api.post("models/:id/checkout") { _, context in
            let profile = try context.requireIdentity().profile
            let id = try context.parameters.model()
            let entitled = try await access.entitlements.entitledModels(of: profile.id).contains(id)
            let started = try await purchases.checkout(model: access.cache.catalog.model(id), id: id, user: profile.id, alreadyEntitled: entitled)
            return JSONBody(started)
        }
        router.post("api/purchases/webhook") { request, _ in
            let body = try await request.body.collect(upTo: Self.webhookBodyLimit)
            let outcome = try await purchases.handleWebhook(
                payload: Data(buffer: body), signature: request.headers[HTTPField.Name("Stripe-Signature")!])
            return JSONBody(WebhookReceipt(outcome: outcome.rawValue))
        }
    }
}
