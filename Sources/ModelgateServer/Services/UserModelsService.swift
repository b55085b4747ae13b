import Foundation
import ModelgateBilling
import ModelgateCore
import ModelgateProviders
import ModelgateStore

/// The read side of the user API, and preference changes, over one user's own data.
struct UserModelsService: Sendable {
    let access: ModelAccessService
    let profiles: ProfileRepository
    let providers: ProviderRouter

    private var cache: CatalogCache { access.cache }
    private var clock: any WallClock { access.clock }

    func models(for profile: Profile) async throws -> ModelsView {
        let standing = try await access.standing(of: profile)
        let catalog = cache.catalog
        let views = catalog.enabledModels.map { ModelView($0, systemDefault: catalog.systemDefaultID, standing: standing, available: providers.isAvailable($0.provider)) }
        return ModelsView(data: .init(
            free: views.filter { $0.tier == .free }, premium: views.filter { $0.tier == .premium },
            systemDefaultModelId: catalog.systemDefaultID, userPreferences: PreferencesView(profile.preferences)))
    }

    /// Enabled models whose provider answers and that the user may send to right now.
    func usableModels(for profile: Profile) async throws -> [AIModel] {
        let standing = try await access.standing(of: profile)
        return cache.catalog.enabledModels.filter { model in
            let decision = AccessPolicy.decide(
                model: model, entitled: standing.entitled.contains(model.id), trialMessagesUsed: standing.trialsUsed[model.id] ?? 0)
            return providers.isAvailable(model.provider) && AccessPolicy.refusal(decision, model: model.id) == nil
        }
    }

    func trialStatus(of model: ModelID, for profile: Profile) async throws -> TrialStatusView {
        guard let found = cache.catalog.model(model), found.enabled else { throw ModelgateError.notFound(what: "model", id: model.rawValue) }
        let standing = try await access.standing(of: profile)
        let used = standing.trialsUsed[model] ?? 0
        return TrialStatusView(
            modelId: model, trialMessagesAllowed: found.trialMessagesAllowed, trialMessagesUsed: used,
            trialMessagesRemaining: max(0, found.trialMessagesAllowed - used), purchased: standing.entitled.contains(model))
    }

    func personas(for profile: Profile) throws -> [PersonaView] {
        let catalog = cache.catalog
        return try cache.personas.map { persona in
            let choice = try ModelSelection.select(catalog: catalog, preferences: access.preferences(of: profile), persona: persona.id, explicit: nil)
            let source = choice.reason == .personaOverride ? "override" : choice.reason.rawValue
            return PersonaView(id: persona.id, name: persona.name, description: persona.description,
                               modelId: choice.model.id, source: source, skipped: choice.skipped)
        }
    }

    func preview(for profile: Profile, persona: PersonaID, explicit: ModelID?) async throws -> PreviewView {
        let plan = try await access.plan(for: profile, persona: persona, explicit: explicit)
        let model = plan.choice.model
        let used = try await access.ledger.usage(of: profile.id, on: plan.day.key)[model.id] ?? 0
        let outcome: String
        switch plan.decision {
        case .locked: outcome = "model_locked"
        case .trialExhausted: outcome = "trial_exhausted"
        case .allowed: outcome = model.dailyMessageLimit.map { used >= $0 } == true ? "rate_limited" : "allowed"
        }
        if explicit != nil, outcome == "model_locked" || outcome == "trial_exhausted" {
            access.metrics.entitlementBypass(model: model.id, path: .preview)
        }
        let isTrial = plan.decision == .allowed(.trial)
        return PreviewView(
            outcome: outcome, modelId: model.id, reason: plan.choice.reason, isTrialMessage: isTrial,
            usageInfo: UsageView(DailyUsage(used: used, limit: model.dailyMessageLimit, resetAt: ISO8601.string(plan.day.resetAt))),
            trialMessagesRemaining: model.tier == .premium && plan.decision != .allowed(.entitled)
                ? max(0, model.trialMessagesAllowed - plan.trialsUsed) : nil,
            priceCents: outcome == "allowed" ? nil : model.priceCents,
            skipped: plan.choice.skipped)
    }

    /// Validates the whole change against the catalog and the user's access, then writes it in one
    /// transaction. Nothing is written when any part is refused. A premium model can be a default or
    /// an override only once it is unlocked (bought or granted): trial messages are spent by choosing
    /// the model for a message, so a default the user cannot keep using is never saved.
    func updatePreferences(_ change: PreferencesChange, for profile: Profile) async throws -> ModelPreferences {
        try access.requireModelSelection()
        let catalog = cache.catalog
        let requested = [change.defaultModelId ?? nil].compactMap { $0 } + change.personaOverrides.values.compactMap { $0 }
        for persona in change.personaOverrides.keys.sorted() where cache.persona(persona) == nil {
            throw ModelgateError.unknownPersona(persona)
        }
        var standing: UserStanding?
        for id in requested {
            guard let model = catalog.model(id), model.enabled else { throw ModelgateError.modelUnavailable(id) }
            guard model.tier == .premium else { continue }
            if standing == nil { standing = try await access.standing(of: profile) }
            if standing?.entitled.contains(id) != true {
                access.metrics.entitlementBypass(model: id, path: .preferences)
                throw ModelgateError.premiumChoiceLocked(id, priceCents: model.priceCents)
            }
        }
        try await profiles.apply(change, to: profile.id, at: clock.now(), outbox: access.outbox)
        guard let updated = try await profiles.find(profile.id) else { throw ModelgateError.notFound(what: "profile", id: profile.id.description) }
        return updated.preferences
    }

    func checkout(_ id: ModelID, for profile: Profile, purchases: PurchaseService) async throws -> CheckoutStarted {
        try access.requireModelSelection()
        let entitled = try await access.entitlements.entitledModels(of: profile.id).contains(id)
        return try await purchases.checkout(model: cache.catalog.model(id), id: id, user: profile.id, alreadyEntitled: entitled)
    }

    func changeTimeZone(to identifier: String, for profile: Profile) async throws -> UserTimeZone {
        let zone = try profile.timeZone.changing(to: identifier, at: clock.now())
        try await profiles.setTimeZone(zone, for: profile.id, at: clock.now())
        return zone
    }
}
