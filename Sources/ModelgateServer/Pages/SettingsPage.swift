import Foundation
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// What the settings template shows, computed from the user API's own views so the page and the
/// JSON API cannot disagree. Mustache reads these fields by name.
struct SettingsPage: Sendable {
    struct ModelOption: Sendable {
        let id: String
        let label: String
        let selected: Bool
    }

    struct ProviderGroup: Sendable {
        let name: String
        let options: [ModelOption]
    }

    struct ModelCard: Sendable {
        let id: String
        let name: String
        let provider: String
        let description: String
        let isPremium: Bool
        let isSystemDefault: Bool
        let isDefault: Bool
        let speed: String?
        let quality: String?
        let price: String?
        let dailyLimit: String
        let trialText: String?
        /// What one message costs in credits, for a model priced in them.
        let credits: String?
        /// The plan whose allowance pays for it now, when one does.
        let includedIn: String?
        let purchased: Bool
        let trialExhausted: Bool
        let locked: Bool
        let rateLimited: Bool
        let resetsAt: String
        let canBuy: Bool
        let showBuy: Bool
    }

    /// The options of one model `<select>`, grouped by provider.
    struct Picker: Sendable {
        let groups: [ProviderGroup]
    }

    struct PersonaRow: Sendable {
        let id: String
        let name: String
        let description: String
        let modelName: String
        let source: String
        let hasOverride: Bool
        let groups: [ProviderGroup]
    }

    struct UsageRow: Sendable {
        let modelName: String
        let used: Int
        let limit: String
        let atLimit: Bool
        let resetsAt: String
        /// Tokens today, with the model's daily token budget when it has one.
        let tokens: String
    }

    /// A recent reply: when, which coach, which model answered (and for which it stood in), its cost.
    struct HistoryRow: Sendable {
        let time: String
        let persona: String
        let model: String
        let standIn: String?
        let cost: String
    }

    struct CompareRow: Sendable {
        let name: String
        let provider: String
        let tier: String
        let price: String
        let dailyLimit: String
        let trial: String
        let speed: String
        let quality: String
        let contextWindow: String
    }

    let title = "Model settings"
    let email: String
    let isAdmin: Bool
    let csrf: String
    let notice: PageNotice?
    let purchasesOpen: Bool
    let modelSelectionEnabled: Bool
    let emptyCatalog: Bool
    let systemDefaultName: String
    let defaultSource: String
    let defaultPicker: Picker
    let freeCards: [ModelCard]
    let premiumCards: [ModelCard]
    let personas: [PersonaRow]
    let usage: [UsageRow]
    let hasUsage: Bool
    /// Provider cost today across models, with the daily budget when there is one.
    let spentToday: String
    /// The last 7 days' messages as a chart with its table.
    let weekChart: String
    let history: [HistoryRow]
    let hasHistory: Bool
    let compare: [CompareRow]
    let timeZone: String
    let billing: BillingSection
}

extension SettingsPage {
    init(identity: Identity, models: ModelsView, personas: [PersonaView], catalog: CatalogSnapshot, csrf: String,
         notice: PageNotice?, purchasesOpen: Bool, modelSelectionEnabled: Bool, week: [(day: String, usage: UsageDay)], recent: [RecentReply],
         billing: BillingView, ledger: CreditLedgerView) {
        // The page is about conversations: embedding models are for API clients (`/v1/models` lists them).
        let all = (models.data.free + models.data.premium).filter { $0.kind == .chat }
        let names = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0.displayName) })
        let preferences = identity.profile.preferences
        let zone = identity.profile.timeZone.current
        let format = LocalTimeFormat(zone: zone)
        func groups(selected: ModelID?) -> [ProviderGroup] {
            Provider.allCases.compactMap { provider in
                let options = all.filter { $0.provider == provider }.map { model in
                    ModelOption(id: model.id.rawValue, label: Self.optionLabel(model), selected: model.id == selected)
                }
                return options.isEmpty ? nil : ProviderGroup(name: provider.displayName, options: options)
            }
        }
        let cards = all.map { ModelCard($0, defaultID: preferences.defaultModelId, format: format,
                                        canBuy: purchasesOpen && modelSelectionEnabled && catalog.model($0.id)?.stripePriceID != nil) }

        email = identity.profile.email ?? identity.user.description
        isAdmin = identity.isAdmin
        self.csrf = csrf
        self.notice = notice
        self.purchasesOpen = purchasesOpen && modelSelectionEnabled
        self.modelSelectionEnabled = modelSelectionEnabled
        emptyCatalog = all.isEmpty
        systemDefaultName = names[models.data.systemDefaultModelId] ?? models.data.systemDefaultModelId.rawValue
        defaultSource = preferences.defaultModelId.map {
            names[$0] == nil ? "The model you chose is unavailable now, so the system default answers" : "You chose it yourself"
        } ?? "You have not chosen one, so the system default answers"
        defaultPicker = Picker(groups: groups(selected: preferences.defaultModelId ?? models.data.systemDefaultModelId))
        freeCards = cards.filter { !$0.isPremium }
        premiumCards = cards.filter(\.isPremium)
        self.personas = personas.map { persona in
            PersonaRow(
                id: persona.id.rawValue, name: persona.name, description: persona.description,
                modelName: names[persona.modelId] ?? persona.modelId.rawValue, source: Self.sourceLabel(persona.source),
                hasOverride: persona.source == .override, groups: groups(selected: preferences.personaOverrides[persona.id]))
        }
        usage = all.compactMap { model in
            guard let usage = model.usageToday, usage.used > 0 else { return nil }
            let tokens = ChartUnit.count.format(usage.tokens.used) + (usage.tokens.limit.value.map { " / " + ChartUnit.count.format($0) } ?? "")
            return UsageRow(modelName: model.displayName, used: usage.used, limit: usage.limit.value.map(String.init) ?? "unlimited",
                            atLimit: usage.remaining.value == 0 || usage.tokens.remaining.value == 0, resetsAt: format.reset(usage.resetAt), tokens: tokens)
        }
        hasUsage = !usage.isEmpty
        let spend = all.compactMap(\.usageToday).first?.costMicros
        spentToday = ChartUnit.microdollars.format(spend?.used ?? 0) + (spend?.limit.value.map { " of " + ChartUnit.microdollars.format($0) } ?? "")
        history = recent.map { reply in
            func name(_ id: ModelID?) -> String { id.map { names[$0] ?? catalog.model($0)?.displayName ?? $0.rawValue } ?? "—" }
            return HistoryRow(time: format.time(reply.at), persona: personas.first { $0.id == reply.persona }?.name ?? reply.persona.rawValue,
                              model: name(reply.model), standIn: reply.failoverFrom.map { name($0) },
                              cost: ChartUnit.microdollars.format(reply.costMicros ?? 0))
        }
        hasHistory = !history.isEmpty
        weekChart = Chart(id: "week", title: "Your messages, last 7 days", kind: .columns, unit: .count, labels: week.map(\.day),
                          series: [ChartSeries(name: "Messages", values: week.map(\.usage.messages))], labelHeading: "Day").html
        compare = all.map(CompareRow.init)
        timeZone = zone
        self.billing = BillingSection(billing: billing, ledger: ledger, models: models, format: format, purchasesOpen: purchasesOpen)
    }

    static func optionLabel(_ model: ModelView) -> String {
        var parts = [model.displayName, model.tier == .premium ? "Premium" : "Free"]
        if let speed = model.metadata["speed"]?.stringValue { parts.append(speed) }
        if let quality = model.metadata["quality"]?.stringValue { parts.append(quality) }
        if model.isSystemDefault { parts.append("system default") }
        switch model.access {
        case .modelLocked, .trialExhausted, .planPastDue, .creditsInsufficient, .planAllowanceExhausted: parts.append("locked")
        case .allowed, .rateLimited, .tokenBudgetExhausted: if model.purchased == false { parts.append("buy to make default") }
        }
        return parts.joined(separator: " · ")
    }

    static func sourceLabel(_ source: PersonaModelSource) -> String {
        switch source {
        case .override: "Override for this coach"
        case .userDefault: "Your default"
        case .systemDefault: "System default"
        case .fallback: "Fallback (your choice is unavailable)"
        }
    }
}

extension SettingsPage.ModelCard {
    init(_ model: ModelView, defaultID: ModelID?, format: LocalTimeFormat, canBuy: Bool) {
        let premium = model.tier == .premium
        let purchased = model.purchased == true
        let trialsLeft = model.trialMessagesRemaining ?? 0
        let planPays = model.paidBy == .plan
        id = model.id.rawValue
        name = model.displayName
        provider = model.provider.displayName
        description = model.description
        isPremium = premium
        isSystemDefault = model.isSystemDefault
        isDefault = model.id == defaultID
        speed = model.metadata["speed"]?.stringValue
        quality = model.metadata["quality"]?.stringValue
        price = model.priceCents.value.map { Money.dollars($0) }
        dailyLimit = model.dailyMessageLimit.value.map { "\($0) messages a day" } ?? "No daily limit"
        credits = model.creditPrice.map { price in
            let typical = model.creditsPerMessage.map(String.init) ?? "?"
            if case .perMessage = price { return "\(typical) credits a message" }
            return "about \(typical) credits a message, by its tokens"
        }
        includedIn = planPays ? model.plan.map { "Included in your \($0.name) plan" } : nil
        trialText = premium && !purchased && !planPays && model.trialMessagesAllowed > 0
            ? "\(trialsLeft) of \(model.trialMessagesAllowed) free messages left" : nil
        self.purchased = purchased
        trialExhausted = model.access == .trialExhausted
        locked = model.access == .modelLocked || model.access == .trialExhausted
        rateLimited = model.usageToday?.remaining.value == 0
        resetsAt = model.usageToday.map { format.reset($0.resetAt) } ?? ""
        self.canBuy = canBuy
        showBuy = premium && !purchased && !planPays
    }
}

extension SettingsPage.CompareRow {
    init(_ model: ModelView) {
        name = model.displayName
        provider = model.provider.displayName
        tier = model.tier == .premium ? "Premium" : "Free"
        price = model.priceCents.value.map { Money.dollars($0) } ?? "Free"
        dailyLimit = model.dailyMessageLimit.value.map { "\($0)/day" } ?? "Unlimited"
        trial = model.tier == .premium ? "\(model.trialMessagesAllowed) messages" : "—"
        speed = model.metadata["speed"]?.stringValue ?? "—"
        quality = model.metadata["quality"]?.stringValue ?? "—"
        // Metadata is free JSON: a number too large or fractional for a token count shows as unknown.
        contextWindow = model.metadata["contextWindow"]?.numberValue.flatMap { Int(exactly: $0) }.map { "\($0 / 1000)K tokens" } ?? "—"
    }
}

/// Formats instants in the user's own time zone, as the page shows them.
struct LocalTimeFormat {
    let zone: String
    private let formatter: DateFormatter

    init(zone: String) {
        self.zone = zone
        formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: zone) ?? .gmt
        formatter.dateFormat = "HH:mm 'on' EEE d MMM"
    }

    /// An instant in the user's zone.
    func time(_ date: Date) -> String { formatter.string(from: date) }

    /// `resetAt` as the API gives it (ISO 8601).
    func reset(_ resetAt: String) -> String {
        guard let date = try? Date(resetAt, strategy: .iso8601) else { return resetAt }
        return "\(formatter.string(from: date)) (\(zone))"
    }
}
