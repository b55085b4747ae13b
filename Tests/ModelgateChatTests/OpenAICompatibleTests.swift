import Foundation
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct OpenAICompatibleTests {
    @Test func modelsListsOnlyWhatTheUserCanUseNow() async throws {
        try await withFakeProviders { _, app, client in
            let token = try await app.token(testUser(70))
            try await app.sql("UPDATE ai_models SET trial_messages_allowed = 0 WHERE id = 'claude-3-opus'")
            let ids = try await client.call(.get, "/v1/models", token: token).json["data"]?.array.compactMap { $0["id"]?.stringValue } ?? []
            #expect(ids.first == "auto")
            #expect(ids.contains("gpt-4o") && ids.contains("llama-3.1-8b"))
            #expect(!ids.contains("claude-3-opus"))
        }
    }

    @Test func autoUsesThePersonasChoiceAndErrorsUseOpenAIsShape() async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(71))
            _ = try await client.call(.patch, "/api/profile/model-preferences", token: token,
                                      json: #"{"personaOverrides": {"fitness": "claude-3-5-haiku"}}"#)
            let reply = try await client.execute(
                uri: "/v1/chat/completions", method: .post,
                headers: [.authorization: "Bearer \(token)", .contentType: "application/json", .init("X-Persona-Id")!: "fitness"],
                body: .init(string: #"{"model": "auto", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}"#)
            ) { response in (response.status, try JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body))) }
            #expect(reply.0 == .ok)
            #expect(reply.1["model"] == .string("claude-3-5-haiku"))
            #expect(reply.1["choices"]?[0]?["message"]?["content"] == .string("Hello there"))
            #expect(reply.1["usage"]?["total_tokens"]?.int == 14)
            let system = try #require(fake.requests.last?.json["system"] as? String)
            #expect(system.contains("fitness coach") && system.hasSuffix("Be brief."))

            let unauthenticated = try await client.call(.get, "/v1/models", token: "nope")
            #expect(unauthenticated.status == .unauthorized)
            #expect(unauthenticated.json["error"]?["type"] == .string("authentication_error"))
            let noUser = try await client.call(.post, "/v1/chat/completions", token: token,
                                               json: #"{"model": "auto", "messages": [{"role": "assistant", "content": "Hi"}]}"#)
            #expect(noUser.status == .unprocessableContent && noUser.json["error"]?["param"] == .string("messages"))
        }
    }
}
