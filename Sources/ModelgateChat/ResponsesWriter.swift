import Foundation
import HTTPTypes
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders
import NIOCore

/// Renders a reply as a Responses API `response`, or its event stream.
struct ResponsesWriter: Sendable {
    /// Keeps a finished answer: its status, output and Response object; false when it could not.
    typealias Keep = @Sendable (_ status: StoredResponse.Status, _ output: [JSONValue], _ object: JSONValue) async -> Bool

    let id: String
    let created: Int
    let model: String
    let request: ResponsesRequest
    /// Settles the call's tokens and cost: before a finished answer is stored, else once its stream is over, however it ended.
    let settle: SettleOnce
    /// Stores the finished answer; nil when the request said `store: false`.
    let keep: Keep?

    func whole(_ reply: ChatReply) async throws -> Response {
        try await SettledReply(reply: reply, settle: { await settle() }).drain()
        var output: [JSONValue] = reply.text.isEmpty ? [] : [Self.message(id: "msg_\(id)_0", text: reply.text, done: true)]
        for (index, call) in reply.toolCalls.enumerated() {
            output.append(Self.functionCall(id: "fc_\(id)_\(index)", callID: call.id, name: call.name, arguments: call.arguments, done: true))
        }
        return try JSONBody(await finished(reply.finishReason == .length ? .incomplete : .completed, output: output, reply: reply)).response()
    }

    /// The finished Response object, stored first when the request asks for it: its `store` says
    /// whether it was.
    func finished(_ status: StoredResponse.Status, output: [JSONValue], reply: ChatReply) async -> JSONValue {
        let object = response(status: status.rawValue, output: output, reply: reply, stored: keep != nil)
        guard let keep else { return object }
        return await keep(status, output, object) ? object : response(status: status.rawValue, output: output, reply: reply, stored: false)
    }

    /// The Response object; `reply` nil while it is still in progress. `stored`: whether it is
    /// (or, in progress, is to be) stored.
    func response(status: String, output: [JSONValue], reply: ChatReply?, stored: Bool) -> JSONValue {
        let tools: [JSONValue] = (request.tools ?? []).map { tool in
            .object(["type": .string(tool.type), "name": tool.name.map(JSONValue.string) ?? .null, "description": tool.description.map(JSONValue.string) ?? .null,
                     "parameters": tool.parameters ?? .null, "strict": tool.strict.map(JSONValue.bool) ?? .null])
        }
        return .object([
            "id": .string(id), "object": .string("response"), "created_at": .number(Double(created)), "status": .string(status),
            "error": .null, "incomplete_details": status == "incomplete" ? .object(["reason": .string("max_output_tokens")]) : .null,
            "model": .string(model), "instructions": request.instructions.map(JSONValue.string) ?? .null,
            "max_output_tokens": request.max_output_tokens.map { .number(Double($0)) } ?? .null,
            "parallel_tool_calls": .bool(request.parallel_tool_calls ?? true),
            "previous_response_id": request.previous_response_id.map(JSONValue.string) ?? .null,
            "reasoning": .object(["effort": .null, "summary": .null]), "store": .bool(stored),
            "temperature": .number(request.temperature ?? 1), "top_p": .number(request.top_p ?? 1),
            "text": .object(["format": .object(["type": .string(request.text?.format?.type ?? "text")]), "verbosity": .string("medium")]),
            "tool_choice": request.tool_choice ?? .string("auto"), "tools": .array(tools), "truncation": .string("disabled"),
            "user": request.user.map(JSONValue.string) ?? .null, "metadata": request.metadata ?? .object([:]),
            "output": .array(output), "usage": reply.map { Self.usage($0.tokens, costMicros: $0.costMicros) } ?? .null,
            "failover_from": reply?.admission.failoverFrom.map { .string($0.rawValue) } ?? .null,
        ])
    }

    static func message(id: String, text: String, done: Bool) -> JSONValue {
        .object(["id": .string(id), "type": .string("message"), "status": .string(done ? "completed" : "in_progress"), "role": .string("assistant"),
                 "content": .array(done ? [textPart(text)] : [])])
    }

    static func textPart(_ text: String) -> JSONValue {
        .object(["type": .string("output_text"), "text": .string(text), "annotations": .array([]), "logprobs": .array([])])
    }

    static func functionCall(id: String, callID: String, name: String, arguments: String, done: Bool) -> JSONValue {
        .object(["id": .string(id), "type": .string("function_call"), "status": .string(done ? "completed" : "in_progress"),
                 "call_id": .string(callID), "name": .string(name), "arguments": .string(arguments)])
    }

    /// The Responses API's usage, plus Modelgate's cost and estimate flag.
    static func usage(_ usage: TokenUsage, costMicros: Int) -> JSONValue {
        .object([
            "input_tokens": .number(Double(usage.inputTokens)),
            "input_tokens_details": .object(["cached_tokens": .number(Double(usage.cachedInputTokens)), "cache_write_tokens": .number(Double(usage.cacheWriteTokens))]),
            "output_tokens": .number(Double(usage.outputTokens)),
            "output_tokens_details": .object(["reasoning_tokens": .number(Double(usage.reasoningTokens))]),
            "total_tokens": .number(Double(usage.inputTokens + usage.outputTokens)),
            "cost_micros": .number(Double(costMicros)), "estimated": .bool(usage.estimated),
        ])
    }
}
