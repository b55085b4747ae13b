import ServiceLifecycle

/// Runs `work` every `interval` until the service group stops; a graceful shutdown ends the wait
/// at once instead of after an interval.
struct PeriodicService: Service {
    let interval: Duration
    let work: @Sendable () async -> Void

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return }
            await work()
        }
    }
}
