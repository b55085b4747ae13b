import Foundation
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateStore

struct StatusBody: Encodable, Sendable {
    let status: String
}

struct HealthRoutes {
    let database: Database
    let shutdown: ShutdownState

    func register(on router: Router<AppRequestContext>) {
        router.get("healthz", use: health)
        router.get("readyz", use: readiness)
        router.get("openapi.yaml", use: openAPI)
    }

    @Sendable func health(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        JSONBody(StatusBody(status: "ok"))
    }

    @Sendable func readiness(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        guard !shutdown.isDraining else { throw ModelgateError.shuttingDown }
        do {
            try await database.ping()
        } catch {
            throw ModelgateError.databaseUnavailable
        }
        return JSONBody(StatusBody(status: "ready"))
    }

    @Sendable func openAPI(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
    }
}

/// The API description shipped inside the binary.
public enum OpenAPIDocument {
    public static let yaml: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "openapi: 3.1.0\n" }
        return text
    }()
}
