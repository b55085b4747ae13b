import Foundation

/// One invalid field of a form or JSON body, named as the client sent it.
public struct FieldError: Sendable, Equatable, Codable {
    public let field: String
    public let message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    /// The problem of an admin-chosen id (a plan's, a pack's) that goes into URLs and Stripe metadata.
    public static func identifier(_ value: String, field: String = "id") -> FieldError? {
        let allowed = !value.isEmpty && value.count <= 64 && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        return allowed ? nil : FieldError(field, "must be 1–64 letters, digits, - or _")
    }
}

/// A value an admin may send, leave out (keep what is there) or send as null (clear it).
public enum DraftValue<Value: Sendable & Equatable>: Sendable, Equatable {
    case absent
    case null
    case value(Value)

    func resolved(_ current: Value?) -> Value? {
        switch self {
        case .absent: current
        case .null: nil
        case .value(let value): value
        }
    }
}

/// What an admin sends to create or edit a model, before validation. Every rule is checked and
/// every failure reported at once, each naming its field.
public struct ModelDraft: Sendable, Equatable {
    public var id: DraftValue<String> = .absent
    public var provider: DraftValue<String> = .absent
    public var providerModelId: DraftValue<String> = .absent
    public var displayName: DraftValue<String> = .absent
    public var description: DraftValue<String> = .absent
    public var enabled: DraftValue<Bool> = .absent
    public var tier: DraftValue<String> = .absent
    public var priceCents: DraftValue<Int> = .absent
    public var rateLimitMessagesPerDay: DraftValue<Int> = .absent
    public var trialMessagesAllowed: DraftValue<Int> = .absent
    public var sortOrder: DraftValue<Int> = .absent
    public var metadata: DraftValue<JSONValue> = .absent
    /// Provider list prices; a change takes effect for calls admitted from then on.
    public var prices: DraftValue<TokenPrices> = .absent
    public var dailyTokenBudget: DraftValue<Int> = .absent
    /// `chat` (the default) or `embedding`.
    public var kind: DraftValue<String> = .absent

    public init() {}

    /// 1–64 of `a-z 0-9 . -`, starting with a letter or digit: safe in URLs, CSV and Stripe metadata.
    static func isValidID(_ id: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard let first = id.first, first != ".", first != "-", id.count <= 64 else { return false }
        return id.allSatisfy(allowed.contains)
    }

    /// Control characters (NUL among them, which SQLite's `length` stops at) never belong in a name.
    static func hasControlCharacters(_ text: String, allowingLineBreaks: Bool = false) -> Bool {
        text.unicodeScalars.contains { scalar in
            scalar.properties.generalCategory == .control && !(allowingLineBreaks && "\n\r\t".unicodeScalars.contains(scalar))
        }
    }

    /// The model this draft describes: a new one when `existing` is nil, else `existing` with the
    /// draft's changes (its id cannot change).
    /// `earlier` carries failures found while reading the input (a number that is not one, JSON
    /// that does not parse), so they are reported with the rest.
    public func validated(editing existing: AIModel?, earlier: [FieldError] = []) throws(ModelgateError) -> AIModel {
        var errors = earlier
        let failed = Set(earlier.map(\.field))
        let id = existing.map(\.id.rawValue) ?? id.resolved(nil) ?? ""
        if let existing, case .value(let sent) = self.id, sent != existing.id.rawValue {
            errors.append(FieldError("id", "is read-only"))
        } else if existing == nil, !Self.isValidID(id) {
            errors.append(FieldError("id", "must be 1–64 lowercase letters, digits, '.' or '-', starting with a letter or digit"))
        }
        let providerText = provider.resolved(existing?.provider.rawValue) ?? ""
        let provider = Provider(rawValue: providerText)
        if provider == nil { errors.append(FieldError("provider", "must be one of openai, anthropic, together, google")) }
        let kind = ModelKind(rawValue: kind.resolved(existing?.kind.rawValue) ?? ModelKind.chat.rawValue)
        if kind == nil { errors.append(FieldError("kind", "must be chat or embedding")) }
        if kind == .embedding, let provider, !provider.servesEmbeddings {
            errors.append(FieldError("kind", "\(provider.rawValue) serves no embedding models"))
        }
        let tier = Tier(rawValue: tier.resolved(existing?.tier.rawValue) ?? "")
        if tier == nil { errors.append(FieldError("tier", "must be free or premium")) }
        let providerModelID = providerModelId.resolved(existing?.providerModelID)?.trimmingCharacters(in: .whitespaces) ?? ""
        if providerModelID.isEmpty { errors.append(FieldError("providerModelId", "is required")) }
        if Self.hasControlCharacters(providerModelID) { errors.append(FieldError("providerModelId", "must not contain control characters")) }
        let displayName = displayName.resolved(existing?.displayName)?.trimmingCharacters(in: .whitespaces) ?? ""
        if displayName.isEmpty || displayName.count > 100 { errors.append(FieldError("displayName", "is required (at most 100 characters)")) }
        if Self.hasControlCharacters(displayName) { errors.append(FieldError("displayName", "must not contain control characters")) }
        let description = description.resolved(existing?.description) ?? ""
        if Self.hasControlCharacters(description, allowingLineBreaks: true) {
            errors.append(FieldError("description", "must not contain control characters"))
        }
        let price = priceCents.resolved(existing?.priceCents)
        switch (tier, price) {
        case (.premium, nil): errors.append(FieldError("priceCents", "is required for a premium model"))
        case (.premium, let cents?) where cents <= 0: errors.append(FieldError("priceCents", "must be greater than 0"))
        case (.free, _?): errors.append(FieldError("priceCents", "must be empty for a free model"))
        default: break
        }
        let limit = rateLimitMessagesPerDay.resolved(existing?.dailyMessageLimit)
        if let limit, limit < 0 { errors.append(FieldError("rateLimitMessagesPerDay", "must be 0 or more (empty means unlimited)")) }
        let trials = trialMessagesAllowed.resolved(existing?.trialMessagesAllowed) ?? 0
        if trials < 0 { errors.append(FieldError("trialMessagesAllowed", "must be 0 or more")) }
        let prices = prices.resolved(existing?.prices)
        errors += Self.problems(of: prices)
        if prices == nil, existing?.prices != nil { errors.append(FieldError("prices", "cannot be removed once set (its history stays): set them to 0")) }
        let tokenBudget = dailyTokenBudget.resolved(existing?.dailyTokenBudget)
        if let tokenBudget, tokenBudget <= 0 { errors.append(FieldError("dailyTokenBudget", "must be greater than 0 (empty means no budget)")) }
        let metadata = metadata.resolved(existing?.metadata) ?? .object([:])
        if case .object = metadata {} else { errors.append(FieldError("metadata", "must be a JSON object")) }
        // A field that could not be read reports that, not a second complaint about its emptiness.
        errors = earlier + errors.dropFirst(earlier.count).filter { !failed.contains($0.field) }
        guard errors.isEmpty, let provider, let tier, let kind else { throw .validationFailed(errors) }
        return AIModel(
            id: ModelID(id), provider: provider, providerModelID: providerModelID, displayName: displayName,
            description: description, enabled: enabled.resolved(existing?.enabled) ?? true,
            tier: tier, priceCents: price,
            stripeProductID: existing?.stripeProductID, stripePriceID: price == existing?.priceCents ? existing?.stripePriceID : nil,
            metadata: metadata, dailyMessageLimit: limit, trialMessagesAllowed: trials,
            sortOrder: sortOrder.resolved(existing?.sortOrder) ?? 0, prices: prices, dailyTokenBudget: tokenBudget, kind: kind)
    }

    /// At most $10,000 per million tokens: a typo's extra digits, not a real price, beyond that.
    static let maximumMicrosPerMillion = 10_000_000_000

    private static func problems(of prices: TokenPrices?) -> [FieldError] {
        guard let prices else { return [] }
        let named: [(String, Int?)] = [
            ("prices.inputMicrosPerMillion", prices.inputMicrosPerMillion), ("prices.outputMicrosPerMillion", prices.outputMicrosPerMillion),
            ("prices.cachedInputMicrosPerMillion", prices.cachedInputMicrosPerMillion),
            ("prices.cacheWriteMicrosPerMillion", prices.cacheWriteMicrosPerMillion),
        ]
        return named.compactMap { field, value in
            guard let value, !(0...maximumMicrosPerMillion).contains(value) else { return nil }
            return FieldError(field, "must be 0 to \(maximumMicrosPerMillion) micro-dollars per million tokens")
        }
    }
}

extension ModelDraft: Decodable {
    enum CodingKeys: String, CodingKey {
        case id, provider, providerModelId, displayName, description, enabled, tier, priceCents, rateLimitMessagesPerDay,
             trialMessagesAllowed, sortOrder, metadata, prices, dailyTokenBudget, kind
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable & Sendable & Equatable>(_ key: CodingKeys) throws -> DraftValue<T> {
            guard container.contains(key) else { return .absent }
            if try container.decodeNil(forKey: key) { return .null }
            return .value(try container.decode(T.self, forKey: key))
        }
        id = try read(.id)
        provider = try read(.provider)
        providerModelId = try read(.providerModelId)
        displayName = try read(.displayName)
        description = try read(.description)
        enabled = try read(.enabled)
        tier = try read(.tier)
        priceCents = try read(.priceCents)
        rateLimitMessagesPerDay = try read(.rateLimitMessagesPerDay)
        trialMessagesAllowed = try read(.trialMessagesAllowed)
        sortOrder = try read(.sortOrder)
        metadata = try read(.metadata)
        prices = try read(.prices)
        dailyTokenBudget = try read(.dailyTokenBudget)
        kind = try read(.kind)
    }
}
