import Foundation
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateStore

struct ApiKeyList: Encodable, Sendable { let data: [ApiKey] }

/// `/api/admin/keys`: create (the secret is in this one answer), list, revoke. Admin role only;
/// a key itself never reaches these routes as an admin.
public struct ApiKeyRoutes: Sendable {
    let apiKeys: ApiKeyAuthority
    let profiles: ProfileRepository
    let maxBodyBytes: Int

    public init(apiKeys: ApiKeyAuthority, profiles: ProfileRepository, maxBodyBytes: Int) {
        self.apiKeys = apiKeys
        self.profiles = profiles
        self.maxBodyBytes = maxBodyBytes
    }

    public func register(on group: RouterGroup<AppRequestContext>) {
        group.get("keys", use: listKeys)
        group.post("keys", use: createKey)
        group.post("keys/:id/revoke", use: revokeKey)
    }

    @Sendable func listKeys(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        JSONBody(ApiKeyList(data: try await apiKeys.listKeys()))
    }

    @Sendable func createKey(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        let body = try await request.decodeJSON(ApiKeyRequest.self, limit: maxBodyBytes)
        return JSONBody(try await apiKeys.create(body, users: profiles, by: try context.actor()), status: .created)
    }

    @Sendable func revokeKey(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        JSONBody(["revoked": try await apiKeys.revokeKey(try context.parameters.require("id"), by: try context.actor())])
    }
}
