import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateProviders
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import Testing

/// A chat reply read back from its event stream.
public struct ChatResult: Sendable {
    public let status: HTTPResponse.Status
    public let events: [ServerSentEvent]
    public let problem: JSONValue?

    public init(status: HTTPResponse.Status, events: [ServerSentEvent], problem: JSONValue?) {
        self.status = status
        self.events = events
        self.problem = problem
    }

    public func json(_ event: ServerSentEvent) -> JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: Data(event.data.utf8))) ?? .null }
    public var meta: JSONValue? { events.first { $0.event == "meta" }.map(json) }
    public var text: String { events.filter { $0.event == "delta" }.compactMap { json($0)["text"]?.stringValue }.joined() }
    public var done: JSONValue? { events.first { $0.event == "done" }.map(json) }
    public var error: JSONValue? { events.first { $0.event == "error" }.map(json) }
}

extension TestClientProtocol {
    public func chat(_ body: String, token: String) async throws -> ChatResult {
        try await execute(uri: "/api/chat", method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                          body: ByteBuffer(string: body)) { response in
            var parser = ServerSentEventParser()
            let events = parser.feed(response.body.readableBytesView) + [parser.finish()].compactMap { $0 }
            let isProblem = response.headers[.contentType] == "application/problem+json"
            return ChatResult(status: response.status, events: isProblem ? [] : events,
                              problem: isProblem ? try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body)) : nil)
        }
    }
}

/// A test app whose providers are `fake`. `patientProvider`: for tests whose upstream calls are
/// slow on purpose — held open until many others are decided, delayed a second, or carrying a
/// 6 MB body — which under load take longer than the usual 2 s timeouts (a retry would reach the
/// fake twice, or give up).
public func withFakeProviders(
    patientProvider: Bool = false, timeouts: ProviderTimeouts? = nil, limits: UserLimits = .off, shutdown: ShutdownState = .init(),
    _ body: @escaping @Sendable (FakeProviderServer, TestApp, any TestClientProtocol) async throws -> Void
) async throws {
    let fake = try await FakeProviderServer.start()
    var providers = TestApp.providers(fake: fake)
    if patientProvider { providers.timeouts = ProviderTimeouts(connect: .seconds(2), firstByte: .seconds(120), idle: .seconds(120)) }
    if let timeouts { providers.timeouts = timeouts }
    do {
        try await TestApp.run(providers: providers, limits: limits, shutdown: shutdown) { app, client in try await body(fake, app, client) }
    } catch {
        await fake.stop()
        throw error
    }
    await fake.stop()
}

/// Releases the fake's held calls once `decided` says every call has been admitted (held by the
/// fake) or answered otherwise. Events only, no clock: the suite's time limit fails a count that
/// never adds up.
public func releaseHeldCalls(of fake: FakeProviderServer, when decided: @Sendable () -> Bool) async throws {
    while !decided() { try await Task.sleep(for: .milliseconds(10)) }
    fake.release()
}

/// Chat calls over loopback to a live server, as a real client sends them.
public enum LoopbackChat {
    /// `POST /api/chat` on a live server, as a real client sends it.
    public static func request(port: Int, token: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/chat")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"message": "Hi", "personaId": "career"}"#))
        return request
    }

    /// A real HTTP request over loopback; returns the status once the whole body has arrived.
    public static func post(port: Int, token: String) async throws -> UInt {
        let response = try await HTTPClient.shared.execute(request(port: port, token: token), timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return response.status.code
    }
}
