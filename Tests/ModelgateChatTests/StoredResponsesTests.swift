import Foundation
import HTTPTypes
import HummingbirdTesting
import ModelgateAppTesting
import ModelgateCore
import ModelgateTestSupport
import NIOCore
import Testing

/// Stored Responses API answers through the official `openai` SDK: a `previous_response_id` sends
/// the stored conversation to the provider, `retrieve` and `delete` work for their owner only.
@Suite(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"), .timeLimit(.minutes(5)))
struct StoredResponsesTests {
    static let script = "scripts/front_door_checks.py"

    /// What the provider was sent, as text, in order.
    static func sent(_ fake: FakeProviderServer) -> [String] {
        fake.requests.map { String(decoding: $0.body, as: UTF8.self) }
    }

    /// The ids `responses-stored` prints.
    static func ids(_ output: String) throws -> [String] {
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("ids ") }, "\(output)")
        return line.split(separator: " ").dropFirst().map(String.init)
    }

    static func stored(_ app: TestApp) async throws -> Int {
        try await app.database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM stored_responses").first()?.decode(column: "n", as: Int.self) ?? -1
        }
    }

    @Test(arguments: ["gpt-4o-mini", "claude-3-5-haiku"])
    func theSDKContinuesRetrievesAndDeletesStoredResponses(model: String) async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake), test: .live) { app, client in
                try await app.sql("UPDATE ai_models SET trial_messages_allowed = 20 WHERE tier = 'premium'")
                fake.script(.reply("Nice to meet you, Ada."))
                let token = try await app.token(testUser(170))
                let port = try #require(client.port)
                let result = try await PythonSDK.run(["responses-stored", "http://127.0.0.1:\(port)/v1", token, model], script: Self.script)
                #expect(result.status == 0, "\(result.output)")
                let sent = Self.sent(fake)
                try #require(sent.count == 5, "five answered calls; the refused ones never reach the provider: \(sent)")
                // The second call carries the first turn, its answer, and its own instructions only.
                for text in ["My name is Ada.", "Nice to meet you, Ada.", "What is my name?", "Answer kindly."] {
                    #expect(sent[1].contains(text), "\(text) in \(sent[1])")
                }
                #expect(!sent[1].contains("Be brief."), "instructions are not carried over: \(sent[1])")
                // The third (streamed) continues the whole chain; the fourth still does after the first was deleted.
                for text in ["My name is Ada.", "What is my name?", "Once more."] { #expect(sent[2].contains(text), "\(text) in \(sent[2])") }
                #expect(!sent[2].contains("Be brief.") && !sent[2].contains("Answer kindly."), "\(sent[2])")
                #expect(sent[3].contains("My name is Ada.") && !sent[3].contains("Once more."), "\(sent[3])")
                #expect(!sent[4].contains("My name is Ada."), "store false starts afresh: \(sent[4])")
                #expect(try await Self.stored(app) == 3, "the second, third and fourth; the first was deleted, the last not stored")
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    @Test func anotherUserOrAnotherEndUserOfTheKeyFindsNothing() async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake), test: .live) { app, client in
                let key = try await app.createKey(client, #"{"name": "coach-backend", "kind": "service", "app": "coach-app"}"#)
                let base = "http://127.0.0.1:\(try #require(client.port))/v1"
                let own = try await PythonSDK.run(["responses-stored", base, key, "gpt-4o-mini", "alice"], script: Self.script)
                #expect(own.status == 0, "\(own.output)")
                let id = try #require(try Self.ids(own.output).dropFirst().first, "the second response, still stored")
                let otherEndUser = try await PythonSDK.run(["responses-foreign", base, key, "gpt-4o-mini", id, "bob"], script: Self.script)
                #expect(otherEndUser.status == 0, "\(otherEndUser.output)")
                let otherUser = try await PythonSDK.run(["responses-foreign", base, try await app.token(testUser(171)), "gpt-4o-mini", id],
                                                        script: Self.script)
                #expect(otherUser.status == 0, "\(otherUser.output)")
                let owner = try await app.endUser("alice")
                let owners = try await app.database.read { db in
                    try await db.raw("SELECT DISTINCT user_id FROM stored_responses").all().map { try $0.decode(column: "user_id", as: String.self) }
                }
                #expect(owners == [owner.description], "stored for alice's profile, and the refused deletes deleted nothing")
                #expect(try await Self.stored(app) == 3)
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    @Test(arguments: ["gpt-4o-mini", "claude-3-5-haiku"])
    func theAgentsSDKChainsAToolUsingAgentByPreviousResponseID(model: String) async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake), test: .live) { app, client in
                try await app.sql("UPDATE ai_models SET trial_messages_allowed = 20 WHERE tier = 'premium'")
                let token = try await app.token(testUser(175))
                let port = try #require(client.port)
                let result = try await PythonSDK.run(["responses-agents", "http://127.0.0.1:\(port)/v1", token, model], script: Self.script)
                #expect(result.status == 0, "\(result.output)")
                let sent = Self.sent(fake)
                try #require(sent.count == 4, "a call and its tool result, twice: \(sent)")
                #expect(sent[1].contains("Weather in Paris?") && sent[1].contains("Sunny, 21 C in Paris"), "the stored call, then the result: \(sent[1])")
                #expect(sent[2].contains("Weather in Paris?") && sent[2].contains("And in Rome?"), "the second run continues the first: \(sent[2])")
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    @Test(arguments: ["gpt-4o-mini", "claude-3-5-haiku"])
    func parseWithPydanticModelsAndAToolResultAfterAStoredCall(model: String) async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake), test: .live) { app, client in
                try await app.sql("UPDATE ai_models SET trial_messages_allowed = 20 WHERE tier = 'premium'")
                let token = try await app.token(testUser(172))
                let port = try #require(client.port)
                let result = try await PythonSDK.run(["responses-parse", "http://127.0.0.1:\(port)/v1", token, model], script: Self.script)
                #expect(result.status == 0, "\(result.output)")
                // The tool result went out after the stored call that asked for it.
                let last = try #require(Self.sent(fake).last)
                #expect(last.contains("Weather in Paris?") && last.contains("Sunny, 21 C"), "\(last)")
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }
}
