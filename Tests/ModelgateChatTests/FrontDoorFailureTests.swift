import Foundation
import HummingbirdTesting
import ModelgateAppTesting
import ModelgateCore
import ModelgateTestSupport
import NIOCore
import Testing

/// The Messages and Responses doors when a provider dies mid-stream, and with a service key's end
/// users: the failure is an event in the door's own shape, and each end user keeps their own quota.
@Suite(.timeLimit(.minutes(5)))
struct FrontDoorFailureTests {
    static func stream(_ client: any TestClientProtocol, _ path: String, token: String, body: String) async throws -> String {
        try await client.execute(uri: path, method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                                 body: ByteBuffer(string: body)) { String(buffer: $0.body) }
    }

    @Test func aStreamCutMidReplyEndsWithTheDoorsOwnFailureEvent() async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake)) { app, client in
                let token = try await app.token(testUser(80))
                fake.script(.cutAfter(deltas: 2))
                let messages = try await Self.stream(client, "/v1/messages", token: token,
                                                     body: #"{"model": "gpt-4o-mini", "max_tokens": 32, "stream": true, "messages": [{"role": "user", "content": "Hi"}]}"#)
                #expect(messages.contains("event: message_start") && messages.contains("event: content_block_delta"))
                #expect(messages.contains("event: error") && !messages.contains("event: message_stop"), "\(messages)")
                fake.script(.cutAfter(deltas: 2))
                let responses = try await Self.stream(client, "/v1/responses", token: token,
                                                      body: #"{"model": "gpt-4o-mini", "stream": true, "input": "Hi"}"#)
                #expect(responses.contains("event: response.output_text.delta"))
                #expect(responses.contains("event: response.failed") && !responses.contains("event: response.completed"), "\(responses)")
                #expect(responses.contains(#""status":"failed""#))
                // The delivered part stays charged, as on the other doors.
                let counted = try await app.database.read { db in
                    try await db.raw("SELECT message_count FROM model_usage_daily WHERE model_id = 'gpt-4o-mini'").first()?.decode(column: "message_count", as: Int.self)
                }
                #expect(counted == 2)
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    @Test func aServiceKeysEndUsersNamedByMetadataEachKeepTheirOwnLimit() async throws {
        try await TestApp.run(providers: TestApp.providers(fake: nil, demo: true)) { app, client in
            try await app.sql("UPDATE ai_models SET rate_limit_messages_per_day = 1 WHERE id = 'gpt-4o-mini'")
            try await app.services.cache.refresh()
            let key = try await app.createKey(client, #"{"name": "coach-backend", "kind": "service", "app": "coach-app"}"#)
            func send(_ user: String?) async throws -> Int {
                let metadata = user.map { #", "metadata": {"user_id": "\#($0)"}"# } ?? ""
                return try await client.execute(uri: "/v1/messages", method: .post, headers: [.init("x-api-key")!: key, .contentType: "application/json"],
                                                body: ByteBuffer(string: #"{"model": "gpt-4o-mini", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]\#(metadata)}"#)) {
                    Int($0.status.code)
                }
            }
            #expect(try await send("ana") == 200)
            #expect(try await send("ana") == 429, "ana's own daily limit")
            #expect(try await send("ben") == 200, "ben has his own")
            #expect(try await send(nil) == 400, "a service key must name its end user")
            #expect(try await app.endUser("ana") != app.endUser("ben"))
        }
    }
}
