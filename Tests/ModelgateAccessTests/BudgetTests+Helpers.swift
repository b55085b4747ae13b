import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateProviders
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Testing

extension BudgetTests {
    // MARK: - Helpers

    /// One user's row of `model_usage_daily` for gpt-4o-mini on `day` (zeros when there is none).
    struct LedgerRow: Sendable {
        var messages = 0, inputTokens = 0, outputTokens = 0, cachedInputTokens = 0, costMicros = 0, calls = 0, tokensReserved = 0
    }

    static func ledgerRow(_ database: Database, user: UserID, day: String, model: ModelID = "gpt-4o-mini") async throws -> LedgerRow {
        try await database.read { db in
            guard let row = try await db.raw("""
                SELECT message_count, input_tokens, output_tokens, cached_input_tokens, cost_micros, calls, tokens_reserved
                FROM model_usage_daily WHERE user_id = \(bind: user.description) AND model_id = \(bind: model.rawValue) AND day = \(bind: day)
                """).first() else { return LedgerRow() }
            return LedgerRow(
                messages: try row.decode(column: "message_count", as: Int.self), inputTokens: try row.decode(column: "input_tokens", as: Int.self),
                outputTokens: try row.decode(column: "output_tokens", as: Int.self),
                cachedInputTokens: try row.decode(column: "cached_input_tokens", as: Int.self),
                costMicros: try row.decode(column: "cost_micros", as: Int.self), calls: try row.decode(column: "calls", as: Int.self),
                tokensReserved: try row.decode(column: "tokens_reserved", as: Int.self))
        }
    }

    /// One user's row of `user_spend_daily` on `day` (zeros when there is none).
    struct SpendRow: Sendable {
        var costMicros = 0, reservedMicros = 0, tokens = 0
    }

    static func spendRow(_ database: Database, user: UserID, day: String) async throws -> SpendRow {
        try await database.read { db in
            guard let row = try await db.raw("""
                SELECT cost_micros, reserved_micros, tokens FROM user_spend_daily WHERE user_id = \(bind: user.description) AND day = \(bind: day)
                """).first() else { return SpendRow() }
            return SpendRow(costMicros: try row.decode(column: "cost_micros", as: Int.self),
                            reservedMicros: try row.decode(column: "reserved_micros", as: Int.self), tokens: try row.decode(column: "tokens", as: Int.self))
        }
    }

    /// Polls `condition` until it holds; returns whether it held. A wait for a state, never a timed
    /// delay: the suite's time limit fails a count that never adds up (the sleep throws when the
    /// limit cancels the test, so this then returns false only by throwing).
    static func eventually(_ condition: @Sendable () async throws -> Bool) async throws -> Bool {
        while try await !condition() { try await Task.sleep(for: .milliseconds(10)) }
        return true
    }

    /// A live app (a real HTTP server) whose providers are `fake`, patient with calls held open.
    static func withLiveFakeProviders(_ body: @escaping @Sendable (FakeProviderServer, TestApp, Int) async throws -> Void) async throws {
        let fake = try await FakeProviderServer.start()
        var providers = TestApp.providers(fake: fake)
        providers.timeouts = ProviderTimeouts(connect: .seconds(2), firstByte: .seconds(120), idle: .seconds(120))
        do {
            try await TestApp.run(providers: providers, test: .live) { app, client in try await body(fake, app, try #require(client.port)) }
        } catch {
            fake.release()
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    /// A client that opens as many connections as there are calls (the shared one opens 8 per host,
    /// which would queue most of 200 "concurrent" calls behind each other).
    static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 512
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// `POST /api/chat` over loopback; the whole body is read, so the call is settled when it returns.
    static func post(_ http: HTTPClient, port: Int, token: String, body: String) async throws -> BudgetReply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/chat")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(request, timeout: .seconds(180))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return BudgetReply(status: Int(response.status.code), contentType: response.headers.first(name: "content-type"),
                           retryAfter: response.headers.first(name: "retry-after"), shouldRetry: response.headers.first(name: "x-should-retry"),
                           body: bytes)
    }

    /// `POST /api/chat` through a test client.
    static func chat(_ client: any TestClientProtocol, token: String, body: String) async throws -> BudgetReply {
        try await client.execute(uri: "/api/chat", method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                                 body: ByteBuffer(string: body)) { response in
            BudgetReply(status: response.status.code, contentType: response.headers[.contentType], retryAfter: response.headers[.retryAfter],
                        shouldRetry: response.headers[HTTPField.Name("x-should-retry")!], body: response.body)
        }
    }
}
