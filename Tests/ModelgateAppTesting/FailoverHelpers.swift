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

/// How OpenAI is down in a failover test.
public enum Outage: Sendable, CustomStringConvertible {
    case status(Int)
    case timeout
    case refused

    public var description: String {
        switch self {
        case .status(let code): "HTTP \(code)"
        case .timeout: "no first byte before the timeout"
        case .refused: "connection refused"
        }
    }
}

/// A test app on the provider fake, with OpenAI pointed at a closed port when `refused`.
public func withFailover(
    openAIRefused: Bool = false, shortTimeouts: Bool = false, _ body: @escaping @Sendable (FakeProviderServer, TestApp, any TestClientProtocol) async throws -> Void
) async throws {
    let fake = try await FakeProviderServer.start()
    var providers = TestApp.providers(fake: fake)
    if shortTimeouts { providers.timeouts = TestApp.shortTimeouts }  // the fake's 2.5 s delay outlasts them
    if openAIRefused { providers[.openai] = ProviderEndpoint(apiKey: "key-openai", baseURL: "http://127.0.0.1:9/v1") }
    do {
        try await TestApp.run(providers: providers) { app, client in try await body(fake, app, client) }
    } catch {
        await fake.stop()
        throw error
    }
    await fake.stop()
}
