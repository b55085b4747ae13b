import Foundation
import HTTPTypes
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// Verifies the caller's credential — a bearer token or API key from apps, or the session cookie
/// the settings page signs in with — and loads (or creates) the caller's profile.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tokens: TokenAuthority
    let sessions: SessionAuthority
    let apiKeys: ApiKeyAuthority
    let profiles: ProfileRepository
    let clock: any WallClock
    /// How much of a body the key check may read to find OpenAI's `user` field.
    let bodyLimit: Int
    /// API routes check a cookie session's CSRF token in `X-CSRF-Token`; page forms check their
    /// `_csrf` field themselves, since the middleware cannot read a form body.
    var checksCSRFHeader = true

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let credential = try SessionCredential(request)
        if !credential.fromCookie, ApiKeyAuthority.isKey(credential.token) {
            return try await withKey(credential.token, request, context: context, next: next)
        }
        if credential.fromCookie, checksCSRFHeader, !request.method.isSafe,
           !tokens.isValidCSRFToken(request.headers[.csrfToken], forSession: credential.token) {
            throw ModelgateError.forbidden(reason: "a cookie session must send its CSRF token in X-CSRF-Token")
        }
        let signedIn = try await signedInUser(credential)
        let profile = try await profiles.findOrCreate(signedIn.user, email: signedIn.email, at: clock.now())
        var context = context
        context.identity = Identity(profile: profile, isAdmin: signedIn.claimsAdmin || profile.role == .admin)
        context.sessionToken = credential.fromCookie ? credential.token : nil
        context.logger[metadataKey: "user"] = "\(signedIn.user)"
        return try await next(request, context)
    }

    /// A cookie is a page session (ended by signing out); a bearer token is verified itself.
    private func signedInUser(_ credential: SessionCredential) async throws -> SignedInUser {
        guard credential.fromCookie else {
            let token = try await tokens.verify(credential.token)
            return SignedInUser(user: token.user, email: token.email, claimsAdmin: token.claimsAdmin)
        }
        guard let user = try await sessions.user(ofSession: credential.token) else {
            throw ModelgateError.unauthenticated(reason: "this session has ended (signed out or expired); sign in again from the app")
        }
        return user
    }

    /// An API key: its user, or the end user a service key names. Keys never grant admin.
    private func withKey(
        _ token: String, _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let key = try await apiKeys.verify(token)
        let (profile, request) = try await apiKeys.caller(key, request: request, bodyLimit: bodyLimit)
        var context = context
        context.identity = Identity(profile: profile, isAdmin: false)
        context.apiKey = key
        context.logger[metadataKey: "user"] = "\(profile.id)"
        context.logger[metadataKey: "key"] = "\(key.id)"
        return try await next(request, context)
    }
}

/// Where a request's credential came from.
struct SessionCredential {
    let token: String
    let fromCookie: Bool

    init(_ request: Request) throws(ModelgateError) {
        if let header = request.headers[.authorization] {
            guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
                throw .unauthenticated(reason: "the Authorization header is not a bearer token")
            }
            token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            fromCookie = false
        } else if let key = request.headers[.init("x-api-key")!], !key.isEmpty {
            // Anthropic's SDKs and Claude Code send their key this way.
            token = key.trimmingCharacters(in: .whitespaces)
            fromCookie = false
        } else if let cookie = request.cookies[SessionAuthority.cookieName]?.value, !cookie.isEmpty {
            token = cookie
            fromCookie = true
        } else {
            throw .unauthenticated(reason: "send 'Authorization: Bearer <token>', or sign in to the settings page with a link from the app")
        }
    }
}

extension HTTPRequest.Method {
    var isSafe: Bool { self == .get || self == .head || self == .options }
}

extension HTTPField.Name {
    static let csrfToken = Self("X-CSRF-Token")!
}

/// Lets only admins through.
