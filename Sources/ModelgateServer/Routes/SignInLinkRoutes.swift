import Foundation
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

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
        group.post("sign-in-codes", use: signInCode)
        group.post("keys/self/sign-in-links", use: signInLink)
    }

    @Sendable func signInCode(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        let credential = try SessionCredential(request)
        guard context.apiKey == nil, !credential.fromCookie else {
            throw ModelgateError.forbidden(reason: "sign-in codes are made with the user's bearer token")
        }
        let code = try await sessions.code(for: try await tokens.verify(credential.token))
        return JSONBody(SignInLinkView(url: "\(publicURL)/login?code=\(code.code)", expiresAt: code.expiresAt), status: .created)
    }

    @Sendable func signInLink(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        guard let key = context.apiKey else { throw ModelgateError.forbidden(reason: "sign-in links are made with a service key") }
        let link = try await apiKeys.signInLink(for: try context.requireIdentity().user, key: key, publicURL: publicURL)
        return JSONBody(SignInLinkView(url: link.url, expiresAt: link.expiresAt), status: .created)
    }
}
