import Foundation
import HTTPTypes
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
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import Testing

/// `/api/chat` with the powers of `/v1`: image attachments stored once and replayed by reference,
/// tools the app declares and the results it sends back, and a reply length.
@Suite(.timeLimit(.minutes(5))) struct ChatAttachmentsAndToolsTests {
    static let png = CompletionTranslationTests.png

    @Test func anImageIsStoredOnceShownInTheHistoryAndReplayedToTheProvider() async throws {
        try await withFakeProviders { fake, app, client in
            let alice = try await app.token(testUser(310)), bob = try await app.token(testUser(311))
            let first = try await client.chat(#"""
                {"message": "What is on my plate?", "personaId": "nutrition", "modelId": "claude-3-5-haiku", "maxTokens": 300,
                 "attachments": [{"url": "data:image/png;base64,\#(Self.png)"}, {"url": "https://example.com/meal.jpg"}]}
                """#, token: alice)
            #expect(first.status == .ok && first.text == "Hello there")
            let sent = try #require(fake.requests.last).json
            #expect(CompletionTranslationTests.dig(sent, "messages.0.content.1.source.data") == .string(Self.png))
            #expect(CompletionTranslationTests.dig(sent, "messages.0.content.2.source.url") == .string("https://example.com/meal.jpg"))
            #expect(CompletionTranslationTests.dig(sent, "max_tokens") == .number(300))

            let conversation = try #require(first.meta?["conversationId"]?.stringValue)
            let history = try await client.call(.get, "/api/conversations/\(conversation)", token: alice)
            let attachments = history.json["messages"]?[0]?["attachments"]?.array ?? []
            #expect(attachments.count == 2 && attachments[0]["mediaType"] == .string("image/png"))
            #expect(attachments[1]["url"] == .string("https://example.com/meal.jpg"))
            let imageID = try #require(attachments[0]["id"]?.stringValue)
            #expect(attachments[0]["url"] == .string("/api/conversations/\(conversation)/attachments/\(imageID)"))
            let image = try await client.execute(uri: "/api/conversations/\(conversation)/attachments/\(imageID)", method: .get,
                                                 headers: [.authorization: "Bearer \(alice)"]) { ($0.status, $0.headers[.contentType], Data(buffer: $0.body)) }
            #expect(image.0 == .ok && image.1 == "image/png" && image.2 == Data(base64Encoded: Self.png))
            // Another user can neither read the attachment nor learn that it exists.
            let stolen = try await client.call(.get, "/api/conversations/\(conversation)/attachments/\(imageID)", token: bob)
            #expect(stolen.status == .notFound)

            // The follow-up replays the image from its one stored copy.
            let second = try await client.chat(#"{"message": "And now?", "personaId": "nutrition", "modelId": "claude-3-5-haiku", "conversationId": "\#(conversation)"}"#, token: alice)
            #expect(second.status == .ok)
            let replayed = try #require(fake.requests.last).json
            #expect(CompletionTranslationTests.dig(replayed, "messages.0.content.1.source.data") == .string(Self.png))
            #expect(CompletionTranslationTests.dig(replayed, "messages.2.content.0.text") == .string("And now?"))
            #expect(try await app.count("attachments") == 2)
        }
    }

    @Test func theAppDeclaresToolsAndSendsTheResultsBack() async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(312))
            let tool = CompletionTranslationTests.weatherTool
            let called = try await client.chat(#"{"message": "Log my run in Paris", "personaId": "fitness", "modelId": "gemini-pro-1.5", "tools": [\#(tool)]}"#, token: token)
            #expect(called.status == .ok)
            let calls = called.done?["toolCalls"]?.array ?? []
            #expect(called.done?["finishReason"] == .string("tool_calls") && calls.count == 1)
            #expect(calls.first?["name"] == .string("get_weather") && calls.first?["arguments"] == .string(#"{"city":"Paris"}"#))
            let callID = try #require(calls.first?["id"]?.stringValue)
            let conversation = try #require(called.meta?["conversationId"]?.stringValue)

            let answered = try await client.chat(#"""
                {"personaId": "fitness", "modelId": "gemini-pro-1.5", "conversationId": "\#(conversation)", "tools": [\#(tool)],
                 "toolResults": [{"toolCallId": "\#(callID)", "content": "18C"}]}
                """#, token: token)
            #expect(answered.status == .ok && answered.text == "The tool said: 18C", "\(answered.problem ?? .null)")
            // Gemini got the call back with its thought signature, and the result named after the call.
            let sent = try #require(fake.requests.last).json
            #expect(CompletionTranslationTests.dig(sent, "contents.1.parts.0.thoughtSignature") == .string(WireFormatSignature.value))
            #expect(CompletionTranslationTests.dig(sent, "contents.2.parts.0.functionResponse.name") == .string("get_weather"))
            let messages = try await client.call(.get, "/api/conversations/\(conversation)", token: token).json["messages"]?.array ?? []
            #expect(messages.count == 4)
            #expect(messages[1]["toolCalls"]?[0]?["id"] == .string(callID))
            #expect(messages[2]["toolResults"]?[0]?["content"] == .string("18C"))
        }
    }

    @Test func badTurnsAreRefusedBeforeAnyCharge() async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(313))
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"personaId": "fitness"}"#, .unprocessableContent, "message"),
                (#"{"personaId": "fitness", "toolResults": [{"toolCallId": "x", "content": "y"}]}"#, .unprocessableContent, "toolResults"),
                (#"{"message": "Hi", "personaId": "fitness", "attachments": [{"url": "data:text/html;base64,PHNjcmlwdD4="}]}"#, .unprocessableContent, "attachments.0.url"),
                (#"{"message": "Hi", "personaId": "fitness", "attachments": [{"url": "javascript:alert(1)"}]}"#, .badRequest, "attachments.0.url"),
                (#"{"message": "Hi", "personaId": "fitness", "attachments": [{"url": "data:image/png;base64,@@@"}]}"#, .badRequest, "attachments.0.url"),
                (#"{"message": "Hi", "personaId": "fitness", "maxTokens": 0}"#, .badRequest, "maxTokens"),
            ]
            for (body, status, field) in cases {
                let refused = try await client.chat(body, token: token)
                #expect(refused.status == status && refused.problem?["field"] == .string(field), "\(body): \(refused.problem ?? .null)")
            }
            #expect(fake.requests.isEmpty)
            #expect(try await app.count("model_usage_daily") == 0)
        }
    }
}
