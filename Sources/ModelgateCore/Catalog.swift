import Foundation

public enum Provider: String, Sendable, Codable, CaseIterable {
    case openai, anthropic, together, google
}

public enum Tier: String, Sendable, Codable, CaseIterable {
    case free, premium
}

/// What a model does: answers a conversation, or turns text into vectors. Each front door serves
/// one kind and refuses the other by name.
public enum ModelKind: String, Sendable, Codable, CaseIterable {
    case chat, embedding
}

extension Provider {
    /// Anthropic has no embeddings API.
    public var servesEmbeddings: Bool { self != .anthropic }
}

/// One model of the catalog, as an admin configured it.
public struct AIModel: Sendable, Equatable, Codable {
    public var id: ModelID
    public var provider: Provider
    public var providerModelID: String
    public var displayName: String
    public var description: String
    public var enabled: Bool
    public var tier: Tier
    /// Price of lifetime access in US cents; `nil` for free models.
    public var priceCents: Int?
    public var stripeProductID: String?
    public var stripePriceID: String?
    /// Free-form JSON object: badges (`speed`, `quality`), `contextWindow`, …
    public var metadata: JSONValue
    /// Messages a user may send per calendar day, as set on the model; `nil` means none of its own.
    public var dailyMessageLimit: Int?
    public var trialMessagesAllowed: Int
    public var sortOrder: Int
    /// The catalog's default daily limit of free models, for a free model without one of its own.
    public var inheritedDailyLimit: Int? = nil
    /// The provider's prices in force now; `nil` when none were ever set (its calls cost nothing here).
    public var prices: TokenPrices? = nil
    /// Tokens (prompt and reply) one user may use on this model per local day; `nil`: no budget.
    public var dailyTokenBudget: Int? = nil
    /// What a message costs in credits; `nil`: credits do not pay for it.
    public var creditPrice: CreditPrice? = nil
    public var kind: ModelKind = .chat

    /// The daily limit that applies: the model's own, else the free-model default; `nil` is unlimited.
    public var dailyLimit: Int? { dailyMessageLimit ?? inheritedDailyLimit }

    enum CodingKeys: String, CodingKey {
        case id, provider, providerModelID, displayName, description, enabled, tier, priceCents, stripeProductID, stripePriceID
        case metadata, dailyMessageLimit, trialMessagesAllowed, sortOrder, prices, dailyTokenBudget, creditPrice, kind
    }

    public init(
        id: ModelID, provider: Provider, providerModelID: String, displayName: String, description: String,
        enabled: Bool = true, tier: Tier, priceCents: Int? = nil, stripeProductID: String? = nil,
        stripePriceID: String? = nil, metadata: JSONValue = .object([:]), dailyMessageLimit: Int? = nil,
        trialMessagesAllowed: Int = 0, sortOrder: Int = 0, prices: TokenPrices? = nil, dailyTokenBudget: Int? = nil,
        kind: ModelKind = .chat
    ) {
        self.id = id
        self.provider = provider
        self.providerModelID = providerModelID
        self.displayName = displayName
        self.description = description
        self.enabled = enabled
        self.tier = tier
        self.priceCents = priceCents
        self.stripeProductID = stripeProductID
        self.stripePriceID = stripePriceID
        self.metadata = metadata
        self.dailyMessageLimit = dailyMessageLimit
        self.trialMessagesAllowed = trialMessagesAllowed
        self.sortOrder = sortOrder
        self.prices = prices
        self.dailyTokenBudget = dailyTokenBudget
        self.kind = kind
    }
}

/// The catalog as read at one moment: every model (disabled ones included) and the system default.
/// Cheap to copy and safe to share between requests; the server keeps the newest one in memory.
public struct CatalogSnapshot: Sendable {
    public let models: [AIModel]
    public let systemDefaultID: ModelID
    public let version: Int64
    /// The daily limit of free models that set none; `nil` only when an admin made them unlimited.
    public let freeDailyLimit: Int?
    /// What one user may spend per local day across all models, in micro-dollars; `nil`: no budget.
    public let userDailyCostBudgetMicros: Int?
    /// Each model's stand-ins, in the order they are tried.
    public let standIns: [ModelID: [StandIn]]
    /// The subscription plans, retired ones included (their subscribers keep them).
    public let plans: [Plan]
    /// The names clients send for catalog models.
    public let aliases: [ModelAlias]
    private let byID: [ModelID: AIModel]

    public init(models: [AIModel], systemDefaultID: ModelID, version: Int64 = 0, freeDailyLimit: Int? = nil, userDailyCostBudgetMicros: Int? = nil,
                standIns: [ModelID: [StandIn]] = [:], plans: [Plan] = [], aliases: [ModelAlias] = []) {
        let models = models.map { model in
            var model = model
            model.inheritedDailyLimit = model.tier == .free ? freeDailyLimit : nil
            return model
        }
        self.models = models.sorted { ($0.sortOrder, $0.id) < ($1.sortOrder, $1.id) }
        self.systemDefaultID = systemDefaultID
        self.version = version
        self.freeDailyLimit = freeDailyLimit
        self.userDailyCostBudgetMicros = userDailyCostBudgetMicros
        self.standIns = standIns
        self.plans = plans
        self.aliases = aliases
        self.byID = Dictionary(models.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func model(_ id: ModelID) -> AIModel? { byID[id] }
    public func plan(_ id: PlanID) -> Plan? { plans.first { $0.id == id } }
    public var enabledModels: [AIModel] { models.filter(\.enabled) }
}
