import Foundation
import ModelgateAccess
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// The view models of the admin pages. Mustache reads these fields by name.
enum AdminPage {
    struct Chrome: Sendable {
        let title: String
        let email: String
        let csrf: String
        let notice: PageNotice?
        let admin = true
    }

    struct Link: Sendable {
        let label: String
        let href: String
        let current: Bool
    }

    struct Option: Sendable {
        let value: String
        let label: String
        let selected: Bool
    }

    struct ModelRow: Sendable {
        let id: String
        let name: String
        let provider: String
        let tier: String
        let isPremium: Bool
        let isEmbedding: Bool
        let price: String
        let dailyLimit: String
        let trials: Int
        let sortOrder: Int
        let enabled: Bool
        let isSystemDefault: Bool
        let messagesToday: Int
        let messagesLast30Days: Int
        let revenue: String
    }

    struct Table: Sendable {
        let chrome: Chrome
        let rows: [ModelRow]
        let empty: Bool
        let total: Int
        let search: String
        let tiers: [Option]
        let providers: [Option]
        let states: [Option]
        let sortLinks: [Link]
        let pagination: Pagination?
        let exportFrom: String
        let exportTo: String
        /// Blank when free models are unlimited.
        let freeDailyLimit: String
        /// Dollars, blank for none.
        let userDailyCostBudget: String
        /// Messages answered by a stand-in in the last 30 days, per (from, to).
        let failovers: [FailoverCount]
        let hasFailovers: Bool
        let defaultOptions: [Option]
        /// The names clients send, and every model they may be mapped to.
        let aliases: [ModelAlias]
        let hasAliases: Bool
        let aliasModelOptions: [Option]
    }

    struct Field: Sendable {
        let name: String
        let label: String
        let value: String
        let error: String?
        let hint: String?
        let readOnly: Bool
    }

    struct Form: Sendable {
        let chrome: Chrome
        let isNew: Bool
        let action: String
        let id: Field
        let displayName: Field
        let providerModelId: Field
        let description: Field
        let priceCents: Field
        let inputPrice: Field
        let outputPrice: Field
        let cachedInputPrice: Field
        let cacheWritePrice: Field
        let dailyTokenBudget: Field
        /// The stand-ins of an existing model, as ids separated by commas (`nil` on the new-model form).
        let standIns: Field?
        let allowHigherTier: Bool
        let rateLimitMessagesPerDay: Field
        let trialMessagesAllowed: Field
        let sortOrder: Field
        let metadata: Field
        let providers: [Option]
        let tiers: [Option]
        let kinds: [Option]
        let providerError: String?
        let tierError: String?
        let kindError: String?
        let enabled: Bool
        let isFree: Bool
        let errors: [FieldError]
        let hasErrors: Bool
    }

    struct Figure: Sendable {
        let label: String
        let value: String
    }

    struct Stats: Sendable {
        let chrome: Chrome
        let id: String
        let name: String
        let isPremium: Bool
        let figures: [Figure]
        /// Rendered charts (inline SVG and table), last 30 days.
        let charts: [String]
        let ranking: Ranking?
        let holders: [Holder]
        let hasHolders: Bool
        let holderPages: Pages?

        static let holdersPerPage = 50
    }

    /// Where a paged list is: "41–50 of 120", with the pages before and after (nil on a single page).
    struct Pages: Sendable {
        let first: Int
        let last: Int
        let total: Int
        let previous: Int?
        let next: Int?

        init?(page: Int, perPage: Int, total: Int) {
            guard total > perPage || page > 1 else { return nil }
            first = min(total, (page - 1) * perPage + 1)
            last = min(total, page * perPage)
            self.total = total
            previous = page > 1 ? page - 1 : nil
            next = page * perPage < total ? page + 1 : nil
        }
    }

    struct Holder: Sendable {
        let userId: String
        let email: String
        let source: String
        let note: String
        let grantedAt: String
    }

    struct AuditRow: Sendable {
        let time: String
        let actor: String
        let action: String
        let target: String
        let before: String
        let after: String
    }

    struct Audit: Sendable {
        let chrome: Chrome
        let rows: [AuditRow]
        let empty: Bool
        let total: Int
        let actor: String
        let action: String
        let target: String
        let from: String
        let to: String
        let pagination: Pagination?
    }

    /// Page links, present only when there is more than one page.
    struct Pagination: Sendable {
        let links: [Link]
    }

    struct Ranking: Sendable {
        let users: [ModelStatistics.TopUser]
    }
}

extension AdminPage {
    static func options<T: RawRepresentable & Equatable>(_ values: [T], selected: T?, all: String?) -> [Option] where T.RawValue == String {
        (all.map { [Option(value: "", label: $0, selected: selected == nil)] } ?? [])
            + values.map { Option(value: $0.rawValue, label: $0.rawValue, selected: $0 == selected) }
    }

    /// Numbered page links keeping the other query parameters.
    static func pages(total: Int, perPage: Int, current: Int, path: String, query: [(String, String)]) -> Pagination? {
        let count = max(1, (total + perPage - 1) / perPage)
        guard count > 1 else { return nil }
        return Pagination(links: (1...count).map { page in
            Link(label: "\(page)", href: path + "?" + encode(query + [("page", "\(page)")]), current: page == current)
        })
    }

    static func encode(_ query: [(String, String)]) -> String {
        query.filter { !$0.1.isEmpty }.map { key, value in
            key + "=" + (value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value)
        }.joined(separator: "&")
    }
}

extension AdminPage.ModelRow {
    init(_ model: AIModel, messagesToday: Int, stats: ModelStatistics?, systemDefault: ModelID) {
        id = model.id.rawValue
        name = model.displayName
        provider = model.provider.displayName
        tier = model.tier == .premium ? "Premium" : "Free"
        isPremium = model.tier == .premium
        isEmbedding = model.kind == .embedding
        price = model.priceCents.map { Money.dollars($0) } ?? "—"
        dailyLimit = model.dailyMessageLimit.map(String.init) ?? "unlimited"
        trials = model.trialMessagesAllowed
        sortOrder = model.sortOrder
        enabled = model.enabled
        isSystemDefault = model.id == systemDefault
        self.messagesToday = messagesToday
        messagesLast30Days = stats?.messagesLast30Days ?? 0
        revenue = Money.dollars(stats?.revenueCents ?? 0)
    }
}

extension AdminPage.Form {
    /// The form for `model` (nil: a new one), showing `values` the admin sent back when refused.
    init(chrome: AdminPage.Chrome, model: AIModel?, values: [String: String]?, errors: [FieldError], catalogStandIns: [ModelID: [StandIn]] = [:]) {
        func field(_ name: String, _ label: String, _ current: String, hint: String? = nil, readOnly: Bool = false, apiField: String? = nil) -> AdminPage.Field {
            AdminPage.Field(name: name, label: label, value: values?[name] ?? current,
                            error: errors.first { $0.field == name || $0.field == apiField }?.message, hint: hint, readOnly: readOnly)
        }
        func dollars(_ micros: Int?) -> String { micros.map { String(Money.dollars(micros: $0).dropFirst()) } ?? "" }
        let prices = model?.prices
        let metadataText = model.map { String(decoding: (try? JSONEncoder.sorted.encode($0.metadata)) ?? Data("{}".utf8), as: UTF8.self) } ?? "{}"
        let tier = values?["tier"] ?? model?.tier.rawValue ?? "free"
        let kind = values?["kind"] ?? model?.kind.rawValue ?? "chat"
        let provider = values?["provider"] ?? model?.provider.rawValue ?? "openai"
        self.chrome = chrome
        isNew = model == nil
        action = model.map { "/admin/models/\($0.id.rawValue)" } ?? "/admin/models"
        id = field("id", "Id", model?.id.rawValue ?? "", hint: "Lowercase letters, digits, '.' and '-'; cannot change later.", readOnly: model != nil)
        displayName = field("displayName", "Display name", model?.displayName ?? "")
        providerModelId = field("providerModelId", "Provider model id", model?.providerModelID ?? "", hint: "The name the provider's API knows, e.g. gpt-4o.")
        description = field("description", "Description", model?.description ?? "")
        priceCents = field("priceCents", "Price (US cents)", model?.priceCents.map(String.init) ?? "", hint: "Premium only, e.g. 299 for $2.99.")
        inputPrice = field("inputPrice", "Input price (US$ per million tokens)", dollars(prices?.inputMicrosPerMillion),
                           hint: "The provider's list price, e.g. 2.50; a change applies to calls from now on.", apiField: "prices.inputMicrosPerMillion")
        outputPrice = field("outputPrice", "Output price (US$ per million tokens)", dollars(prices?.outputMicrosPerMillion),
                            apiField: "prices.outputMicrosPerMillion")
        cachedInputPrice = field("cachedInputPrice", "Cached input price (US$ per million tokens)", dollars(prices?.cachedInputMicrosPerMillion),
                                 hint: "Prompt tokens read from the provider's cache.", apiField: "prices.cachedInputMicrosPerMillion")
        cacheWritePrice = field("cacheWritePrice", "Cache write price (US$ per million tokens)", dollars(prices?.cacheWriteMicrosPerMillion),
                                hint: "Anthropic's prompt-cache writes; empty means the input price.", apiField: "prices.cacheWriteMicrosPerMillion")
        standIns = model.map { model in
            field("standIns", "Stand-ins (model ids, in order)", catalogStandIns[model.id]?.map(\.modelId.rawValue).joined(separator: ", ") ?? "",
                  hint: "Tried in this order when \(model.id)'s provider fails before answering, if the user may use them; empty for none.")
        }
        allowHigherTier = catalogStandIns[model?.id ?? ""]?.contains(where: \.allowHigherTier) ?? false
        dailyTokenBudget = field("dailyTokenBudget", "Daily token budget per user", model?.dailyTokenBudget.map(String.init) ?? "",
                                 hint: "Prompt and reply tokens one user may use on this model per local day; empty means none.")
        rateLimitMessagesPerDay = field("rateLimitMessagesPerDay", "Daily message limit", model?.dailyMessageLimit.map(String.init) ?? "",
                                        hint: "Empty means unlimited.")
        trialMessagesAllowed = field("trialMessagesAllowed", "Trial messages", String(model?.trialMessagesAllowed ?? 0))
        sortOrder = field("sortOrder", "Sort order", String(model?.sortOrder ?? 0))
        metadata = field("metadata", "Metadata (JSON object)", metadataText, hint: #"Badges and facts, e.g. {"speed": "fast", "quality": "good", "contextWindow": 128000}"#)
        providers = Provider.allCases.map { AdminPage.Option(value: $0.rawValue, label: $0.displayName, selected: $0.rawValue == provider) }
        tiers = Tier.allCases.map { AdminPage.Option(value: $0.rawValue, label: $0.rawValue.capitalized, selected: $0.rawValue == tier) }
        kinds = ModelKind.allCases.map { AdminPage.Option(value: $0.rawValue, label: $0 == .chat ? "Chat" : "Embedding", selected: $0.rawValue == kind) }
        providerError = errors.first { $0.field == "provider" }?.message
        tierError = errors.first { $0.field == "tier" }?.message
        kindError = errors.first { $0.field == "kind" }?.message
        enabled = values.map { $0["enabled"] == "true" } ?? model?.enabled ?? true
        isFree = tier == "free"
        self.errors = errors
        hasErrors = !errors.isEmpty
    }
}
