import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ModelgateCore
import ModelgateProviders

/// A request to `POST /v1/chat/completions`, as the OpenAI SDKs send it.
struct CompletionRequest: Decodable, Sendable {
    struct Message: Decodable, Sendable {
        let role: String
        let content: Content
    }

    /// A string, or text parts `[{"type": "text", "text": …}]`.
    struct Content: Decodable, Sendable {
        let text: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self.text = text
            } else {
                struct Part: Decodable { let type: String; let text: String? }
                self.text = try container.decode([Part].self).compactMap { $0.type == "text" ? $0.text : nil }.joined()
            }
        }
    }

    struct StreamOptions: Decodable, Sendable { let include_usage: Bool? }

    let model: String
    let messages: [Message]
    let stream: Bool?
    let stream_options: StreamOptions?
}

struct OpenAIModel: Encodable, Sendable {
    let id: String
    let object = "model"
    let created: Int
    let owned_by: String
}

struct OpenAIList<Item: Encodable & Sendable>: Encodable, Sendable {
    let object = "list"
    let data: [Item]
}

/// OpenAI's Chat Completions API over Modelgate's selection, quotas and trials, so any OpenAI SDK
/// can talk to the user's models with the user's own token. `model` is a catalog id or `auto`.
struct OpenAICompatibleRoutes {
    let chat: ChatService
    let userModels: UserModelsService
    let clock: any WallClock
    let maxBodyBytes: Int

    static let personaHeader = HTTPField.Name("X-Persona-Id")!

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("models") { _, context in
            let profile = try context.requireIdentity().profile
            let created = Int(clock.now().timeIntervalSince1970)
            let usable = try await userModels.usableModels(for: profile)
            let models = [OpenAIModel(id: "auto", created: created, owned_by: "modelgate")]
                + usable.map { OpenAIModel(id: $0.id.rawValue, created: created, owned_by: $0.provider.rawValue) }
            return JSONBody(OpenAIList(data: models))
        }
        group.post("chat/completions") { request, context in
            let profile = try context.requireIdentity().profile
            let body = try await request.decodeJSON(CompletionRequest.self, limit: maxBodyBytes)
            let persona = request.headers[Self.personaHeader].map(PersonaID.init(rawValue:))
            let system = body.messages.filter { $0.role == "system" || $0.role == "developer" }.map(\.content.text)
            let turns = body.messages.compactMap { message -> ChatTurn? in
                switch message.role {
                case "user": ChatTurn(role: .user, text: message.content.text)
                case "assistant": ChatTurn(role: .assistant, text: message.content.text)
                default: nil
                }
            }
            let explicit = body.model == "auto" ? nil : ModelID(body.model)
            // Unlike /api/chat, an OpenAI client naming a model that does not exist gets OpenAI's 404, not a fallback.
            if let explicit, userModels.access.cache.catalog.model(explicit)?.enabled != true {
                throw ModelgateError.notFound(what: "model", id: explicit.rawValue)
            }
            let reply = try await chat.complete(
                turns: turns, system: system.isEmpty ? nil : system.joined(separator: "\n\n"), persona: persona,
                explicit: explicit, for: profile)
            let completion = CompletionWriter(
                id: "chatcmpl-" + context.id, created: Int(clock.now().timeIntervalSince1970), model: reply.admission.choice.model.id.rawValue)
            guard body.stream == true else { return try await completion.whole(reply) }
            return completion.streaming(reply, includeUsage: body.stream_options?.include_usage == true)
        }
    }
}

/// Renders a reply in OpenAI's completion shapes.
struct CompletionWriter: Sendable {
    let id: String
    let created: Int
    let model: String

    func whole(_ reply: ChatReply) async throws -> Response {
        var finish = "stop"
        do {
            while let event = try await reply.next() { if case .finish(let reason, _) = event { finish = Self.finishReason(reason) } }
        } catch {
            throw ChatService.domainError(error, provider: reply.admission.choice.model.provider)
        }
        let usage = reply.usage
        let body: JSONValue = .object([
            "id": .string(id), "object": .string("chat.completion"), "created": .number(Double(created)), "model": .string(model),
            "choices": .array([.object([
                "index": .number(0), "message": .object(["role": .string("assistant"), "content": .string(reply.text)]),
                "finish_reason": .string(finish),
            ])]),
            "usage": Self.usage(usage),
        ])
        return try JSONBody(body).response()
    }

    func streaming(_ reply: ChatReply, includeUsage: Bool) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                try await writer.write(chunk(delta: .object(["role": .string("assistant"), "content": .string("")]), finish: nil))
                do {
                    while let event = try await reply.next() {
                        switch event {
                        case .delta(let text): try await writer.write(chunk(delta: .object(["content": .string(text)]), finish: nil))
                        case .finish(let reason, let usage):
                            try await writer.write(chunk(delta: .object([:]), finish: Self.finishReason(reason)))
                            if includeUsage { try await writer.write(line(usageChunk(usage))) }
                        }
                    }
                } catch {
                    let problem = Problem(ChatService.domainError(error, provider: reply.admission.choice.model.provider))
                    try await writer.write(line(OpenAIError(problem).envelope))
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            })
    }

    private func chunk(delta: JSONValue, finish: String?) -> ByteBuffer {
        line(.object([
            "id": .string(id), "object": .string("chat.completion.chunk"), "created": .number(Double(created)), "model": .string(model),
            "choices": .array([.object(["index": .number(0), "delta": delta, "finish_reason": finish.map(JSONValue.string) ?? .null])]),
            "usage": .null,
        ]))
    }

    private func usageChunk(_ usage: TokenUsage) -> JSONValue {
        .object([
            "id": .string(id), "object": .string("chat.completion.chunk"), "created": .number(Double(created)), "model": .string(model),
            "choices": .array([]), "usage": Self.usage(usage),
        ])
    }

    private func line(_ value: JSONValue) -> ByteBuffer {
        let data = (try? JSONEncoder.sorted.encode(value)) ?? Data()
        return ByteBuffer(string: "data: " + String(decoding: data, as: UTF8.self) + "\n\n")
    }

    static func usage(_ usage: TokenUsage) -> JSONValue {
        .object([
            "prompt_tokens": .number(Double(usage.inputTokens)), "completion_tokens": .number(Double(usage.outputTokens)),
            "total_tokens": .number(Double(usage.inputTokens + usage.outputTokens)),
        ])
    }

    /// Provider stop reasons in OpenAI's words.
    static func finishReason(_ reason: String) -> String {
        switch reason.lowercased() {
        case "length", "max_tokens", "model_context_window_exceeded": "length"
        case "content_filter", "safety", "recitation", "blocklist", "prohibited_content", "spii", "refusal": "content_filter"
        default: "stop"
        }
    }
}

/// OpenAI's error envelope for a problem: `{"error": {"message", "type", "param", "code"}}`.
struct OpenAIError {
    let problem: Problem

    init(_ problem: Problem) { self.problem = problem }

    var envelope: JSONValue {
        let type: String = switch problem.status.code {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
        return .object(["error": .object([
            "message": .string(problem.detail), "type": .string(type), "param": problem.extra["field"] ?? .null, "code": .string(problem.code),
        ])])
    }

    func response(requestID: String) -> Response {
        var headers = problem.headers
        headers[.contentType] = "application/json"
        headers[.init("x-request-id")!] = requestID
        let data = (try? JSONEncoder.sorted.encode(envelope)) ?? Data()
        return Response(status: problem.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Answers errors under `/v1` in OpenAI's shape, so the SDKs raise their usual exceptions.
struct OpenAIErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return OpenAIError(Problem(error)).response(requestID: context.id)
        }
    }
}
