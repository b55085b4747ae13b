import AsyncHTTPClient
import Foundation
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
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct ChatTests {
    @Test(arguments: [
        ("gpt-4o-mini", "/openai/v1/chat/completions"), ("claude-3-5-haiku", "/anthropic/v1/messages"),
        ("llama-3.1-8b", "/together/v1/chat/completions"), ("gemini-pro-1.5", "/google/v1beta/models/gemini-1.5-pro:streamGenerateContent"),
    ])
    func eachProviderStreamsTheReplyAndTheTurnIsStored(model: String, path: String) async throws {
        try await withFakeProviders { fake, app, client in
            let user = testUser(30)
            let token = try await app.token(user)
            let result = try await client.chat(#"{"message": "Hi coach", "personaId": "fitness", "modelId": "\#(model)"}"#, token: token)
            #expect(result.status == .ok)
            #expect(result.meta?["modelId"] == .string(model))
            #expect(result.text == "Hello there")
            #expect(result.done?["usage"]?["inputTokens"]?.int == 12)
            #expect(result.done?["usage"]?["outputTokens"]?.int == 2)
            #expect(result.done?["usage"]?["cachedInputTokens"]?.int == 4)
            let request = try #require(fake.requests.last)
            #expect(request.path == path)
            let conversationID = try #require(result.meta?["conversationId"]?.stringValue)
            let stored = try await client.call(.get, "/api/conversations/\(conversationID)", token: token)
            let messages = stored.json["messages"]?.array ?? []
            #expect(messages.map { $0["role"] } == [.string("user"), .string("assistant")])
            #expect(messages.last?["content"] == .string("Hello there"))
            #expect(messages.last?["modelId"] == .string(model))
            #expect(messages.last?["selectionReason"] == .string("explicit"))
            #expect(messages.last?["paymentKind"] == .string(model == "gemini-pro-1.5" ? "trial" : "free"))
            #expect(messages.first?["inputTokens"]?.int == 12 && messages.first?["cachedInputTokens"]?.int == 4)
        }
    }

    @Test func anthropicReceivesOnlyTheUserIdAsMetadataAndThePersonaPrompt() async throws {
        try await withFakeProviders { fake, app, client in
            let user = testUser(31)
            _ = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "claude-3-5-haiku"}"#, token: try await app.token(user))
            let body = try #require(fake.requests.last).json
            #expect((body["metadata"] as? [String: String]) == ["user_id": user.description])
            #expect((body["system"] as? String)?.contains("career coach") == true)
            #expect(fake.requests.last?.headers["x-api-key"] == "key-anthropic")
            #expect(fake.requests.last?.headers["anthropic-version"] == "2023-06-01")
        }
    }

    @Test func aProviderFailureBeforeTheFirstTokenChargesNothing() async throws {
        try await withFakeProviders { fake, app, client in
            let user = testUser(32)
            let token = try await app.token(user)
            fake.script(.status(500), .status(500), .status(500))
            let failed = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o"}"#, token: token)
            #expect(failed.status == .serviceUnavailable)
            #expect(failed.problem?["code"] == .string("provider_unavailable"))
            #expect(fake.requests.count == 3)
            let day = QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key
            let ledger = QuotaLedger(database: app.database)
            #expect(try await ledger.usage(of: user, on: day)["gpt-4o"] ?? 0 == 0)
            #expect(try await ledger.trialsUsed(by: user)["gpt-4o"] ?? 0 == 0)
            #expect(try await client.call(.get, "/api/conversations", token: token).json["data"]?.array.isEmpty == true)
        }
    }

    @Test func overloadAndRateLimitsAreRetriedBeforeTheFirstToken() async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(33))
            fake.script(.status(529), .rateLimited(retryAfter: 0))
            let recovered = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "claude-3-5-haiku"}"#, token: token)
            #expect(recovered.status == .ok && recovered.text == "Hello there")
            #expect(fake.requests.count == 3)

            fake.script(.rateLimited(retryAfter: 600))
            let limited = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "claude-3-5-haiku"}"#, token: token)
            #expect(limited.status == .tooManyRequests && limited.problem?["code"] == .string("provider_rate_limited"))
            #expect(fake.requests.count == 4)

            fake.script(.status(400))
            let refused = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "claude-3-5-haiku"}"#, token: token)
            #expect(refused.status == .badGateway && refused.problem?["code"] == .string("provider_error"))
            #expect(refused.problem?["detail"]?.stringValue?.contains("fake") == false)
            #expect(fake.requests.count == 5)
        }
    }

    @Test func aStreamCutAfterTextStaysChargedAndKeepsThePartialReply() async throws {
        try await withFakeProviders { fake, app, client in
            let user = testUser(34)
            let token = try await app.token(user)
            fake.script(.cutAfter(deltas: 2))
            let cut = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o"}"#, token: token)
            #expect(cut.status == .ok)
            #expect(cut.text == "part part ")
            #expect(cut.error?["code"] == .string("provider_unavailable"))
            #expect(cut.done == nil)
            let day = QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key
            #expect(try await QuotaLedger(database: app.database).usage(of: user, on: day)["gpt-4o"] == 1)
            let conversation = try #require(cut.meta?["conversationId"]?.stringValue)
            let stored = try await client.call(.get, "/api/conversations/\(conversation)", token: token)
            #expect(stored.json["messages"]?[1]?["content"] == .string("part part "))
        }
    }

    @Test func aSlowFirstByteTimesOutAndIsNotCharged() async throws {
        try await withFakeProviders(timeouts: TestApp.shortTimeouts) { fake, app, client in
            let user = testUser(35)
            fake.script(.slowFirstByte(seconds: 3, then: "late"), .slowFirstByte(seconds: 3, then: "late"), .slowFirstByte(seconds: 3, then: "late"))
            let result = try await client.chat(#"{"message": "Hi", "personaId": "career"}"#, token: try await app.token(user))
            #expect(result.status == .serviceUnavailable && result.problem?["code"] == .string("provider_unavailable"))
            let day = QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key
            #expect(try await QuotaLedger(database: app.database).usage(of: user, on: day)["gpt-4o-mini"] ?? 0 == 0)
        }
    }

    @Test func aProviderWithoutAKeyAnswers503AndIsShownUnavailable() async throws {
        try await TestApp.run(providers: TestApp.providers(fake: nil, demo: false)) { app, client in
            let token = try await app.token(testUser(36))
            let result = try await client.chat(#"{"message": "Hi", "personaId": "career"}"#, token: token)
            #expect(result.status == .serviceUnavailable && result.problem?["code"] == .string("provider_not_configured"))
            let models = try await client.call(.get, "/api/models", token: token)
            #expect(models.json["data"]?["free"]?[0]?["available"] == .bool(false))
        }
    }

    @Test func badChatRequestsAreRefusedBeforeAnythingIsCharged() async throws {
        // Patient: on a loaded machine a 2 s first-byte timeout would retry the one good call and
        // count it twice at the fake.
        try await withFakeProviders(patientProvider: true) { fake, app, client in
            let alice = try await app.token(testUser(37))
            let bob = try await app.token(testUser(38))
            let empty = try await client.chat(#"{"message": "   ", "personaId": "career"}"#, token: alice)
            #expect(empty.status == .unprocessableContent && empty.problem?["field"] == .string("message"))
            let noPersona = try await client.chat(#"{"message": "Hi"}"#, token: alice)
            #expect(noPersona.status == .badRequest && noPersona.problem?["field"] == .string("personaId"))
            let unknown = try await client.chat(#"{"message": "Hi", "personaId": "astrology"}"#, token: alice)
            #expect(unknown.problem?["code"] == .string("unknown_persona"))
            let first = try await client.chat(#"{"message": "Hi", "personaId": "career"}"#, token: alice)
            let conversation = try #require(first.meta?["conversationId"]?.stringValue)
            let stolen = try await client.chat(#"{"message": "Hi", "personaId": "career", "conversationId": "\#(conversation)"}"#, token: bob)
            #expect(stolen.status == .notFound && stolen.problem?["code"] == .string("conversation_not_found"))
            #expect(try await client.call(.get, "/api/conversations/\(conversation)", token: bob).status == .notFound)
            #expect(try await client.call(.get, "/api/conversations", token: bob).json["data"]?.array.isEmpty == true)
            #expect(fake.requests.count == 1)
        }
    }

    @Test func aFollowUpSendsTheHistory() async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(39))
            let first = try await client.chat(#"{"message": "First", "personaId": "career"}"#, token: token)
            let conversation = try #require(first.meta?["conversationId"]?.stringValue)
            _ = try await client.chat(#"{"message": "Second", "personaId": "career", "conversationId": "\#(conversation)"}"#, token: token)
            let messages = try #require(fake.requests.last?.json["messages"] as? [[String: String]])
            #expect(messages.map { $0["content"] ?? "" } == [
                "You are a supportive career coach. Ask clarifying questions and give concrete next steps.", "First", "Hello there", "Second",
            ])
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct ChatCancellationTests {
    @Test func aClientDisconnectMidStreamCancelsTheUpstreamRequest() async throws {
        let fake = try await FakeProviderServer.start()
        fake.script(.hang)
        // Patient: a retry after a first-byte timeout on a loaded machine would get a reply that finishes.
        var providers = TestApp.providers(fake: fake)
        providers.timeouts = ProviderTimeouts(connect: .seconds(2), firstByte: .seconds(120), idle: .seconds(120))
        try await TestApp.run(providers: providers, test: .live) { app, client in
            let port = try #require(client.port)
            let token = try await app.token(testUser(50))
            let (signal, received) = AsyncStream.makeStream(of: String.self)
            // The reader ends the signal however its request ends: a request that failed before its
            // first delta (an error, its deadline) once left this test waiting for ever.
            let reader = Task {
                defer { received.finish() }
                let response = try await HTTPClient.shared.execute(LoopbackChat.request(port: port, token: token), timeout: .seconds(120))
                var text = ""
                for try await chunk in response.body {
                    text += String(buffer: chunk)
                    if text.contains("event: delta") { received.yield(text) }
                }
            }
            var iterator = signal.makeAsyncIterator()
            let firstChunk = await iterator.next() ?? ""
            reader.cancel()
            let ended = await reader.result
            try #require(firstChunk.contains("event: delta"), "the reply never started: \(ended)")
            // The client is gone; the provider must see its request dropped (a heartbeat a second
            // notices the client). The suite's time limit bounds the wait.
            while fake.cancellations == 0 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(fake.cancellations == 1)
        }
        await fake.stop()
    }
}
