import Hummingbird
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys

/// Admits a chat call against its key's open-call limits (a key's call) and the caller's per-user
/// limits (requests a minute, open calls), holding each slot until the answer — a whole stream — has
/// been written. Attached to the chat routes themselves, so a route is limited because it is one,
/// never because its path matches a list.
struct ChatCallMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limits: UserLimitGuard
    let apiKeys: ApiKeyAuthority

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let user = try context.requireIdentity().user
        guard let key = context.apiKey, let closeKeySlot = try await apiKeys.openStream(key, for: user) else {
            return try await admit(user, request, context, next)
        }
        return try await respond(holding: closeKeySlot) { try await admit(user, request, context, next) }
    }

    private func admit(
        _ user: UserID, _ request: Request, _ context: Context, _ next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let release = try await limits.admitChat(user) else { return try await next(request, context) }
        return try await respond(holding: release) { try await next(request, context) }
    }
}

/// Answers with `respond` while holding a slot: `release` runs once the answer's body has been
/// written (a stream's end), or when answering fails.
func respond(holding release: @escaping @Sendable () async -> Void, _ respond: () async throws -> Response) async throws -> Response {
    var response: Response
    do {
        response = try await respond()
    } catch {
        await release()
        throw error
    }
    let body = response.body
    response.body = ResponseBody(contentLength: body.contentLength) { writer in
        do {
            try await body.write(writer)
        } catch {
            await release()
            throw error
        }
        await release()
    }
    return response
}
