import Crypto
import Foundation
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateMetrics
import ModelgateStore

/// `GET /metrics` in Prometheus' text format, behind a bearer token when one is configured.
struct MetricsRoutes {
    let metrics: ModelgateMetrics
    let database: Database
    let token: String?

    func register(on router: Router<AppRequestContext>) {
        router.get("metrics", use: exposition)
    }

    @Sendable func exposition(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        if let token {
            let sent = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
            // Compare digests: the time taken says nothing about the token.
            guard Data(SHA256.hash(data: Data(sent.utf8))) == Data(SHA256.hash(data: Data(token.utf8))) else {
                throw ModelgateError.unauthenticated(reason: "GET /metrics needs the bearer token of MODELGATE_METRICS_TOKEN.")
            }
        }
        let pool = database.pool
        metrics.databaseConnections(inUse: pool.inUse, max: pool.max)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }
}
