import Hummingbird
import Logging
import ModelgateHTTP

/// Logs each answered request's method, path and status at debug. Not Hummingbird's
/// `LogRequestsMiddleware`: it logs the whole URI, and `/login?token=` and `/login?link=` carry
/// credentials that must never reach a log.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        context.logger.debug("request", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)"])
        return response
    }
}
