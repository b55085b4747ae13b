import Hummingbird
import ModelgateCore
import ModelgateStore

/// Lets only callers with the admin role through.
public struct RequireAdminMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard try context.requireIdentity().isAdmin else {
            throw ModelgateError.forbidden(reason: "this route needs the admin role")
        }
        return try await next(request, context)
    }
}

extension AppRequestContext {
    public func actor() throws -> Actor { Actor(try requireIdentity().user) }
}
