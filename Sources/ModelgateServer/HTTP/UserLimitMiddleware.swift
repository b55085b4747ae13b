import Hummingbird

/// Admits each chat call against the caller's per-user limits (requests a minute, open calls),
/// holding its slot until the answer — a whole stream — has been written.
struct UserLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limits: UserLimitGuard

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, ApiKeyAuthority.chatPaths.contains(request.uri.path),
              let release = try await limits.admitChat(try context.requireIdentity().user) else {
            return try await next(request, context)
        }
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
