import Logging
import ModelgateStore
import ServiceLifecycle

/// Keeps an instance's catalog snapshot in step with changes made by other instances sharing the
/// database: polls the catalog version (one tiny query) and reloads when it moved.
struct CatalogRefresher: Service {
    let cache: CatalogCache
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cache.refreshIfStale()
            } catch {
                logger.warning("catalog refresh failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
