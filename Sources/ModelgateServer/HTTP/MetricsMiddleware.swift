import Hummingbird
import ModelgateHTTP
import ModelgateMetrics

/// Counts and times every request by its route template (`/api/models/{id}/checkout`), so ids in
/// paths never become label values; unmatched paths share one `unmatched` route. Outermost, so it
/// sees the status the client got after errors became problem documents.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: ModelgateMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context, status: Int(response.status.code), since: started)
            return response
        } catch {
            record(request, context, status: Int((error as? any HTTPResponseError)?.status.code ?? 500), since: started)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, since started: ContinuousClock.Instant) {
        metrics.request(
            method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: status,
            seconds: (ContinuousClock.now - started).seconds)
    }
}
