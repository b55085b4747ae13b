import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// A loopback server that speaks OpenAI (and Together), Anthropic and Gemini streaming formats
/// faithfully, with scripted failures. Checked against the official Python SDKs.
public final class FakeProviderServer: Sendable {
    public enum Scenario: Sendable, Equatable {
        case reply(String)
        case status(Int)
        case rateLimited(retryAfter: Int)
        case slowFirstByte(seconds: Double, then: String)
        /// Answers only once the test calls `release()`, so a test decides how long calls stay open.
        case heldUntilReleased(then: String)
        /// Sends `deltas` pieces of text, then closes the connection without finishing.
        case cutAfter(deltas: Int)
        /// Sends one delta, then waits until the client goes away.
        case hang
        /// A text reply that reports `usage`, in the provider's own words.
        case replyCounting(String, FakeUsage)
    }

    public struct RecordedRequest: Sendable {
        public let path: String
        public let headers: [String: String]
        public let body: Data
        public var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
    }

    struct State {
        var scenarios: [Scenario] = []
        var requests: [RecordedRequest] = []
        var cancellations = 0
        var released = false
        var held = 0
        var peakHeld = 0
    }

    private let state: NIOLockedValueBox<State>
    private let server: LoopbackServer
    public var port: Int { server.port }
    public var baseURL: String { server.baseURL }

    /// Every fake reply's usage unless scripted: 12 prompt tokens (4 of them read from the provider's cache), 2 out.
    public static let usage = FakeUsage(input: 12, output: 2, cached: 4)

    private init(state: NIOLockedValueBox<State>, server: LoopbackServer) {
        self.state = state
        self.server = server
    }

    public static func start() async throws -> FakeProviderServer {
        let state = NIOLockedValueBox(State())
        let router = Router()
        Responder(state: state).register(on: router)
        return FakeProviderServer(state: state, server: try await LoopbackServer.start(router))
    }

    /// Scenarios for the next requests, in order; afterwards every request gets the default reply.
    public func script(_ scenarios: Scenario...) { script(scenarios) }
    public func script(_ scenarios: [Scenario]) { state.withLockedValue { $0.scenarios = scenarios } }
    public var requests: [RecordedRequest] { state.withLockedValue { $0.requests } }
    public var cancellations: Int { state.withLockedValue { $0.cancellations } }
    /// The most `heldUntilReleased` calls that were held open at once.
    public var peakHeld: Int { state.withLockedValue { $0.peakHeld } }
    /// Lets every `heldUntilReleased` answer go.
    public func release() { state.withLockedValue { $0.released = true } }
    public func stop() async { await server.stop() }

    /// Base URLs for every provider, pointing at this server.
    public func baseURL(for provider: String) -> String {
        switch provider {
        case "anthropic", "google": "\(baseURL)/\(provider)"
        default: "\(baseURL)/\(provider)/v1"
        }
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok, headers: [String: String] = [:]) -> Response {
        var fields: HTTPFields = [.contentType: "application/json"]
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The routes of the fake, sharing the scripted state with the server object.
struct Responder: Sendable {
    let state: NIOLockedValueBox<FakeProviderServer.State>

    func next(recording request: FakeProviderServer.RecordedRequest) -> FakeProviderServer.Scenario {
        state.withLockedValue { state in
            state.requests.append(request)
            return state.scenarios.isEmpty ? .reply("Hello there") : state.scenarios.removeFirst()
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        for prefix in ["openai", "together"] {
            router.post("\(prefix)/v1/chat/completions") { request, _ in try await respond(request, format: .openAI) }
            router.post("\(prefix)/v1/embeddings") { request, _ in try await embed(request, format: .openAI, model: nil) }
            router.get("\(prefix)/v1/models") { _, _ in
                FakeProviderServer.json(#"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"}]}"#)
            }
        }
        router.post("anthropic/v1/messages") { request, _ in try await respond(request, format: .anthropic) }
        router.post("anthropic/v1/messages/count_tokens") { request, _ in try await count(request) }
        for version in ["v1", "v1beta"] {
            router.post("google/\(version)/models/:call") { request, context in
                let call = try context.parameters.require("call")
                if call.hasSuffix(":batchEmbedContents") || call.hasSuffix(":embedContent") {
                    return try await embed(request, format: .gemini, model: String(call.prefix { $0 != ":" }))
                }
                return try await respond(request, format: call.hasSuffix(":streamGenerateContent") ? .gemini : .geminiUnary)
            }
        }
    }

    func record(_ request: Request) async throws -> FakeProviderServer.RecordedRequest {
        let body = try await request.body.collect(upTo: 64 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        return FakeProviderServer.RecordedRequest(path: request.uri.path, headers: headers, body: Data(buffer: body))
    }

    /// Anthropic's `count_tokens`: `{"input_tokens": N}`, or the scripted failure.
    func count(_ request: Request) async throws -> Response {
        let recorded = try await record(request)
        let scripted = next(recording: recorded)
        switch Self.scenario(forModel: recorded.json["model"] as? String ?? "") ?? scripted {
        case .status(let status): return FakeProviderServer.json(WireFormat.anthropic.errorBody(status: status), status: .init(code: status))
        case .rateLimited: return FakeProviderServer.json(WireFormat.anthropic.errorBody(status: 429), status: .tooManyRequests)
        default: return FakeProviderServer.json(#"{"input_tokens":\#(FakeAnthropic.count(recorded.json))}"#)
        }
    }

    func respond(_ request: Request, format: WireFormat) async throws -> Response {
        let recorded = try await record(request)
        let scripted = next(recording: recorded)
        let json = recorded.json
        let model = (json["model"] as? String) ?? request.uri.path.split(separator: "/").last.map { String($0.split(separator: ":")[0]) } ?? ""
        let scenario = Self.scenario(forModel: model) ?? scripted
        let streaming = format == .gemini || json["stream"] as? Bool == true
        let thinking = format == .anthropic ? FakeAnthropic.thinking(asked: json) : .none
        let usage = format == .anthropic ? FakeAnthropic.usage(json) : FakeProviderServer.usage
        switch scenario {
        case .status(let status):
            return FakeProviderServer.json(format.errorBody(status: status), status: .init(code: status), headers: ["x-should-retry": "false"])
        case .rateLimited(let retryAfter):
            return FakeProviderServer.json(format.errorBody(status: 429), status: .tooManyRequests,
                             headers: ["retry-after": String(retryAfter), "x-should-retry": "false"])
        case .reply(let text):
            let modelReply = FakeModel.reply(to: json, format: format)
            switch modelReply {
            case .toolCall(let name, let arguments):
                return stream(events: format.toolCallEvents(name: name, arguments: arguments, thinking: thinking), finish: true)
            case .invalid(let message):
                return FakeProviderServer.json(format.errorBody(status: 400, message: message), status: .badRequest)
            case .text, nil:
                let answer = if case .text(let answer)? = modelReply { answer } else { text }
                return streaming
                    ? stream(events: format.streamEvents(pieces: Self.pieces(answer), finish: true, usage: usage, thinking: thinking), finish: true)
                    : FakeProviderServer.json(format.unary(answer, usage: usage, thinking: thinking))
            }
        case .slowFirstByte(let seconds, let text):
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return streaming ? stream(format, pieces: Self.pieces(text), finish: true) : FakeProviderServer.json(format.unary(text))
        case .heldUntilReleased(let text):
            state.withLockedValue { state in
                state.held += 1
                state.peakHeld = max(state.peakHeld, state.held)
            }
            defer { state.withLockedValue { $0.held -= 1 } }
            while !state.withLockedValue({ $0.released }) { try await Task.sleep(for: .milliseconds(10)) }
            return streaming ? stream(format, pieces: Self.pieces(text), finish: true) : FakeProviderServer.json(format.unary(text))
        case .cutAfter(let deltas):
            return stream(format, pieces: Array(repeating: "part ", count: deltas), finish: false)
        case .hang:
            return stream(format, pieces: ["Hello"], finish: false, hang: true)
        case .replyCounting(let text, let usage):
            return stream(events: format.streamEvents(pieces: Self.pieces(text), finish: true, usage: usage), finish: true)
        }
    }

    /// Model names that ask for a failure, so SDK checks can trigger one without scripting.
    static func scenario(forModel model: String) -> FakeProviderServer.Scenario? {
        switch model {
        case "rate-limited": .rateLimited(retryAfter: 1)
        case "overloaded": .status(529)
        case "server-error": .status(500)
        default: nil
        }
    }

    static func pieces(_ text: String) -> [String] {
        guard let space = text.firstIndex(of: " ") else { return [text] }
        return [String(text[..<space]), String(text[space...])]
    }

    func stream(_ format: WireFormat, pieces: [String], finish: Bool, hang: Bool = false) -> Response {
        stream(events: format.streamEvents(pieces: pieces, finish: finish), finish: finish, hang: hang)
    }

    func stream(events: [String], finish: Bool, hang: Bool = false) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream"],
            body: ResponseBody { writer in
                do {
                    for event in events { try await writer.write(ByteBuffer(string: event)) }
                    if hang {
                        while true {
                            try await Task.sleep(for: .milliseconds(20))
                            try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        }
                    }
                    if finish { return try await writer.finish(nil) }
                    // Let the pieces reach the client before the connection drops mid-stream.
                    try await Task.sleep(for: .milliseconds(100))
                    throw CutStream()
                } catch is CutStream {
                    throw CutStream()
                } catch {
                    state.withLockedValue { $0.cancellations += 1 }
                    throw error
                }
            })
    }

}

private struct CutStream: Error {}

/// The tokens a fake reply reports, as totals: `input` includes the `cached` (read) and `cacheWrite`
/// (written) prompt tokens, `output` includes the `thoughts` (reasoning).
public struct FakeUsage: Sendable, Equatable {
    public let input: Int
    public let output: Int
    public let cached: Int
    public let cacheWrite: Int
    public let thoughts: Int

    public init(input: Int, output: Int, cached: Int = 0, cacheWrite: Int = 0, thoughts: Int = 0) {
        self.input = input
        self.output = output
        self.cached = cached
        self.cacheWrite = cacheWrite
        self.thoughts = thoughts
    }
}
