import Hummingbird
import ModelgateCore
import ModelgateStore

/// Verifies the bearer token and loads (or creates) the caller's profile.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tokens: TokenAuthority
    let profiles: ProfileRepository
    let clock: any WallClock

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw ModelgateError.unauthenticated(reason: "send 'Authorization: Bearer <token>'")
        }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw ModelgateError.unauthenticated(reason: "the Authorization header is not a bearer token")
        }
        let token = try await tokens.verify(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        let profile = try await profiles.findOrCreate(token.user, email: token.email, at: clock.now())
        var context = context
        context.identity = Identity(profile: profile, isAdmin: token.claimsAdmin || profile.role == .admin)
        context.logger[metadataKey: "user"] = "\(token.user)"
        return try await next(request, context)
    }
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
