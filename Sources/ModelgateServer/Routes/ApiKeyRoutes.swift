import Foundation
import Hummingbird
import ModelgateCore
import ModelgateStore

struct ApiKeyList: Encodable, Sendable { let data: [ApiKeyView] }

/// `/api/admin/keys`: create (the secret is in this one answer), list, revoke. Admin role only;
/// a key itself never reaches these routes as an admin.
struct ApiKeyRoutes {
    let apiKeys: ApiKeyAuthority
    let admin: AdminService
    let maxBodyBytes: Int

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("keys") { _, _ in JSONBody(ApiKeyList(data: try await apiKeys.listKeys().map(ApiKeyView.init))) }
        group.post("keys") { request, _ in
            let body = try await request.decodeJSON(ApiKeyRequest.self, limit: maxBodyBytes)
            var user: UserID?
            if let reference = body.user {
                guard let found = try await admin.findUser(reference) else { throw ModelgateError.notFound(what: "user", id: reference) }
                user = found.id
            }
            return JSONBody(try await apiKeys.create(body, user: user), status: .created)
        }
        group.post("keys/:id/revoke") { _, context in
            JSONBody(["revoked": try await apiKeys.revokeKey(try context.parameters.require("id"))])
        }
    }
}
