import Foundation
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateStore

/// `PATCH /api/profile/model-preferences`: an absent key leaves a value, `null` clears it.
struct PreferencesPatch: Decodable {
    let change: PreferencesChange

    enum CodingKeys: String, CodingKey { case defaultModelId, personaOverrides }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var change = PreferencesChange()
        if container.contains(.defaultModelId) {
            change.defaultModelId = .some(try container.decode(ModelID?.self, forKey: .defaultModelId))
        }
        if container.contains(.personaOverrides) {
            let overrides = try container.decode([String: ModelID?].self, forKey: .personaOverrides)
            change.personaOverrides = Dictionary(uniqueKeysWithValues: overrides.map { (PersonaID($0.key), $0.value) })
        }
        self.change = change
    }
}

struct ProfilePatch: Decodable {
    let timezone: String?
}

struct PreviewRequest: Decodable {
    let personaId: PersonaID
    let modelId: ModelID?
}

/// The user API: every route answers only about the authenticated caller.
public struct UserRoutes: Sendable {
    let service: UserModelsService
    let maxBodyBytes: Int

    public init(service: UserModelsService, maxBodyBytes: Int) {
        self.service = service
        self.maxBodyBytes = maxBodyBytes
    }

    public func register(on group: RouterGroup<AppRequestContext>) {
        group.get("me", use: me)
        group.patch("profile", use: patchProfile)
        group.get("models", use: models)
        group.get("models/:id/trial-status", use: trialStatus)
        group.get("profile/model-preferences", use: preferences)
        group.patch("profile/model-preferences", use: patchPreferences)
        group.get("personas", use: personas)
        group.post("selection/preview", use: preview)
    }

    @Sendable func me(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<ProfileView> {
        JSONBody(ProfileView(try context.requireIdentity()))
    }

    @Sendable func models(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<ModelsView> {
        JSONBody(try await service.models(for: try context.requireIdentity().profile))
    }

    @Sendable func trialStatus(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<TrialStatusView> {
        JSONBody(try await service.trialStatus(of: try context.parameters.model(), for: try context.requireIdentity().profile))
    }

    @Sendable func preferences(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<PreferencesView> {
        JSONBody(PreferencesView(try context.requireIdentity().profile.preferences))
    }

    @Sendable func patchPreferences(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<PreferencesView> {
        let patch = try await request.decodeJSON(PreferencesPatch.self, limit: maxBodyBytes)
        return JSONBody(PreferencesView(try await service.updatePreferences(patch.change, for: try context.requireIdentity().profile)))
    }

    @Sendable func personas(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<[PersonaView]> {
        JSONBody(try service.personas(for: try context.requireIdentity().profile))
    }

    @Sendable func preview(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<PreviewView> {
        let body = try await request.decodeJSON(PreviewRequest.self, limit: maxBodyBytes)
        return JSONBody(try await service.preview(for: try context.requireIdentity().profile, persona: body.personaId, explicit: body.modelId))
    }

    @Sendable func patchProfile(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<ProfileView> {
        let body = try await request.decodeJSON(ProfilePatch.self, limit: maxBodyBytes)
        var identity = try context.requireIdentity()
        if let timezone = body.timezone {
            let zone = try await service.changeTimeZone(to: timezone, for: identity.profile)
            var profile = identity.profile
            profile.timeZone = zone
            identity = Identity(profile: profile, isAdmin: identity.isAdmin)
        }
        return JSONBody(ProfileView(identity))
    }
}
