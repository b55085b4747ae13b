import Foundation
import HTTPTypes
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders
import NIOCore

/// Renders a reply in the Messages API's shapes: one message, or its event stream.
struct MessagesWriter: Sendable {
    let id: String
    let model: String
    /// Settles the call's tokens and cost once its stream is over, however it ended.
    let settle: @Sendable () async -> Void

    func whole(_ reply: ChatReply) async throws -> Response {
        try await SettledReply(reply: reply, settle: settle).drain()
        var content = reply.thinking.map(Self.block)
        if !reply.text.isEmpty { content.append(.object(["type": .string("text"), "text": .string(reply.text)])) }
        for call in reply.toolCalls {
            content.append(.object(["type": .string("tool_use"), "id": .string(Self.toolUseID(call.id)), "name": .string(call.name),
                                    "input": Self.input(call.arguments)]))
        }
        let body: JSONValue = .object([
            "id": .string(id), "type": .string("message"), "role": .string("assistant"), "model": .string(model), "content": .array(content),
            "stop_reason": .string(Self.stopReason(reply.finishReason ?? .stop)), "stop_sequence": .null,
            "usage": Self.usage(reply.tokens, costMicros: reply.costMicros),
            "failover_from": reply.admission.failoverFrom.map { .string($0.rawValue) } ?? .null,
        ])
        return try JSONBody(body).response()
    }

    /// The reply as Anthropic's events: `message_start`, a block per text run and tool call, then
    /// `message_delta` with the stop reason and usage, and `message_stop`; a failure after the
    /// first byte is an `error` event.
    func streaming(_ reply: ChatReply, shutdown: ShutdownState) -> Response {
        SettledReply(reply: reply, settle: settle).stream { writer in try await write(reply, shutdown: shutdown, to: &writer) }
    }

    private func write(_ reply: ChatReply, shutdown: ShutdownState, to writer: inout any ResponseBodyWriter) async throws {
        try await writer.write(event("message_start", ["message": .object([
            "id": .string(id), "type": .string("message"), "role": .string("assistant"), "model": .string(model), "content": .array([]),
            "stop_reason": .null, "stop_sequence": .null,
            "usage": .object(["input_tokens": .number(Double(reply.estimatedPromptTokens)), "output_tokens": .number(1)]),
        ])]))
        try await writer.write(event("ping", [:]))
        var blocks = BlockSequence()
        for await item in ReplyPump.allItems(of: reply, heartbeat: .seconds(1), shutdown: shutdown) {
            switch item {
            case .event(.thinking(let delta)):
                for (name, fields) in blocks.thinking(delta) { try await writer.write(event(name, fields)) }
            case .event(.delta(let text)):
                for (name, fields) in blocks.text(text) { try await writer.write(event(name, fields)) }
            case .event(.toolCall(let call)):
                for (name, fields) in blocks.toolCall(call) { try await writer.write(event(name, fields)) }
            case .event(.finish(let reason, _)):
                for (name, fields) in blocks.close() { try await writer.write(event(name, fields)) }
                try await writer.write(event("message_delta", [
                    "delta": .object(["stop_reason": .string(Self.stopReason(reason)), "stop_sequence": .null]),
                    "usage": Self.usage(reply.tokens, costMicros: reply.costMicros),
                ]))
                try await writer.write(event("message_stop", [:]))
            case .heartbeat: try await writer.write(event("ping", [:]))
            case .failed(let error):
                let failure = AnthropicError(Problem(error))
                try await writer.write(event("error", ["error": .object([
                    "type": .string(failure.type), "message": .string(failure.problem.detail), "code": .string(failure.problem.code),
                ])]))
                return
            }
        }
    }

    private func event(_ name: String, _ fields: [String: JSONValue]) -> ByteBuffer {
        var object = fields
        object["type"] = .string(name)
        return ByteBuffer(string: "event: \(name)\ndata: \(JSONValue.object(object).jsonText)\n\n")
    }

    static func stopReason(_ reason: FinishReason) -> String {
        switch reason {
        case .stop: "end_turn"
        case .length: "max_tokens"
        case .toolCalls: "tool_use"
        case .contentFilter: "refusal"
        }
    }

    /// Anthropic's usage (its input counts exclude cached tokens), plus Modelgate's cost and estimate flag.
    static func usage(_ usage: TokenUsage, costMicros: Int) -> JSONValue {
        .object([
            "input_tokens": .number(Double(max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens))),
            "output_tokens": .number(Double(usage.outputTokens)),
            "cache_read_input_tokens": .number(Double(usage.cachedInputTokens)),
            "cache_creation_input_tokens": .number(Double(usage.cacheWriteTokens)),
            "cost_micros": .number(Double(costMicros)), "estimated": .bool(usage.estimated),
        ])
    }

    /// A thinking block as Anthropic sends it, its signature intact.
    static func block(_ thinking: ThinkingBlock) -> JSONValue {
        switch thinking {
        case .thinking(let text, let signature): .object(["type": .string("thinking"), "thinking": .string(text), "signature": .string(signature)])
        case .redacted(let data): .object(["type": .string("redacted_thinking"), "data": .string(data)])
        }
    }

    /// Tool-use ids must match `^[a-zA-Z0-9_-]+$`; other providers mint other characters.
    static func toolUseID(_ id: String) -> String {
        let cleaned = String(id.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") ? $0 : "_" })
        return cleaned.isEmpty ? "toolu_0" : cleaned
    }

    /// A tool call's arguments as the `input` object; arguments that are not a JSON object are kept as text.
    static func input(_ arguments: String) -> JSONValue {
        if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(arguments.utf8)), case .object = value { return value }
        return arguments.isEmpty ? .object([:]) : .object(["arguments": .string(arguments)])
    }
}
