import Foundation
import HTTPTypes
import Hummingbird
import ModelgateCore
import ModelgateStore

/// Verifies the caller's token — a bearer header from apps, or the session cookie the settings
/// page signs in with — and loads (or creates) the caller's profile.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tokens: TokenAuthority
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
        let token = try await tokens.verify(credential.token)
        let profile = try await profiles.findOrCreate(token.user, email: token.email, at: clock.now())
        var context = context
        context.identity = Identity(profile: profile, isAdmin: token.claimsAdmin || profile.role == .admin)
        context.sessionToken = credential.fromCookie ? credential.token : nil
        context.logger[metadataKey: "user"] = "\(token.user)"
        return try await next(request, context)
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
        guard let close = try await apiKeys.openStream(key, for: profile.id, path: request.uri.path) else {
            return try await next(request, context)
        }
        // The slot stays open until the response body is written (a stream's end), or the call fails.
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            await close()
            throw error
        }
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            do {
                try await body.write(writer)
            } catch {
                await close()
                throw error
            }
            await close()
        }
        return response
    }
}

/// Where a request's token came from.
struct SessionCredential {
    static let cookieName = "modelgate_session"
    let token: String
    let fromCookie: Bool

    init(_ request: Request) throws(ModelgateError) {
        if let header = request.headers[.authorization] {
            guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
                throw .unauthenticated(reason: "the Authorization header is not a bearer token")
            }
            token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            fromCookie = false
        } else if let cookie = request.cookies[Self.cookieName]?.value, !cookie.isEmpty {
            token = cookie
            fromCookie = true
        } else {
            throw .unauthenticated(reason: "send 'Authorization: Bearer <token>', or sign in at /login?token=<token>")
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
struct RequireAdminMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard try context.requireIdentity().isAdmin else {
            throw ModelgateError.forbidden(reason: "this route needs the admin role")
        }
        return try await next(request, context)
    }
}
