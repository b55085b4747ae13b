import Hummingbird
import ModelgateCore

struct AdminModelView: Encodable, Sendable {
    let id: ModelID
    let provider: Provider
    let providerModelId: String
    let displayName: String
    let description: String
    let enabled: Bool
    let tier: Tier
    let priceCents: Nullable<Int>
    let stripeProductId: Nullable<String>
    let stripePriceId: Nullable<String>
    let rateLimitMessagesPerDay: Nullable<Int>
    let trialMessagesAllowed: Int
    let sortOrder: Int
    let metadata: JSONValue
    let isSystemDefault: Bool

    init(_ model: AIModel, systemDefault: ModelID) {
        id = model.id
        provider = model.provider
        providerModelId = model.providerModelID
        displayName = model.displayName
        description = model.description
        enabled = model.enabled
        tier = model.tier
        priceCents = Nullable(model.priceCents)
        stripeProductId = Nullable(model.stripeProductID)
        stripePriceId = Nullable(model.stripePriceID)
        rateLimitMessagesPerDay = Nullable(model.dailyMessageLimit)
        trialMessagesAllowed = model.trialMessagesAllowed
        sortOrder = model.sortOrder
        metadata = model.metadata
        isSystemDefault = model.id == systemDefault
    }
}

struct AdminModelsList: Encodable, Sendable {
    let data: [AdminModelView]
}

/// Routes for operators; the group they hang on requires the admin role.
struct AdminRoutes {
    let cache: CatalogCache

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("models") { _, _ in
            let catalog = cache.catalog
            return JSONBody(AdminModelsList(data: catalog.models.map { AdminModelView($0, systemDefault: catalog.systemDefaultID) }))
        }
    }
}
