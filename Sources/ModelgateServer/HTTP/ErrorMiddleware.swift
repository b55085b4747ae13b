import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ModelgateCore
import ModelgateHTTP

/// The one error middleware: every failure becomes problem+json (or under `/v1` OpenAI's error
/// envelope, Anthropic's for the Messages API, so the SDKs raise their usual exceptions), every response gets its request id, and every
/// unexpected failure is logged with its details, on every route.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            response.headers[.requestID] = context.id
            return response
        } catch {
            let problem = Problem(error)
            Self.log(problem, error: error, path: request.uri.path, logger: context.logger)
            var response = if AnthropicError.applies(to: request) {
                AnthropicError(problem).response(requestID: context.id)
            } else if request.uri.path.hasPrefix("/v1/") {
                OpenAIError(problem).response(requestID: context.id)
            } else {
                problem.response(requestID: context.id)
            }
            response.headers[.requestID] = context.id
            return response
        }
    }

    /// Unexpected failures with their details; other server-side refusals as warnings.
    static func log(_ problem: Problem, error: any Error, path: String, logger: Logger) {
        if problem.isUnexpected {
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(path)"])
        } else if problem.status.code >= 500 {
            logger.warning("request refused", metadata: ["code": "\(problem.code)", "path": "\(path)"])
        }
    }
}
