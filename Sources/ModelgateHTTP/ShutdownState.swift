import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// How far this instance is in stopping. On the shutdown signal it drains: `/readyz` answers 503
/// at once (load balancers stop sending), the listener closes, and open streams get `grace` to
/// finish; after it each ends with an `error` event (`shutting_down`), its turn stored.
public final class ShutdownState: Sendable {
    public let grace: Duration
    private let cutAt = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    public init(grace: Duration = .seconds(30)) {
        self.grace = grace
    }

    public var isDraining: Bool { cutAt.withLockedValue { $0 != nil } }

    /// Whether open streams must end now (the grace period is over).
    public var streamsMustEnd: Bool { cutAt.withLockedValue { $0.map { ContinuousClock.now >= $0 } ?? false } }

    public func beginDraining() {
        cutAt.withLockedValue { $0 = $0 ?? ContinuousClock.now.advanced(by: grace) }
    }
}

/// Turns the shutdown signal into draining. It is the last service of the group, so the group
/// tells it first, before the HTTP server starts waiting for open streams. For one second more the
/// server keeps serving, answering with `Connection: close`: a proxy in front stops reusing its
/// keep-alive connections to this instance, so none is closed under a request it just sent (a
/// 502 the proxy could not retry, since it never resends a POST).
public struct DrainOnShutdown: Service {
    public static let handOver: Duration = .seconds(1)
    public let shutdown: ShutdownState
    public let logger: Logger

    public func run() async throws {
        try? await gracefulShutdown()
        shutdown.beginDraining()
        logger.info("shutting down: not ready any more; open streams may run \(shutdown.grace)")
        try? await Task.sleep(for: Self.handOver)
    }
}

/// While the instance drains, every answer says `Connection: close` (see `DrainOnShutdown`).
public struct DrainingMiddleware<Context: RequestContext>: RouterMiddleware {
    public let shutdown: ShutdownState

    public init(shutdown: ShutdownState) { self.shutdown = shutdown }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if shutdown.isDraining { response.headers[.connection] = "close" }
        return response
    }
}

/// Runs the application until SIGTERM or SIGINT, then drains (see `ShutdownState`): the outbox
/// sender sends one last batch, and it returns. It returns at the latest 5 s after the grace
/// period even if a connection is still held open (seen after a database restart under load,
/// where the HTTP server's own shutdown then never finished), so a deploy never waits on it.
public func runUntilStopped(_ app: some ApplicationProtocol, shutdown: ShutdownState, logger: Logger) async throws {
    let configuration = ServiceGroupConfiguration(
        services: [.init(service: app), .init(service: DrainOnShutdown(shutdown: shutdown, logger: logger))],
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    let group = ServiceGroup(configuration: configuration)
    let running = Task { try await group.run() }
    let stoppedInTime = await firstToEnd({ _ = try? await running.value }, or: {
        while !shutdown.isDraining { try? await Task.sleep(for: .milliseconds(100)) }
        try? await Task.sleep(for: shutdown.grace + .seconds(5))
    })
    guard stoppedInTime else {
        logger.error("stopping with connections still open \(shutdown.grace + .seconds(5)) after the shutdown signal")
        return
    }
    try await running.value
}

/// Waits until `work` or `limit` ends, whichever is first (`true`: `work`). The other goes on
/// unawaited: an await that ignores cancellation (an EventLoopFuture) must not hold a stop.
public func firstToEnd(_ work: @escaping @Sendable () async -> Void, or limit: @escaping @Sendable () async -> Void) async -> Bool {
    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        let resumed = NIOLockedValueBox(false)
        let finish: @Sendable (Bool) -> Void = { workEnded in
            let first = resumed.withLockedValue { done in
                defer { done = true }
                return !done
            }
            if first { continuation.resume(returning: workEnded) }
        }
        Task {
            await work()
            finish(true)
        }
        Task {
            await limit()
            finish(false)
        }
    }
}
