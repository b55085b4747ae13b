import ModelgateCore
import Testing

private func model(_ id: ModelID, tier: Tier = .free, enabled: Bool = true, price: Int? = nil, trials: Int = 0, order: Int = 0) -> AIModel {
    AIModel(id: id, provider: .openai, providerModelID: id.rawValue, displayName: id.rawValue, description: "",
            enabled: enabled, tier: tier, priceCents: price, trialMessagesAllowed: trials, sortOrder: order)
}

private let catalog = CatalogSnapshot(
    models: [
        model("mini", order: 1), model("haiku", order: 2), model("off", enabled: false, order: 3),
        model("gpt-4o", tier: .premium, price: 299, trials: 2, order: 4),
    ],
    systemDefaultID: "mini")

@Suite(.timeLimit(.minutes(5))) struct SelectionTests {
    @Test func explicitBeatsOverrideBeatsDefaultBeatsSystem() throws {
        let preferences = ModelPreferences(defaultModelId: "haiku", personaOverrides: ["fitness": "gpt-4o"])
        #expect(try ModelSelection.select(catalog: catalog, preferences: preferences, persona: "fitness", explicit: "mini").model.id == "mini")
        let override = try ModelSelection.select(catalog: catalog, preferences: preferences, persona: "fitness", explicit: nil)
        #expect(override.model.id == "gpt-4o" && override.reason == .personaOverride)
        let byDefault = try ModelSelection.select(catalog: catalog, preferences: preferences, persona: "career", explicit: nil)
        #expect(byDefault.model.id == "haiku" && byDefault.reason == .userDefault)
        let system = try ModelSelection.select(catalog: catalog, preferences: .init(), persona: nil, explicit: nil)
        #expect(system.model.id == "mini" && system.reason == .systemDefault && system.skipped.isEmpty)
    }

    @Test func disabledAndMissingModelsAreSkippedWithTheReason() throws {
        let preferences = ModelPreferences(defaultModelId: "off", personaOverrides: ["fitness": "gone"])
        let choice = try ModelSelection.select(catalog: catalog, preferences: preferences, persona: "fitness", explicit: nil)
        #expect(choice.model.id == "mini")
        #expect(choice.reason == .fallback)
        #expect(choice.skipped == [
            SkippedChoice(modelId: "gone", source: .personaOverride, why: .missing),
            SkippedChoice(modelId: "off", source: .userDefault, why: .disabled),
        ])
    }

    @Test func aDisabledSystemDefaultFallsBackToTheFirstEnabledFreeModel() throws {
        let noDefault = CatalogSnapshot(models: [model("mini", enabled: false, order: 1), model("haiku", order: 2)], systemDefaultID: "mini")
        let choice = try ModelSelection.select(catalog: noDefault, preferences: .init(), persona: nil, explicit: nil)
        #expect(choice.model.id == "haiku" && choice.reason == .fallback)
        let empty = CatalogSnapshot(models: [model("mini", enabled: false)], systemDefaultID: "mini")
        #expect(throws: ModelgateError.noModelAvailable) {
            try ModelSelection.select(catalog: empty, preferences: .init(), persona: nil, explicit: nil)
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct AccessPolicyTests {
    let premium = model("gpt-4o", tier: .premium, price: 299, trials: 2)

    @Test func freeIsAlwaysAllowed() {
        #expect(AccessPolicy.decide(model: model("mini"), entitled: false, trialMessagesUsed: 0) == .allowed(.free))
    }

    @Test func premiumNeedsAPurchaseOrATrialMessage() {
        #expect(AccessPolicy.decide(model: premium, entitled: true, trialMessagesUsed: 2) == .allowed(.entitled))
        #expect(AccessPolicy.decide(model: premium, entitled: false, trialMessagesUsed: 1) == .allowed(.trial))
        #expect(AccessPolicy.decide(model: premium, entitled: false, trialMessagesUsed: 2) == .trialExhausted(priceCents: 299))
        let noTrial = model("opus", tier: .premium, price: 499, trials: 0)
        #expect(AccessPolicy.decide(model: noTrial, entitled: false, trialMessagesUsed: 0) == .locked(priceCents: 499))
    }

    @Test func refusalsNameTheModelAndPrice() {
        #expect(AccessPolicy.refusal(.locked(priceCents: 499), model: "opus") == .modelLocked("opus", priceCents: 499))
        #expect(AccessPolicy.refusal(.trialExhausted(priceCents: 299), model: "gpt-4o") == .trialExhausted("gpt-4o", priceCents: 299))
        #expect(AccessPolicy.refusal(.allowed(.trial), model: "gpt-4o") == nil)
    }
}
