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
import ModelgateStore
import ModelgateTestSupport
import Testing

/// The body each provider received (recorded by the fake) for a table of request features, and
/// the features a provider cannot take refused by name before anything is charged.
@Suite(.timeLimit(.minutes(5))) struct CompletionTranslationTests {
    /// A catalog model per wire format: OpenAI, Together (OpenAI format), Anthropic, Gemini.
    static let models = ["gpt-4o-mini", "llama-3.1-8b", "claude-3-5-haiku", "gemini-pro-1.5"]

    static let weatherTool = #"{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}}}"#
    /// A call id as Modelgate hands out for a Gemini call, carrying its thought signature back.
    static let geminiCallID = "mgcall_0_1a2b3c4d_sig_CiQB0e2Kbw"
    static let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

    /// A request feature, and what each wire format's body must hold for it (`path → expected JSON`).
    struct Feature: Sendable, CustomStringConvertible {
        let name: String
        let fields: String
        let openAI: [String: String]
        let anthropic: [String: String]
        let gemini: [String: String]
        var description: String { name }
    }

    static let features: [Feature] = [
        Feature(name: "tools", fields: #""tools": [\#(weatherTool)], "tool_choice": "required""#,
                openAI: ["tools.0.function.name": #""get_weather""#, "tool_choice": #""required""#],
                anthropic: ["tools.0.name": #""get_weather""#, "tools.0.input_schema.properties.city.type": #""string""#, "tool_choice.type": #""any""#],
                gemini: ["tools.0.functionDeclarations.0.name": #""get_weather""#,
                         "tools.0.functionDeclarations.0.parametersJsonSchema.required.0": #""city""#, "toolConfig.functionCallingConfig.mode": #""ANY""#]),
        Feature(name: "image", fields: #""messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,\#(png)"}}]}]"#,
                openAI: ["messages.0.content.1.image_url.url": #""data:image/png;base64,\#(png)""#],
                anthropic: ["messages.0.content.1.source.type": #""base64""#, "messages.0.content.1.source.media_type": #""image/png""#,
                            "messages.0.content.1.source.data": #""\#(png)""#],
                gemini: ["contents.0.parts.1.inlineData.mimeType": #""image/png""#, "contents.0.parts.1.inlineData.data": #""\#(png)""#]),
        Feature(name: "image URL", fields: #""messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/meal.jpg", "detail": "high"}}]}]"#,
                openAI: ["messages.0.content.0.image_url.url": #""https://example.com/meal.jpg""#, "messages.0.content.0.image_url.detail": #""high""#],
                anthropic: ["messages.0.content.0.source.type": #""url""#, "messages.0.content.0.source.url": #""https://example.com/meal.jpg""#],
                gemini: ["contents.0.parts.0.fileData.mimeType": #""image/jpeg""#, "contents.0.parts.0.fileData.fileUri": #""https://example.com/meal.jpg""#]),
        Feature(name: "sampling", fields: #""max_tokens": 50, "temperature": 0.5, "stop": ["END", "STOP"]"#,
                openAI: ["max_tokens": "50", "temperature": "0.5", "stop.1": #""STOP""#],
                anthropic: ["max_tokens": "50", "temperature": "0.5", "stop_sequences.0": #""END""#],
                gemini: ["generationConfig.maxOutputTokens": "50", "generationConfig.temperature": "0.5", "generationConfig.stopSequences.1": #""STOP""#]),
        Feature(name: "max_completion_tokens and top_p", fields: #""max_completion_tokens": 64, "top_p": 0.9, "stop": "END""#,
                openAI: ["max_tokens": "64", "top_p": "0.9", "stop.0": #""END""#],
                anthropic: ["max_tokens": "64", "top_p": "0.9", "stop_sequences.0": #""END""#],
                gemini: ["generationConfig.maxOutputTokens": "64", "generationConfig.topP": "0.9", "generationConfig.stopSequences.0": #""END""#]),
        Feature(name: "json_schema", fields: #""response_format": {"type": "json_schema", "json_schema": {"name": "answer", "strict": true, "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false}}}"#,
                openAI: ["response_format.type": #""json_schema""#, "response_format.json_schema.name": #""answer""#, "response_format.json_schema.strict": "true"],
                anthropic: ["output_config.format.type": #""json_schema""#, "output_config.format.schema.required.0": #""a""#],
                gemini: ["generationConfig.responseMimeType": #""application/json""#, "generationConfig.responseJsonSchema.properties.a.type": #""string""#]),
        Feature(name: "tool result turn", fields: #"""
            "tools": [\#(weatherTool)], "messages": [{"role": "user", "content": "Weather in Paris?"},
             {"role": "assistant", "content": null, "tool_calls": [{"id": "\#(geminiCallID)", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
             {"role": "tool", "tool_call_id": "\#(geminiCallID)", "content": "18C"}]
            """#,
                openAI: ["messages.1.tool_calls.0.function.arguments": #""{\"city\": \"Paris\"}""#, "messages.1.content": "null",
                         "messages.2.role": #""tool""#, "messages.2.tool_call_id": #""\#(geminiCallID)""#],
                anthropic: ["messages.1.content.0.type": #""tool_use""#, "messages.1.content.0.input.city": #""Paris""#,
                            "messages.2.role": #""user""#, "messages.2.content.0.type": #""tool_result""#, "messages.2.content.0.tool_use_id": #""\#(geminiCallID)""#],
                gemini: ["contents.1.role": #""model""#, "contents.1.parts.0.functionCall.args.city": #""Paris""#,
                         "contents.1.parts.0.thoughtSignature": #""CiQB0e2Kbw==""#,
                         "contents.2.parts.0.functionResponse.name": #""get_weather""#, "contents.2.parts.0.functionResponse.response.output": #""18C""#]),
    ]

    /// The request of a feature: its fields, plus a system and user message unless it brings its own.
    static func body(model: String, _ feature: Feature) -> String {
        let messages = feature.fields.contains(#""messages""#) ? "" : #""messages": [{"role": "user", "content": "Hi"}], "#
        return #"{"model": "\#(model)", \#(messages)\#(feature.fields)}"#
    }

    @Test(arguments: features)
    func eachProviderReceivesTheFeatureInItsOwnFormat(_ feature: Feature) async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(300))
            _ = try await client.call(.get, "/api/me", token: token)
            try await app.grant("gemini-pro-1.5", to: testUser(300))
            for model in Self.models {
                let reply = try await client.call(.post, "/v1/chat/completions", token: token, json: Self.body(model: model, feature))
                #expect(reply.status == .ok, "\(feature) on \(model): \(reply.json)")
                let sent = try #require(fake.requests.last)
                let expected = switch model {
                case "claude-3-5-haiku": feature.anthropic
                case "gemini-pro-1.5": feature.gemini
                default: feature.openAI
                }
                for (path, value) in expected {
                    #expect(Self.dig(sent.json, path) == Self.parse(value), "\(feature) on \(model): \(path) in \(String(decoding: sent.body, as: UTF8.self))")
                }
            }
        }
    }

    /// Features a provider cannot take: 400 naming the field, no upstream request, nothing charged.
    static let refusals: [(model: String, fields: String, field: String)] = [
        ("claude-3-5-haiku", #""seed": 7"#, "seed"),
        ("claude-3-5-haiku", #""presence_penalty": 0.5"#, "presence_penalty"),
        ("claude-3-5-haiku", #""response_format": {"type": "json_object"}"#, "response_format"),
        ("claude-3-5-haiku", #""temperature": 1.5"#, "temperature"),
        ("claude-3-5-haiku", #""temperature": 0.5, "top_p": 0.9"#, "top_p"),
        ("claude-3-5-haiku", #""messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}}]}]"#, "messages.0.content.0"),
        ("gemini-pro-1.5", #""frequency_penalty": 0.5"#, "frequency_penalty"),
        ("gemini-pro-1.5", #""parallel_tool_calls": false, "tools": [\#(weatherTool)]"#, "parallel_tool_calls"),
        ("gemini-pro-1.5", #""messages": [{"role": "system", "content": "Hi"}, {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/photo"}}]}]"#, "messages.1.content.0"),
        ("gpt-4o-mini", #""n": 2"#, "n"),
        ("gpt-4o-mini", #""logprobs": true"#, "logprobs"),
        ("gpt-4o-mini", #""functions": [{"name": "f"}]"#, "functions"),
        ("gpt-4o-mini", #""tools": [{"type": "custom", "custom": {"name": "grammar"}}]"#, "tools.0.type"),
    ]

    @Test func whatAProviderCannotTakeIsRefusedByNameBeforeAnyCharge() async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(301))
            _ = try await client.call(.get, "/api/me", token: token)
            try await app.sql("UPDATE ai_models SET trial_messages_allowed = 0 WHERE id = 'gemini-pro-1.5'")
            try await app.grant("gemini-pro-1.5", to: testUser(301))
            for refusal in Self.refusals {
                let reply = try await client.call(.post, "/v1/chat/completions", token: token,
                                                  json: Self.body(model: refusal.model, Feature(name: "", fields: refusal.fields, openAI: [:], anthropic: [:], gemini: [:])))
                #expect(reply.status == .badRequest, "\(refusal): \(reply.json)")
                #expect(reply.json["error"]?["code"] == .string("unsupported_parameter"), "\(refusal): \(reply.json)")
                #expect(reply.json["error"]?["param"] == .string(refusal.field), "\(refusal): \(reply.json)")
            }
            #expect(fake.requests.isEmpty)
            #expect(try await app.count("model_usage_daily") == 0)
        }
    }

    @Test func aFiveMegabyteImageOnItsOwnIsAcceptedAndReachesTheProvider() async throws {
        try await withFakeProviders(patientProvider: true) { fake, app, client in
            let token = try await app.token(testUser(303))
            let photo = Data(repeating: 0xAB, count: 5_000_000).base64EncodedString()
            let body = #"{"model": "claude-3-5-haiku", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,\#(photo)"}}]}]}"#
            #expect(body.utf8.count > 6_000_000)
            let reply = try await client.call(.post, "/v1/chat/completions", token: token, json: body)
            #expect(reply.status == .ok, "\(reply.json)")
            #expect(Self.dig(try #require(fake.requests.last).json, "messages.0.content.0.source.data")?.stringValue?.count == photo.count)
            let tooBig = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "\#(String(repeating: "x", count: 21 * 1024 * 1024))"}]}"#
            let refused = try await client.call(.post, "/v1/chat/completions", token: token, json: tooBig)
            #expect(refused.status == .contentTooLarge && refused.json["error"]?["code"] == .string("body_too_large"))
        }
    }

    @Test func aConversationLongerThanTheContextWindowIsRefusedBeforeAnyCharge() async throws {
        try await withFakeProviders { fake, app, client in
            let token = try await app.token(testUser(302))
            try await app.sql(#"UPDATE ai_models SET metadata = '{"contextWindow": 1000}' WHERE id = 'gpt-4o-mini'"#)
            let long = String(repeating: "word ", count: 1_000)
            let reply = try await client.call(.post, "/v1/chat/completions", token: token,
                                              json: #"{"model": "gpt-4o-mini", "max_tokens": 100, "messages": [{"role": "user", "content": "\#(long)"}]}"#)
            #expect(reply.status == .badRequest && reply.json["error"]?["code"] == .string("context_length_exceeded"), "\(reply.json)")
            #expect(reply.json["error"]?["message"]?.stringValue?.contains("1000") == true)
            #expect(fake.requests.isEmpty)
            #expect(try await app.count("model_usage_daily") == 0)
        }
    }

    /// The value at a dotted path (`messages.0.content.1.source.type`).
    static func dig(_ json: Any, _ path: String) -> JSONValue? {
        var value: Any? = json
        for key in path.split(separator: ".") {
            if let index = Int(key), let array = value as? [Any] {
                value = array.indices.contains(index) ? array[index] : nil
            } else {
                value = (value as? [String: Any])?[String(key)]
            }
        }
        guard let value, let data = try? JSONSerialization.data(withJSONObject: value, options: .fragmentsAllowed) else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: data)
    }

    static func parse(_ json: String) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)) }
}
