import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdTesting
import ModelgateAppTesting
import ModelgateCore
import ModelgateProviders
import ModelgateTestSupport
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// The Messages API's extras: extended thinking and cache marks passed to Anthropic as they came,
/// cache reads and writes priced, and `count_tokens` asked of Anthropic itself.
@Suite(.timeLimit(.minutes(5)))
struct MessagesExtrasTests {
    @Test(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"))
    func theAnthropicSDKThinksCachesAndCountsThroughAnAnthropicModel() async throws {
        try await Self.live { fake, app, client in
            let port = try #require(client.port)
            let token = try await app.token(testUser(71))
            let result = try await PythonSDK.run(["anthropic", "http://127.0.0.1:\(port)", token, "claude-3-5-haiku"],
                                                 script: "scripts/messages_extras_checks.py")
            #expect(result.status == 0, "\(result.output)")
            let calls = fake.requests.filter { $0.path == "/anthropic/v1/messages" }.map(\.json)
            #expect(calls.contains { ($0["thinking"] as? [String: Any])?["budget_tokens"] as? Int == 1024 })
            // The client's thinking block went back to Anthropic byte for byte, signature included.
            let replayed = calls.flatMap { ($0["messages"] as? [[String: Any]] ?? []).flatMap { $0["content"] as? [[String: Any]] ?? [] } }
            #expect(replayed.contains { $0["type"] as? String == "thinking" && $0["signature"] as? String == "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds" })
            #expect(replayed.contains { $0["type"] as? String == "redacted_thinking" })
            let counts = fake.requests.filter { $0.path == "/anthropic/v1/messages/count_tokens" }.map(\.json)
            #expect(counts.count == 1 && counts.allSatisfy { $0["max_tokens"] == nil && $0["stream"] == nil && $0["metadata"] == nil }, "\(counts)")
            // Create and stream, twice with tools (the forged signature is refused upstream and given back), three redacted, two cached: count_tokens is free.
            #expect(try await Self.messagesCharged(app, model: "claude-3-5-haiku") == 9, "\(result.output)")
        }
    }

    @Test(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"), arguments: ["gpt-4o-mini", "gemini-pro-1.5"])
    func otherProvidersRefuseThinkingTakeCacheMarksAsHintsAndGetAnEstimate(model: String) async throws {
        try await Self.live { fake, app, client in
            try await app.sql("UPDATE ai_models SET trial_messages_allowed = 20 WHERE tier = 'premium'")
            try await app.services.cache.refresh()
            let port = try #require(client.port)
            let result = try await PythonSDK.run(["other", "http://127.0.0.1:\(port)", try await app.token(testUser(72)), model],
                                                 script: "scripts/messages_extras_checks.py")
            #expect(result.status == 0, "\(result.output)")
            #expect(fake.requests.count == 1, "the refusal and the count never reach the provider: \(fake.requests.map(\.path))")
            #expect(fake.requests.allSatisfy { !String(decoding: $0.body, as: UTF8.self).contains("cache_control") })
        }
    }

    @Test(arguments: [false, true])
    func cacheMarksReachAnthropicAndItsCacheWritesAndReadsArePriced(streaming: Bool) async throws {
        try await withFakeProviders { fake, app, client in
            fake.script(.replyCounting("Hello there", FakeUsage(input: 2_000, output: 100, cached: 500, cacheWrite: 1_000)))
            let token = try await app.token(testUser(73))
            let mark = #"{"type": "ephemeral", "ttl": "5m"}"#
            let reply = try await client.message(token: token, body: """
                {"model": "claude-3-5-haiku", "max_tokens": 64, "stream": \(streaming), "cache_control": {"type": "ephemeral"},
                 "system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "You coach.", "cache_control": \(mark)}],
                 "tools": [{"name": "get_weather", "input_schema": {"type": "object"}, "cache_control": \(mark)}], "tool_choice": {"type": "none"},
                 "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there", "cache_control": \(mark)}]}]}
                """)
            #expect(reply.status == .ok, "\(reply.text)")
            let sent = try #require(fake.requests.first?.json)
            let marked = ["type": "ephemeral", "ttl": "5m"]
            #expect((sent["system"] as? [[String: Any]])?.map { $0["cache_control"] as? [String: String] } == [nil, marked])
            #expect((sent["tools"] as? [[String: Any]])?.first?["cache_control"] as? [String: String] == marked)
            let content = (sent["messages"] as? [[String: Any]])?.first?["content"] as? [[String: Any]]
            #expect(content?.map { $0["cache_control"] as? [String: String] } == [nil, marked])
            #expect(sent["cache_control"] as? [String: String] == ["type": "ephemeral"])
            // Anthropic's counts back to the client: 500 plain, 1,000 written, 500 read.
            #expect(reply.text.contains(#""cache_creation_input_tokens":1000"#) && reply.text.contains(#""cache_read_input_tokens":500"#)
                    && reply.text.contains(#""input_tokens":500"#), "\(reply.text)")
            // Claude 3.5 Haiku: $0.80 input, $1 cache write (1.25×), $0.08 cache read, $4 output per million.
            let priced = (500 * 800_000 + 1_000 * 1_000_000 + 500 * 80_000 + 100 * 4_000_000) / 1_000_000
            #expect(try await Self.recordedCost(app, model: "claude-3-5-haiku") == priced)
        }
    }

    @Test func aOneHourCacheWriteIsRefusedByName() async throws {
        try await withFakeProviders { fake, app, client in
            let reply = try await client.message(token: try await app.token(testUser(74)), body: """
                {"model": "claude-3-5-haiku", "max_tokens": 64, "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
                 "messages": [{"role": "user", "content": "Hi"}]}
                """)
            #expect(reply.status == .badRequest && reply.text.contains("system.0.cache_control.ttl"), "\(reply.text)")
            #expect(fake.requests.isEmpty)
        }
    }

    @Test func aCountAnthropicCannotGiveIsTheErrorNeverASilentEstimate() async throws {
        try await withFakeProviders { fake, app, client in
            fake.script(.status(500), .status(500), .status(500))
            let token = try await app.token(testUser(75))
            let body = #"{"model": "claude-3-5-haiku", "messages": [{"role": "user", "content": "Hi"}]}"#
            let failed = try await client.message(token: token, body: body, path: "/v1/messages/count_tokens")
            #expect(failed.status.code == 529 && failed.text.contains(#""type":"overloaded_error""#), "\(failed.text)")
            let counted = try await client.message(token: token, body: body, path: "/v1/messages/count_tokens")
            #expect(counted.status == .ok && counted.text == #"{"input_tokens":11}"# && counted.headers[.init("x-modelgate-estimated")!] == "false",
                    "\(counted.text)")
            #expect(try await Self.messagesCharged(app, model: "claude-3-5-haiku") == 0, "counting is no message")
        }
    }

    @Test func thinkingIsRefusedForAnotherProviderBeforeAnythingIsCharged() async throws {
        try await withFakeProviders { fake, app, client in
            let reply = try await client.message(token: try await app.token(testUser(76)), body: """
                {"model": "gpt-4o-mini", "max_tokens": 2048, "thinking": {"type": "adaptive"}, "messages": [{"role": "user", "content": "Hi"}]}
                """)
            #expect(reply.status == .badRequest && reply.text.contains(#""code":"unsupported_parameter""#)
                    && reply.text.contains("thinking: gpt-4o-mini (openai) cannot take it"), "\(reply.text)")
            let replayed = try await client.message(token: try await app.token(testUser(76)), body: """
                {"model": "gpt-4o-mini", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"},
                 {"role": "assistant", "content": [{"type": "thinking", "thinking": "Hm.", "signature": "abc"}, {"type": "text", "text": "Hello"}]},
                 {"role": "user", "content": "Again"}]}
                """)
            #expect(replayed.status == .badRequest && replayed.text.contains("messages.1.content.0: gpt-4o-mini (openai)"), "\(replayed.text)")
            #expect(fake.requests.isEmpty)
            #expect(try await Self.messagesCharged(app, model: "gpt-4o-mini") == 0)
        }
    }

    /// A service key's end user with two trial messages, a hundred calls at once on the live server:
    /// two answered, the rest refused in Anthropic's envelope and told not to retry.
    @Test func aHundredConcurrentMessagesOfOneEndUserSpendExactlyItsTwoTrialMessages() async throws {
        try await Self.live(patient: true) { fake, app, client in
            let key = try await app.createKey(client, """
                {"name": "backend", "kind": "service", "limits": {"rpm": 1000, "rpmPerEndUser": 1000, "maxStreams": 200, "maxStreamsPerEndUser": 200}}
                """)
            fake.script(.heldUntilReleased(then: "Hello there"), .heldUntilReleased(then: "Hello there"))
            let body = #"{"model": "claude-3-5-sonnet", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}"#
            let port = try #require(client.port)
            let refused = NIOLockedValueBox(0)
            let replies = try await withThrowingTaskGroup(of: MessageReply?.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        // Each call on its own connection, as a hundred clients send them.
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/messages")
                        request.method = .POST
                        request.headers.add(contentsOf: [("x-api-key", key), ("anthropic-version", "2023-06-01"), ("content-type", "application/json"),
                                                         ("X-Modelgate-User", "alice")])
                        request.body = .bytes(ByteBuffer(string: body))
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
                        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                        if response.status != .ok { refused.withLockedValue { $0 += 1 } }
                        var headers = HTTPFields()
                        for header in response.headers { if let name = HTTPField.Name(header.name) { headers[name] = header.value } }
                        return MessageReply(status: .init(code: Int(response.status.code)), headers: headers, text: text)
                    }
                }
                group.addTask {
                    try await releaseHeldCalls(of: fake) { refused.withLockedValue { $0 } + fake.requests.count >= 100 }
                    return nil
                }
                return try await group.reduce(into: [MessageReply]()) { if let reply = $1 { $0.append(reply) } }
            }
            #expect(replies.filter { $0.status == .ok }.count == 2)
            let others = replies.filter { $0.status != .ok }
            #expect(others.count == 98)
            #expect(others.allSatisfy {
                $0.status == .forbidden && $0.text.contains(#""type":"permission_error""#) && $0.text.contains(#""code":"trial_exhausted""#)
                    && $0.headers[.init("x-should-retry")!] == "false"
            }, "\(Set(others.map(\.text)))")
            #expect(fake.requests.count == 2)
            #expect(try await Self.messagesCharged(app, model: "claude-3-5-sonnet") == 2)
        }
    }

    static func live(patient: Bool = false, _ body: @escaping @Sendable (FakeProviderServer, TestApp, any TestClientProtocol) async throws -> Void) async throws {
        let fake = try await FakeProviderServer.start()
        var providers = TestApp.providers(fake: fake)
        if patient { providers.timeouts = ProviderTimeouts(connect: .seconds(2), firstByte: .seconds(120), idle: .seconds(120)) }
        do {
            try await TestApp.run(providers: providers, test: .live) { app, client in try await body(fake, app, client) }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    static func messagesCharged(_ app: TestApp, model: String) async throws -> Int {
        try await app.database.read { db in
            try await db.raw("SELECT CAST(SUM(message_count) AS BIGINT) AS n FROM model_usage_daily WHERE model_id = \(bind: model)").first()?
                .decode(column: "n", as: Int?.self) ?? 0
        }
    }

    static func recordedCost(_ app: TestApp, model: String) async throws -> Int {
        try await app.database.read { db in
            try await db.raw("SELECT CAST(SUM(cost_micros) AS BIGINT) AS n FROM model_usage_daily WHERE model_id = \(bind: model)").first()?
                .decode(column: "n", as: Int?.self) ?? 0
        }
    }
}

struct MessageReply: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String
}

extension TestClientProtocol {
    /// A Messages API call signed in as Claude Code does (`x-api-key`).
    func message(token: String, body: String, path: String = "/v1/messages", headers extra: HTTPFields = [:]) async throws -> MessageReply {
        var headers = extra
        headers[.init("x-api-key")!] = token
        headers[.init("anthropic-version")!] = "2023-06-01"
        headers[.contentType] = "application/json"
        return try await execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
            MessageReply(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
    }
}
