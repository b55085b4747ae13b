import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Runs a Hummingbird application on a free loopback port until `stop()`.
public final class LoopbackServer: Sendable {
    public let port: Int
    private let task: Task<Void, any Error>

    private init(port: Int, task: Task<Void, any Error>) {
        self.port = port
        self.task = task
    }

    public static func start<Responder: HTTPResponderBuilder>(_ router: Responder) async throws -> LoopbackServer
    where Responder.Responder.Context: RequestContext, Responder.Responder.Context.Source == ApplicationRequestContextSource {
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "loopback")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw CancellationError()
        }
        return LoopbackServer(port: port, task: task)
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func stop() async {
        task.cancel()
        _ = await task.result
    }
}
