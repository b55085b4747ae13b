import Foundation
import ModelgateAccess
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// The admin model form as posted: text until it is validated.
struct AdminModelForm: Decodable {
    var id: String?
    var provider: String?
    var providerModelId: String?
    var displayName: String?
    var description: String?
    var tier: String?
    var kind: String?
    /// The checkbox: absent when unticked.
    var enabled: String?
    var priceCents: String?
    var rateLimitMessagesPerDay: String?
    var trialMessagesAllowed: String?
    var sortOrder: String?
    var metadata: String?
    var inputPrice: String?
    var outputPrice: String?
    var cachedInputPrice: String?
    var cacheWritePrice: String?
    var dailyTokenBudget: String?

    /// The fields as sent, shown again when the form is refused.
    var values: [String: String] {
        let fields: [(String, String?)] = [
            ("id", id), ("provider", provider), ("providerModelId", providerModelId), ("displayName", displayName),
            ("description", description), ("tier", tier), ("kind", kind), ("enabled", enabled), ("priceCents", priceCents),
            ("rateLimitMessagesPerDay", rateLimitMessagesPerDay), ("trialMessagesAllowed", trialMessagesAllowed),
            ("sortOrder", sortOrder), ("metadata", metadata), ("inputPrice", inputPrice), ("outputPrice", outputPrice),
            ("cachedInputPrice", cachedInputPrice), ("cacheWritePrice", cacheWritePrice), ("dailyTokenBudget", dailyTokenBudget),
        ]
        return Dictionary(uniqueKeysWithValues: fields.compactMap { name, value in value.map { (name, $0) } })
    }

    /// The draft these fields describe, with the fields that could not be read.
    var draft: (ModelDraft, [FieldError]) {
        var draft = ModelDraft()
        var errors: [FieldError] = []
        func text(_ value: String?) -> DraftValue<String> { value.map { .value($0) } ?? .absent }
        func number(_ key: String, _ value: String?, blank: DraftValue<Int>) -> DraftValue<Int> {
            guard let raw = value?.trimmingCharacters(in: .whitespaces) else { return .absent }
            if raw.isEmpty { return blank }
            guard let number = Int(raw) else {
                errors.append(FieldError(key, "must be a whole number"))
                return .absent
            }
            return .value(number)
        }
        draft.id = text(id)
        draft.provider = text(provider)
        draft.providerModelId = text(providerModelId)
        draft.displayName = text(displayName)
        draft.description = text(description)
        draft.tier = text(tier)
        draft.kind = text(kind)
        draft.enabled = .value(enabled == "true")
        draft.priceCents = number("priceCents", priceCents, blank: .null)
        draft.rateLimitMessagesPerDay = number("rateLimitMessagesPerDay", rateLimitMessagesPerDay, blank: .null)
        draft.trialMessagesAllowed = number("trialMessagesAllowed", trialMessagesAllowed, blank: .value(0))
        draft.sortOrder = number("sortOrder", sortOrder, blank: .value(0))
        draft.dailyTokenBudget = number("dailyTokenBudget", dailyTokenBudget, blank: .null)
        draft.prices = readPrices(&errors)
        if let raw = metadata?.trimmingCharacters(in: .whitespacesAndNewlines) {
            if raw.isEmpty {
                draft.metadata = .value(.object([:]))
            } else if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(raw.utf8)) {
                draft.metadata = .value(value)
            } else {
                errors.append(FieldError("metadata", "is not valid JSON"))
            }
        }
        return (draft, errors)
    }
}

extension AdminModelForm {
    /// The four price fields in dollars per million: all blank keeps the prices as they are; otherwise
    /// input, output and cached input are required and the cache write price is optional.
    private func readPrices(_ errors: inout [FieldError]) -> DraftValue<TokenPrices> {
        let fields = [("inputPrice", inputPrice), ("outputPrice", outputPrice), ("cachedInputPrice", cachedInputPrice), ("cacheWritePrice", cacheWritePrice)]
        let texts = fields.map { ($0.0, $0.1?.trimmingCharacters(in: .whitespaces) ?? "") }
        guard texts.contains(where: { !$0.1.isEmpty }) else { return .absent }
        var micros: [String: Int] = [:]
        for (name, text) in texts where !(text.isEmpty && name == "cacheWritePrice") {
            guard let value = TokenPrices.micros(fromDollars: text) else {
                errors.append(FieldError(name, text.isEmpty ? "is required with the other prices" : "must be dollars per million tokens, e.g. 2.50 (at most 6 decimals)"))
                continue
            }
            micros[name] = value
        }
        guard let input = micros["inputPrice"], let output = micros["outputPrice"], let cached = micros["cachedInputPrice"] else { return .absent }
        return .value(TokenPrices(inputMicrosPerMillion: input, outputMicrosPerMillion: output, cachedInputMicrosPerMillion: cached,
                                  cacheWriteMicrosPerMillion: micros["cacheWritePrice"]))
    }
}

/// A model's stand-ins as typed on its form.
struct StandInsForm: Decodable {
    let standIns: String?
    /// The checkbox: absent when unticked.
    let allowHigherTier: String?
}

/// A table toggle: enable or disable one model.
struct EnabledForm: Decodable {
    let enabled: Bool
}

/// The bulk action: the ticked models (`ids[]`), enabled or disabled.
struct BulkForm: Decodable {
    let ids: [String]?
    let enabled: Bool
}

/// The daily limit of free models; blank is unlimited.
struct FreeDailyLimitForm: Decodable {
    let limit: String?
}

/// A grant to a user (email or id), with where it comes from and a note.
struct GrantForm: Decodable {
    let user: String?
    let source: String?
    let note: String?
}

/// A revocation from a user (email or id).
struct RevokeForm: Decodable {
    let user: String?
}
