/// Why a model was chosen for a message.
public enum SelectionReason: String, Sendable, Codable {
    case explicit
    case personaOverride = "persona_override"
    case userDefault = "default"
    case systemDefault = "system_default"
    /// Something earlier in the chain was disabled or missing; `skipped` says what.
    case fallback
}

/// A step of the chain that could not be used.
public struct SkippedChoice: Sendable, Equatable, Codable {
    /// `wrongKind`: an embedding model left as a chat default (its kind was changed since).
    public enum Why: String, Sendable, Codable { case disabled, missing, wrongKind = "wrong_kind" }
    public let modelId: ModelID
    public let source: SelectionReason
    public let why: Why

    public init(modelId: ModelID, source: SelectionReason, why: Why) {
        self.modelId = modelId
        self.source = source
        self.why = why
    }
}

/// What the user has chosen: their default and per-persona overrides.
public struct ModelPreferences: Sendable, Equatable, Codable {
    public var defaultModelId: ModelID?
    public var personaOverrides: [PersonaID: ModelID]

    public init(defaultModelId: ModelID? = nil, personaOverrides: [PersonaID: ModelID] = [:]) {
        self.defaultModelId = defaultModelId
        self.personaOverrides = personaOverrides
    }
}

public struct ModelChoice: Sendable, Equatable {
    public let model: AIModel
    /// Why this model: the step that answered, or `fallback` when an earlier step was skipped.
    public let reason: SelectionReason
    /// The step of the chain that answered, skips or not (`fallback` only for the last resort).
    public let answeredBy: SelectionReason
    public let skipped: [SkippedChoice]

    public init(model: AIModel, reason: SelectionReason, answeredBy: SelectionReason, skipped: [SkippedChoice]) {
        self.model = model
        self.reason = reason
        self.answeredBy = answeredBy
        self.skipped = skipped
    }
}

/// Picks the model that answers a message: explicit › persona override › user default › system
/// default, skipping disabled or missing models; if even the system default is unusable, the first
/// enabled free model in catalog order. Pure: no I/O, no clock.
/// Only models of `kind` can answer: an explicit model of the other kind is refused by name, a
/// default of the other kind is skipped. The defaults are chat models, so an embedding call has only
/// its explicit model (and, when model choice is off, the first enabled free embedding model).
public enum ModelSelection {
    public static func select(
        catalog: CatalogSnapshot, preferences: ModelPreferences, persona: PersonaID?, explicit: ModelID?, kind: ModelKind = .chat
    ) throws(ModelgateError) -> ModelChoice {
        var chain: [(ModelID, SelectionReason)] = []
        if let explicit { chain.append((explicit, .explicit)) }
        if kind == .chat {
            if let persona, let override = preferences.personaOverrides[persona] { chain.append((override, .personaOverride)) }
            if let preferred = preferences.defaultModelId { chain.append((preferred, .userDefault)) }
            chain.append((catalog.systemDefaultID, .systemDefault))
        }

        var skipped: [SkippedChoice] = []
        for (id, source) in chain {
            guard let model = catalog.model(id) else {
                skipped.append(SkippedChoice(modelId: id, source: source, why: .missing))
                continue
            }
            guard model.enabled else {
                skipped.append(SkippedChoice(modelId: id, source: source, why: .disabled))
                continue
            }
            guard model.kind == kind else {
                if source == .explicit { throw .modelKindMismatch(id, kind: model.kind, expected: kind) }
                skipped.append(SkippedChoice(modelId: id, source: source, why: .wrongKind))
                continue
            }
            return ModelChoice(model: model, reason: skipped.isEmpty ? source : .fallback, answeredBy: source, skipped: skipped)
        }
        guard let lastResort = catalog.enabledModels.first(where: { $0.tier == .free && $0.kind == kind }) else { throw .noModelAvailable }
        return ModelChoice(model: lastResort, reason: .fallback, answeredBy: .fallback, skipped: skipped)
    }
}
