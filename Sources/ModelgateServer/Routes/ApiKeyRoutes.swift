import Foundation
import Hummingbird
import ModelgateCore
import ModelgateStore

struct ApiKeyList: Encodable, Sendable { let data: [ApiKey] }

struct SignInLinkView: Encodable, Sendable {
    let url: String
    let expiresAt: Date
}

/// `POST /api/keys/self/sign-in-links {user}`: a service makes a single-use link that opens the
/// settings page as one of its end users (named like on every request: the header or `user`).
struct SignInLinkRoutes {
    let apiKeys: ApiKeyAuthority
    let sessions: SessionAuthority
    let tokens: TokenAuthority
    let publicURL: String

    func register(on group: RouterGroup<AppRequestContext>) {
        // An app with a user's token gets a one-time link to open in a browser; never a key, and
        // never a cookie session (a script on a page could otherwise mint sign-ins).
        group.post("sign-in-codes") { request, context in
            let credential = try SessionCredential(request)
            guard context.apiKey == nil, !credential.fromCookie else {
                throw ModelgateError.forbidden(reason: "sign-in codes are made with the user's bearer token")
            }
            let code = try await sessions.code(for: try await tokens.verify(credential.token))
            return JSONBody(SignInLinkView(url: "\(publicURL)/login?code=\(code.code)", expiresAt: code.expiresAt), status: .created)
        }
        group.post("keys/self/sign-in-links") { _, context in
            guard let key = context.apiKey else { throw ModelgateError.forbidden(reason: "sign-in links are made with a service key") }
            let link = try await apiKeys.signInLink(for: try context.requireIdentity().user, key: key, publicURL: publicURL)
            return JSONBody(SignInLinkView(url: link.url, expiresAt: link.expiresAt), status: .created)
        }
    }
}

/// `/api/admin/keys`: create (the secret is in this one answer), list, revoke. Admin role only;
/// a key itself never reaches these routes as an admin.
struct ApiKeyRoutes {
    let apiKeys: ApiKeyAuthority
    let admin: AdminService
    let maxBodyBytes: Int

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("keys") { _, _ in JSONBody(ApiKeyList(data: try await apiKeys.listKeys())) }
        group.post("keys") { request, context in
            let body = try await request.decodeJSON(ApiKeyRequest.self, limit: maxBodyBytes)
            return JSONBody(try await apiKeys.create(body, users: admin, by: try context.actor()), status: .created)
        }
        group.post("keys/:id/revoke") { _, context in
            JSONBody(["revoked": try await apiKeys.revokeKey(try context.parameters.require("id"), by: try context.actor())])
        }
    }
}
