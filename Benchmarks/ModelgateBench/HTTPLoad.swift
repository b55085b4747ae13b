import AsyncHTTPClient
import Foundation
import ModelgateProviders
import NIOCore
import NIOHTTP1

/// The load generator's HTTP side: one client whose pool holds a connection per concurrent request.
enum LoadClient {
    static func make(maxConnections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = maxConnections
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A GET that must answer 200; the body is read in full.
    static func get(_ url: String, token: String? = nil, client: HTTPClient) async throws {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw BenchError("GET \(url): HTTP \(response.status.code)") }
    }
}

/// A streaming POST answered with server-sent events, and how to recognise its first token and its end.
struct StreamRequest: Sendable {
    let url: String
    let headers: HTTPHeaders
    let body: String
    let isFirstToken: @Sendable (ServerSentEvent) -> Bool
    let isEnd: @Sendable (ServerSentEvent) -> Bool

    /// `POST /api/chat` on Modelgate: the first `delta` event, then `done`.
    static func modelgateChat(baseURL: String, token: String) -> StreamRequest {
        StreamRequest(
            url: "\(baseURL)/api/chat",
            headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
            body: #"{"message": "Hi coach", "personaId": "career"}"#,
            isFirstToken: { $0.event == "delta" }, isEnd: { $0.event == "done" })
    }

    /// The fake provider's OpenAI endpoint called directly: the first chunk with content, then `[DONE]`.
    static func openAIDirect(baseURL: String) -> StreamRequest {
        StreamRequest(
            url: "\(baseURL)/chat/completions",
            headers: ["Authorization": "Bearer key-openai", "Content-Type": "application/json"],
            body: #"{"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "Hi coach"}]}"#,
            isFirstToken: OpenAIChunk.hasContent, isEnd: { $0.data == "[DONE]" })
    }
}

/// When the first token and the end of one streamed exchange arrived, from the moment it was sent.
struct StreamTiming: Sendable {
    let firstToken: Duration
    let total: Duration
}

extension StreamRequest {
    /// Sends the request and reads the stream to its end; `onFirstToken` runs as the first token arrives.
    /// Throws unless the answer is 200 with a first token and a proper end.
    func exchange(client: HTTPClient, onFirstToken: () -> Void = {}) async throws -> StreamTiming {
        let start = ContinuousClock.now
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        guard response.status == .ok else { throw BenchError("POST \(url): HTTP \(response.status.code)") }
        var events = EventReader(response.body.makeAsyncIterator())
        var firstToken: Duration?
        var ended = false
        while !ended, let event = try await events.next() {
            if firstToken == nil, isFirstToken(event) {
                firstToken = ContinuousClock.now - start
                onFirstToken()
            }
            ended = isEnd(event)
        }
        try await events.drain()
        guard let firstToken, ended else { throw BenchError("POST \(url): the stream ended early") }
        return StreamTiming(firstToken: firstToken, total: ContinuousClock.now - start)
    }
}

/// Server-sent events parsed from a response body as its chunks arrive.
private struct EventReader {
    private var chunks: HTTPClientResponse.Body.AsyncIterator
    private var parser = ServerSentEventParser()
    private var pending: [ServerSentEvent] = []

    init(_ chunks: HTTPClientResponse.Body.AsyncIterator) { self.chunks = chunks }

    mutating func next() async throws -> ServerSentEvent? {
        while pending.isEmpty {
            guard let chunk = try await chunks.next() else { return nil }
            pending = parser.feed(chunk.readableBytesView)
        }
        return pending.removeFirst()
    }

    /// Reads whatever is left of the body.
    mutating func drain() async throws {
        while try await chunks.next() != nil {}
    }
}

private struct OpenAIChunk: Decodable {
    struct Choice: Decodable {
        struct Delta: Decodable { let content: String? }
        let delta: Delta
    }

    let choices: [Choice]

    static func hasContent(_ event: ServerSentEvent) -> Bool {
        guard let chunk = try? JSONDecoder().decode(OpenAIChunk.self, from: Data(event.data.utf8)) else { return false }
        return chunk.choices.contains { !($0.delta.content ?? "").isEmpty }
    }
}
