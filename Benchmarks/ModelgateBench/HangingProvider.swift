import Hummingbird
import ModelgateTestSupport
import NIOConcurrencyHelpers
import NIOCore

/// An OpenAI-format provider on loopback whose every reply sends one delta and then stays open,
/// with a keep-alive comment every 5 s, until the caller goes away. FakeProviderServer's `.hang`
/// writes a keep-alive every 20 ms: 50,000 writes/s for 1,000 streams, which saturates a 2-core
/// machine before the streams are all open, so the memory benchmark holds its streams here.
final class HangingProvider: Sendable {
    private let server: LoopbackServer
    private let open: NIOLockedValueBox<Int>

    /// The base URL to configure as Modelgate's OpenAI endpoint.
    var baseURL: String { "\(server.baseURL)/v1" }
    /// Replies currently held open.
    var openStreams: Int { open.withLockedValue { $0 } }

    private init(server: LoopbackServer, open: NIOLockedValueBox<Int>) {
        self.server = server
        self.open = open
    }

    static func start() async throws -> HangingProvider {
        let open = NIOLockedValueBox(0)
        let firstDelta = Self.firstDelta
        let router = Router()
        router.post("v1/chat/completions") { request, _ in
            _ = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                open.withLockedValue { $0 += 1 }
                defer { open.withLockedValue { $0 -= 1 } }
                try await writer.write(ByteBuffer(string: firstDelta))
                while true {
                    try await Task.sleep(for: .seconds(5))
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                }
            })
        }
        return HangingProvider(server: try await LoopbackServer.start(router), open: open)
    }

    func stop() async { await server.stop() }

    private static let firstDelta = #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1732406400,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}"# + "\n\n"
}
