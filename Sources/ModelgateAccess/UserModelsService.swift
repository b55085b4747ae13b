import Foundation
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders
import ModelgateStore

/// The read side of the user API, and preference changes, over one user's own data. What a user
/// may do with a model is always `ModelAccessService`'s answer (an `AccessQuote`).
public struct UserModelsService: Sendable {
    public let access: ModelAccessService
    let profiles: ProfileRepository
    let providers: ProviderRouter
    let outbox: AnalyticsOutbox
    let limits: UserLimitGuard
    let clock: any WallClock

    public init(access: ModelAccessService, profiles: ProfileRepository, providers: ProviderRouter, outbox: AnalyticsOutbox, limits: UserLimitGuard, clock: any WallClock) {
        self.access = access
        self.profiles = profiles
        self.providers = providers
        self.outbox = outbox
        self.limits = limits
        self.clock = clock
    }

    public var catalog: CatalogSnapshot { access.catalog }
    public var isModelSelectionEnabled: Bool { access.isModelSelectionEnabled }

    public func models(for profile: Profile) async throws -> ModelsView {
        let standing = try await access.standing(of: profile)
        let catalog = access.catalog
        let views = catalog.enabledModels.map {
            ModelView($0, systemDefault: catalog.systemDefaultID, quote: standing.quote(for: $0), available: providers.isAvailable($0.provider))
        }
        return ModelsView(data: .init(
            free: views.filter { $0.tier == .free }, premium: views.filter { $0.tier == .premium },
            systemDefaultModelId: catalog.systemDefaultID, userPreferences: PreferencesView(profile.preferences)))
    }

    /// Enabled models whose provider answers and that the user may send to right now.
    public func usableModels(for profile: Profile) async throws -> [AIModel] {
        let standing = try await access.standing(of: profile)
        return access.catalog.enabledModels.filter { model in
            providers.isAvailable(model.provider) && standing.quote(for: model).refusal == nil
        }
    }

    func trialStatus(of model: ModelID, for profile: Profile) async throws -> TrialStatusView {
        guard let found = access.catalog.model(model), found.enabled else { throw ModelgateError.notFound(what: "model", id: model.rawValue) }
        let quote = try await access.standing(of: profile).quote(for: found)
        return TrialStatusView(
            modelId: model, trialMessagesAllowed: found.trialMessagesAllowed, trialMessagesUsed: quote.trialMessagesUsed,
            trialMessagesRemaining: AccessQuote.trialMessagesLeft(of: found, used: quote.trialMessagesUsed), purchased: quote.entitled)
    }

    public func personas(for profile: Profile) throws -> [PersonaView] {
        let catalog = access.catalog
        return try access.personas.map { persona in
            let choice = try ModelSelection.select(catalog: catalog, preferences: access.preferences(of: profile), persona: persona.id, explicit: nil)
            return PersonaView(id: persona.id, name: persona.name, description: persona.description,
                               modelId: choice.model.id, source: PersonaModelSource(choice.reason), skipped: choice.skipped)
        }
    }

    func preview(for profile: Profile, persona: PersonaID, explicit: ModelID?) async throws -> PreviewView {
        let plan = try await access.preview(for: profile, persona: persona, explicit: explicit)
        let quote = plan.quote
        return PreviewView(
            outcome: quote.outcome, modelId: quote.model.id, reason: plan.choice.reason, isTrialMessage: quote.decision == .allowed(.trial),
            usageInfo: UsageView(quote.usage), trialMessagesRemaining: quote.entitled ? nil : quote.trialMessagesRemaining,
            priceCents: quote.outcome == .allowed ? nil : quote.model.priceCents, skipped: plan.choice.skipped)
    }

    /// Validates the whole change against the catalog and the user's access, then writes it in one
    /// transaction. Nothing is written when any part is refused. A premium model can be a default or
    /// an override only once it is unlocked (bought or granted): trial messages are spent by choosing
    /// the model for a message, so a default the user cannot keep using is never saved.
    public func updatePreferences(_ change: PreferencesChange, for profile: Profile) async throws -> ModelPreferences {
        try access.requireModelSelection()
        let requested = [change.defaultModelId ?? nil].compactMap { $0 } + change.personaOverrides.values.compactMap { $0 }
        for persona in change.personaOverrides.keys.sorted() where access.persona(persona) == nil {
            throw ModelgateError.unknownPersona(persona)
        }
        let models = try requested.map { id in
            guard let model = access.catalog.model(id), model.enabled else { throw ModelgateError.modelUnavailable(id) }
            // A conversation's model: an embedding model could never answer one.
            guard model.kind == .chat else { throw ModelgateError.modelKindMismatch(id, kind: model.kind, expected: .chat) }
            return model
        }
        try await access.requireUnlocked(models, for: profile)
        try await profiles.apply(change, to: profile.id, at: clock.now(), outbox: outbox)
        guard let updated = try await profiles.find(profile.id) else { throw ModelgateError.notFound(what: "profile", id: profile.id.description) }
        return updated.preferences
    }

    /// Lets a checkout of `id` start (models are sold and the user is under the checkout limit):
    /// the model, if the catalog has it, and whether the user already has it.
    public func admitCheckout(_ id: ModelID, for profile: Profile) async throws -> (model: AIModel?, alreadyEntitled: Bool) {
        try access.requireModelSelection()
        let entitled = try await access.isEntitled(profile, to: id)
        try await limits.admitCheckout(profile.id)
        return (access.catalog.model(id), entitled)
    }

    /// A checkout of a plan or a credit pack counts against the same hourly checkout limit.
    public func admitPaidCheckout(for profile: Profile) async throws {
        try await limits.admitCheckout(profile.id)
    }

    func changeTimeZone(to identifier: String, for profile: Profile) async throws -> UserTimeZone {
        let zone = try profile.timeZone.changing(to: identifier, at: clock.now())
        try await profiles.setTimeZone(zone, for: profile.id, at: clock.now())
        return zone
    }
}
