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
    let userModels: UserModelsService
    static let webhookBodyLimit = 1 << 20

    func register(api: RouterGroup<AppRequestContext>, router: Router<AppRequestContext>) {
        api.post("models/:id/checkout") { _, context in
            JSONBody(try await userModels.checkout(try context.parameters.model(), for: try context.requireIdentity().profile, purchases: purchases))
        }
        router.post("api/purchases/webhook") { request, _ in
            let body = try await request.body.collect(upTo: Self.webhookBodyLimit)
            let outcome = try await purchases.handleWebhook(
                payload: Data(buffer: body), signature: request.headers[HTTPField.Name("Stripe-Signature")!])
            return JSONBody(WebhookReceipt(outcome: outcome.rawValue))
        }
    }
}
