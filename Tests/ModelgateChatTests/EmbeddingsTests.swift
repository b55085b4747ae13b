import Foundation
import HTTPTypes
import HummingbirdTesting
import ModelgateAppTesting
import ModelgateCore
import ModelgateTestSupport
import NIOCore
import SQLKit
import Testing

/// `POST /v1/embeddings` through the one request path: identity, access, budgets, settlement.
@Suite(.timeLimit(.minutes(5))) struct EmbeddingsTests {
    static let texts = ["hello world", "embeddings for everyone"]

    /// An embeddings call with `authorization` (a bearer token or an API key).
    static func embed(_ body: String, as authorization: String, client: any TestClientProtocol) async throws -> Reply {
        try await client.call(.post, "/v1/embeddings", token: authorization, json: body)
    }

    /// The model's calls, messages, input tokens, cost and estimated calls on the user's books.
    static func books(_ model: String, of user: UserID, app: TestApp) async throws -> [Int] {
        try await app.database.read { db in
            let row = try await db.raw("""
                SELECT calls, message_count, input_tokens, output_tokens, cost_micros, estimated_calls FROM model_usage_daily
                WHERE model_id = \(bind: model) AND user_id = \(bind: user.description)
                """).first()
            return try ["calls", "message_count", "input_tokens", "output_tokens", "cost_micros", "estimated_calls"].map {
                try row?.decode(column: $0, as: Int.self) ?? 0
            }
        }
    }

    @Test func anEmbeddingCallIsAnsweredChargedAndCostedOnEachProvider() async throws {
        try await withFakeProviders { fake, app, client in
            let user = testUser(701)
            let token = try await app.token(user)
            let body = #"{"model": "text-embedding-3-small", "input": ["hello world", "embeddings for everyone"], "encoding_format": "float"}"#
            let reply = try await Self.embed(body, as: token, client: client)
            #expect(reply.status == .ok, "\(reply.json)")
            #expect(reply.json["object"] == "list" && reply.json["model"] == "text-embedding-3-small")
            let data = reply.json["data"]?.array ?? []
            #expect(data.map { $0["index"]?.int } == [0, 1] && data.allSatisfy { $0["object"] == "embedding" })
            let vectors = data.map { $0["embedding"]?.array.compactMap(\.numberValue).map(Float.init) ?? [] }
            #expect(vectors == Self.texts.map { FakeEmbeddings.vector($0, dimensions: 1_536) })
            // The fake OpenAI counts a token per word: 5 tokens at $0.02 a million is 0.1 micro-dollars, rounded up.
            #expect(reply.json["usage"]?["prompt_tokens"] == 5 && reply.json["usage"]?["total_tokens"] == 5)
            #expect(reply.json["usage"]?["cost_micros"] == 1 && reply.json["usage"]?["estimated"] == false)
            #expect(try await Self.books("text-embedding-3-small", of: user, app: app) == [1, 1, 5, 0, 1, 0])
            // Modelgate asks floats and names the end user; OpenAI's own wire format.
            let sent = try #require(fake.requests.last)
            #expect(sent.path == "/openai/v1/embeddings" && sent.json["encoding_format"] as? String == "float")
            #expect(sent.json["user"] as? String == user.description && sent.json["model"] as? String == "text-embedding-3-small")

            // Gemini counts no tokens: a token per 4 characters (3 + 6), marked estimated; dimensions is outputDimensionality.
            let gemini = try await Self.embed(#"{"model": "gemini-embedding-001", "input": ["hello world", "embeddings for everyone"], "dimensions": 768}"#,
                                              as: token, client: client)
            #expect(gemini.status == .ok, "\(gemini.json)")
            #expect(gemini.json["usage"]?["prompt_tokens"] == 9 && gemini.json["usage"]?["estimated"] == true)
            let batch = try #require(fake.requests.last)
            #expect(batch.path == "/google/v1beta/models/gemini-embedding-001:batchEmbedContents")
            let requests = batch.json["requests"] as? [[String: Any]] ?? []
            #expect(requests.count == 2 && requests.allSatisfy { $0["outputDimensionality"] as? Int == 768 && $0["model"] as? String == "models/gemini-embedding-001" })
            // 9 tokens at $0.15 a million: 1.35 micro-dollars, rounded up.
            #expect(try await Self.books("gemini-embedding-001", of: user, app: app) == [1, 1, 9, 0, 2, 1])

            // Together takes neither user nor dimensions (the fake refuses both, as Together does) and this fake reports no usage.
            let together = try await Self.embed(#"{"model": "bge-base-en-v1.5", "input": "hello world", "encoding_format": "float"}"#, as: token, client: client)
            #expect(together.status == .ok, "\(together.json)")
            #expect(together.json["data"]?[0]?["embedding"]?.array.count == 768 && together.json["usage"]?["estimated"] == true)
            #expect(try #require(fake.requests.last).json["user"] == nil)
        }
    }

    @Test func base64IsTheLittleEndianFloat32BytesOfTheVector() async throws {
        try await withFakeProviders { _, app, client in
            let token = try await app.token(testUser(702))
            let reply = try await Self.embed(#"{"model": "text-embedding-3-small", "input": "hello world", "encoding_format": "base64", "dimensions": 3}"#,
                                             as: token, client: client)
            let text = try #require(reply.json["data"]?[0]?["embedding"]?.stringValue, "\(reply.json)")
            let bytes = try #require(Data(base64Encoded: text))
            let decoded = stride(from: 0, to: bytes.count, by: 4).map { offset in
                Float(bitPattern: bytes[offset..<offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            }
            #expect(decoded == FakeEmbeddings.vector("hello world", dimensions: 3))
        }
    }

    @Test func aServiceKeysEmbeddingCallCountsForTheEndUserItNames() async throws {
        try await withFakeProviders { _, app, client in
            let key = try await app.createKey(client, #"{"name": "indexer", "kind": "service", "app": "notes-app"}"#)
            let body = #"{"model": "text-embedding-3-small", "input": "hello world", "user": "dana"}"#
            #expect(try await Self.embed(body, as: key, client: client).status == .ok)
            let dana = try await app.endUser("dana")
            #expect(try await Self.books("text-embedding-3-small", of: dana, app: app) == [1, 1, 2, 0, 1, 0])
            let unnamed = try await Self.embed(#"{"model": "text-embedding-3-small", "input": "hello world"}"#, as: key, client: client)
            #expect(unnamed.status == .badRequest && unnamed.json["error"]?["code"] == "end_user_required")

            // The margin report counts the call's cost on its model.
            let admin = try await app.token(testUser(700), admin: true)
            let report = try await client.call(.get, "/api/admin/margin", token: admin).json
            let row = try #require(report["models"]?.array.first { $0["modelId"] == "text-embedding-3-small" }, "\(report)")
            #expect(row["calls"] == 1 && row["inputTokens"] == 2 && row["costMicros"] == 1 && row["messages"] == 1)
        }
    }

    @Test func aDailyTokenBudgetRefusesTheCallThatWouldPassIt() async throws {
        try await withFakeProviders { fake, app, client in
            try await app.sql("UPDATE ai_models SET daily_token_budget = 10 WHERE id = 'text-embedding-3-small'")
            try await app.services.cache.refresh()
            let token = try await app.token(testUser(703))
            // 27 characters: 7 tokens held, 6 (one per word) settled.
            let body = #"{"model": "text-embedding-3-small", "input": "one two three four five six"}"#
            #expect(try await Self.embed(body, as: token, client: client).status == .ok)
            let refused = try await Self.embed(body, as: token, client: client)
            #expect(refused.status == .tooManyRequests && refused.json["error"]?["code"] == "token_budget_exhausted", "\(refused.json)")
            #expect(fake.requests.count == 1, "a refusal never reaches the provider")
            #expect(try await Self.books("text-embedding-3-small", of: testUser(703), app: app) == [1, 1, 6, 0, 1, 0])
        }
    }

    @Test func aProviderFailureGivesTheChargeBack() async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(704))
            fake.script(.status(400))
            let failed = try await Self.embed(#"{"model": "text-embedding-3-small", "input": "hello"}"#, as: token, client: client)
            #expect(failed.status == .badGateway && failed.json["error"]?["code"] == "provider_error", "\(failed.json)")
            #expect(try await Self.books("text-embedding-3-small", of: testUser(704), app: app) == [0, 0, 0, 0, 0, 0])
        }
    }

    @Test func aFailedGeminiBatchIsRetriedAloneNotTheBatchesAlreadyAnswered() async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(708))
            let inputs = (0..<150).map { "\"text \($0)\"" }.joined(separator: ",")
            fake.script(.reply("batch one"), .status(503))
            let reply = try await Self.embed(#"{"model": "gemini-embedding-001", "input": [\#(inputs)]}"#, as: token, client: client)
            #expect(reply.status == .ok && reply.json["data"]?.array.count == 150, "\(reply.json)")
            // The first batch of 100 once, the second twice: its 503, then its answer.
            #expect(fake.requests.count == 3)
        }
    }

    @Test func everyChatDoorRefusesAnEmbeddingModelAndEmbeddingsRefuseAChatModel() async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(705))
            let chat = try await client.call(.post, "/v1/chat/completions", token: token,
                                             json: #"{"model": "text-embedding-3-small", "messages": [{"role": "user", "content": "Hi"}]}"#)
            #expect(chat.status == .badRequest && chat.json["error"]?["code"] == "model_kind_mismatch" && chat.json["error"]?["param"] == "model")
            let responses = try await client.call(.post, "/v1/responses", token: token, json: #"{"model": "gemini-embedding-001", "input": "Hi"}"#)
            #expect(responses.status == .badRequest && responses.json["error"]?["code"] == "model_kind_mismatch")
            let messages = try await client.call(.post, "/v1/messages", token: token,
                                                 json: #"{"model": "bge-base-en-v1.5", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}"#)
            #expect(messages.status == .badRequest && messages.json["error"]?["code"] == "model_kind_mismatch", "\(messages.json)")
            let api = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "text-embedding-3-small"}"#, token: token)
            #expect(api.status == .badRequest && api.problem?["code"] == "model_kind_mismatch", "\(String(describing: api.problem))")
            #expect(api.problem?["detail"]?.stringValue?.contains("'text-embedding-3-small' is an embedding model") == true)
            let embeddings = try await Self.embed(#"{"model": "gpt-4o-mini", "input": "Hi"}"#, as: token, client: client)
            #expect(embeddings.status == .badRequest && embeddings.json["error"]?["code"] == "model_kind_mismatch")
            #expect(embeddings.json["error"]?["message"]?.stringValue?.contains("'gpt-4o-mini' is a chat model") == true)
            #expect(fake.requests.isEmpty)

            // Neither a default nor a coach's model can be an embedding model.
            for change in [#"{"defaultModelId": "text-embedding-3-small"}"#, #"{"personaOverrides": {"career": "gemini-embedding-001"}}"#] {
                let refused = try await client.call(.patch, "/api/profile/model-preferences", token: token, json: change)
                #expect(refused.status == .badRequest && refused.code == "model_kind_mismatch", "\(refused.json)")
            }
            let admin = try await app.token(testUser(700), admin: true)
            let systemDefault = try await client.call(.put, "/api/admin/settings/default-model", token: admin, json: #"{"modelId": "text-embedding-3-small"}"#)
            #expect(systemDefault.status == .unprocessableContent && systemDefault.code == "validation_failed", "\(systemDefault.json)")
        }
    }

    @Test(arguments: [
        (#"{"model": "text-embedding-3-small", "input": []}"#, "invalid_body", "input"),
        (#"{"model": "text-embedding-3-small", "input": ["hello", 3]}"#, "invalid_body", "input.1"),
        (#"{"model": "text-embedding-3-small", "input": {"text": "hello"}}"#, "invalid_body", "input"),
        (#"{"model": "text-embedding-3-small", "input": ["hello", ""]}"#, "invalid_body", "input.1"),
        (#"{"model": "text-embedding-3-small", "input": "hello", "encoding_format": "int8"}"#, "invalid_body", "encoding_format"),
        (#"{"input": "hello"}"#, "invalid_body", "model"),
        (#"{"model": "text-embedding-3-small", "input": "hello", "dimensions": 4096}"#, "unsupported_parameter", "dimensions"),
        (#"{"model": "bge-base-en-v1.5", "input": "hello", "dimensions": 256}"#, "unsupported_parameter", "dimensions"),
        (#"{"model": "gemini-embedding-001", "input": [[1, 2, 3]]}"#, "unsupported_parameter", "input"),
        (#"{"model": "auto", "input": "hello"}"#, "invalid_body", "model"),
        (#"{"model": "text-embedding-3-small", "input": "hello", "dimensions": 100000000}"#, "invalid_body", "dimensions"),
        // BGE reads 512 tokens an input; 2,100 characters are about 525.
        (#"{"model": "bge-base-en-v1.5", "input": ["short", "\#(String(repeating: "word ", count: 420))"]}"#, "invalid_body", "input.1"),
    ])
    func aRequestItCannotHonourIsRefusedByName(body: String, code: String, field: String) async throws {
        try await withFakeProviders { fake, app, client in
            let reply = try await Self.embed(body, as: try await app.token(testUser(706)), client: client)
            #expect(reply.status == .badRequest, "\(reply.json)")
            #expect(reply.json["error"]?["code"] == .string(code) && reply.json["error"]?["param"] == .string(field), "\(reply.json)")
            #expect(fake.requests.isEmpty)
        }
    }

    @Test func tokenArraysGoToOpenAIAndAreCountedExactly() async throws {
        try await withFakeProviders { fake, app, client in
            let reply = try await Self.embed(#"{"model": "text-embedding-3-small", "input": [[1, 2, 3], [4]], "encoding_format": "float"}"#,
                                             as: try await app.token(testUser(707)), client: client)
            #expect(reply.status == .ok && reply.json["usage"]?["prompt_tokens"] == 4, "\(reply.json)")
            #expect(try #require(fake.requests.last).json["input"] as? [[Int]] == [[1, 2, 3], [4]])
        }
    }

    @Test func theDemoResponderEmbedsWithoutAProviderKey() async throws {
        try await TestApp.run { app, client in
            let body = #"{"model": "gemini-embedding-001", "input": ["same", "same", "other"], "dimensions": 4, "encoding_format": "float"}"#
            let reply = try await Self.embed(body, as: try await app.token(testUser(710)), client: client)
            let vectors = reply.json["data"]?.array.map { $0["embedding"]?.array.compactMap(\.numberValue) ?? [] } ?? []
            #expect(reply.status == .ok && vectors.count == 3 && vectors.allSatisfy { $0.count == 4 }, "\(reply.json)")
            #expect(vectors[0] == vectors[1] && vectors[0] != vectors[2], "the same text, the same vector")
            #expect(vectors.allSatisfy { abs($0.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5 }, "unit vectors")
        }
    }

    @Test func theModelListsSayEachModelsKind() async throws {
        try await withFakeProviders { _, app, client in
            let token = try await app.token(testUser(708))
            let listed = try await client.call(.get, "/v1/models", token: token).json["data"]?.array ?? []
            #expect(listed.first { $0["id"] == "text-embedding-3-small" }?["kind"] == "embedding")
            #expect(listed.first { $0["id"] == "gpt-4o-mini" }?["kind"] == "chat")
            let models = try await client.call(.get, "/api/models", token: token).json["data"]?["free"]?.array ?? []
            #expect(models.first { $0["id"] == "gemini-embedding-001" }?["kind"] == "embedding")
            #expect(models.filter { $0["kind"] == "chat" }.count == 3, "the three free chat models")
        }
    }
}

/// The official SDKs against the fakes' embeddings and against Modelgate's.
@Suite(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"), .timeLimit(.minutes(5)))
struct EmbeddingSDKTests {
    @Test func theOfficialSDKsParseTheFakeEmbeddings() async throws {
        let fake = try await FakeProviderServer.start()
        let result = try await PythonSDK.run(["fakes", fake.baseURL], script: "scripts/embedding_checks.py")
        await fake.stop()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ok gemini fake batchEmbedContents"))
    }

    @Test(arguments: [("text-embedding-3-small", 1_536), ("gemini-embedding-001", 3_072)])
    func theOpenAISDKEmbedsThroughModelgate(model: String, dimensions: Int) async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake), test: .live) { app, client in
                let user = testUser(709)
                let token = try await app.token(user)
                let port = try #require(client.port)
                let result = try await PythonSDK.run(["modelgate", "http://127.0.0.1:\(port)/v1", token, model, String(dimensions)],
                                                     script: "scripts/embedding_checks.py")
                #expect(result.status == 0, "\(result.output)")
                // Four answered calls, each charged and settled once; the refusals cost nothing.
                let books = try await EmbeddingsTests.books(model, of: user, app: app)
                #expect(books[0] == 4 && books[1] == 4, "\(books): \(result.output)")
                #expect(fake.requests.count == 4)
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }
}
