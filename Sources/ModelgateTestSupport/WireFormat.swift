import Foundation

/// The bodies each provider sends, as in `shared/reference/wire-formats.md`.
enum WireFormat: Sendable, Equatable {
    case openAI, anthropic, gemini, geminiUnary

    private static func quoted(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]), as: UTF8.self)
            .dropFirst().dropLast().description
    }

    /// A streamed text reply; `usage` is reported in each provider's own way (Anthropic's input count
    /// excludes cache reads and writes, Gemini's candidates count excludes thoughts).
    func streamEvents(pieces: [String], finish: Bool, usage: FakeUsage = FakeProviderServer.usage, thinking: FakeAnthropic.Thinking = .none) -> [String] {
        switch self {
        case .openAI:
            let head = #"{"id":"chatcmpl-abc123","object":"chat.completion.chunk","created":1732406400,"model":"gpt-4o-mini-2024-07-18","choices":"#
            var events = ["data: \(head)[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n"]
            events += pieces.map { "data: \(head)[{\"index\":0,\"delta\":{\"content\":\(Self.quoted($0))},\"finish_reason\":null}],\"usage\":null}\n\n" }
            guard finish else { return events }
            events.append("data: \(head)[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n")
            events.append("data: \(head)[],\"usage\":{\"prompt_tokens\":\(usage.input),\"completion_tokens\":\(usage.output),\"total_tokens\":\(usage.input + usage.output),\"prompt_tokens_details\":{\"cached_tokens\":\(usage.cached)},\"completion_tokens_details\":{\"reasoning_tokens\":\(usage.thoughts)}}}\n\n")
            events.append("data: [DONE]\n\n")
            return events
        case .anthropic:
            let text = thinking == .none ? 0 : 1
            var events = [
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":\(usage.input - usage.cached - usage.cacheWrite),\"cache_creation_input_tokens\":\(usage.cacheWrite),\"cache_read_input_tokens\":\(usage.cached),\"output_tokens\":1}}}\n\n",
            ] + FakeAnthropic.events(thinking) + [
                "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":\(text),\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                "event: ping\ndata: {\"type\": \"ping\"}\n\n",
            ]
            events += pieces.map { "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":\(text),\"delta\":{\"type\":\"text_delta\",\"text\":\(Self.quoted($0))}}\n\n" }
            guard finish else { return events }
            events += [
                "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":\(text)}\n\n",
                "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":\(usage.output)}}\n\n",
                "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
            ]
            return events
        case .gemini, .geminiUnary:
            return pieces.enumerated().map { index, piece in
                let last = finish && index == pieces.count - 1
                let reason = last ? ",\"finishReason\":\"STOP\"" : ""
                let counts = last
                    ? "{\"promptTokenCount\":\(usage.input),\"candidatesTokenCount\":\(usage.output - usage.thoughts),\"cachedContentTokenCount\":\(usage.cached),\"thoughtsTokenCount\":\(usage.thoughts),\"totalTokenCount\":\(usage.input + usage.output)}"
                    : "{\"promptTokenCount\":\(usage.input),\"totalTokenCount\":\(usage.input)}"
                return "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\(Self.quoted(piece))}],\"role\":\"model\"}\(reason),\"index\":0}],\"usageMetadata\":\(counts),\"modelVersion\":\"gemini-1.5-pro\",\"responseId\":\"mJxCabc\"}\n\n"
            }
        }
    }

    /// One tool call streamed as the provider streams it (`../shared/reference/wire-formats-tools-images.md` §3):
    /// OpenAI and Anthropic send the arguments in two pieces, Gemini sends the whole call with a
    /// thought signature and says STOP.
    func toolCallEvents(name: String, arguments: String, thinking: FakeAnthropic.Thinking = .none) -> [String] {
        let usage = FakeProviderServer.usage
        let cut = arguments.index(arguments.startIndex, offsetBy: arguments.count / 2)
        let pieces = [String(arguments[..<cut]), String(arguments[cut...])]
        switch self {
        case .openAI:
            let head = #"{"id":"chatcmpl-abc123","object":"chat.completion.chunk","created":1732406400,"model":"gpt-4o-mini-2024-07-18","choices":"#
            func delta(_ delta: String, finish: String = "null") -> String {
                "data: \(head)[{\"index\":0,\"delta\":\(delta),\"finish_reason\":\(finish)}],\"usage\":null}\n\n"
            }
            return [delta(#"{"role":"assistant","content":null}"#),
                    delta(#"{"tool_calls":[{"index":0,"id":"call_fake1","type":"function","function":{"name":"\#(name)","arguments":""}}]}"#)]
                + pieces.map { delta(#"{"tool_calls":[{"index":0,"function":{"arguments":\#(Self.quoted($0))}}]}"#) }
                + [delta("{}", finish: #""tool_calls""#),
                   "data: \(head)[],\"usage\":{\"prompt_tokens\":\(usage.input),\"completion_tokens\":\(usage.output),\"total_tokens\":\(usage.input + usage.output)}}\n\n",
                   "data: [DONE]\n\n"]
        case .anthropic:
            let tool = thinking == .none ? 0 : 1
            return [
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01Tool\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":\(usage.input),\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n",
            ] + FakeAnthropic.events(thinking) + [
                "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":\(tool),\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01Fake\",\"name\":\"\(name)\",\"input\":{}}}\n\n",
            ] + pieces.map {
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":\(tool),\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\(Self.quoted($0))}}\n\n"
            } + [
                "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":\(tool)}\n\n",
                "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":\(usage.output)}}\n\n",
                "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
            ]
        case .gemini, .geminiUnary:
            return [
                "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"\(name)\",\"args\":\(arguments)},\"thoughtSignature\":\"\(Self.thoughtSignature)\"}]},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":\(usage.input),\"totalTokenCount\":\(usage.input)}}\n\n",
                "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"\"}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":\(usage.input),\"candidatesTokenCount\":\(usage.output),\"totalTokenCount\":\(usage.input + usage.output)},\"modelVersion\":\"gemini-1.5-pro\",\"responseId\":\"r1\"}\n\n",
            ]
        }
    }

    /// The signature the fake Gemini puts beside its function calls (checked when it comes back).
    static let thoughtSignature = "CiQB0e2Kbw=="

    func unary(_ text: String, usage: FakeUsage = FakeProviderServer.usage, thinking: FakeAnthropic.Thinking = .none) -> String {
        switch self {
        case .openAI:
            return "{\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion\",\"created\":1732406400,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\(Self.quoted(text)),\"refusal\":null,\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":\(usage.input),\"completion_tokens\":\(usage.output),\"total_tokens\":\(usage.input + usage.output)},\"system_fingerprint\":\"fp_0ba0d124f1\"}"
        case .anthropic:
            return "{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[\(FakeAnthropic.block(thinking)){\"type\":\"text\",\"text\":\(Self.quoted(text))}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":\(usage.input - usage.cached - usage.cacheWrite),\"cache_creation_input_tokens\":\(usage.cacheWrite),\"cache_read_input_tokens\":\(usage.cached),\"output_tokens\":\(usage.output)}}"
        case .gemini, .geminiUnary:
            return "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\(Self.quoted(text))}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":\(usage.input),\"candidatesTokenCount\":\(usage.output),\"totalTokenCount\":\(usage.input + usage.output)},\"modelVersion\":\"gemini-1.5-pro\"}"
        }
    }

    func errorBody(status: Int, message: String? = nil) -> String {
        let message = Self.quoted(message ?? "fake \(status)")
        switch self {
        case .openAI:
            let (type, code) = status == 429 ? ("requests", "rate_limit_exceeded") : status >= 500 ? ("server_error", "server_error") : ("invalid_request_error", "invalid")
            return "{\"error\":{\"message\":\(message),\"type\":\"\(type)\",\"param\":null,\"code\":\"\(code)\"}}"
        case .anthropic:
            let type = switch status {
            case 429: "rate_limit_error"
            case 529: "overloaded_error"
            case 500...: "api_error"
            default: "invalid_request_error"
            }
            return "{\"type\":\"error\",\"error\":{\"type\":\"\(type)\",\"message\":\(message)},\"request_id\":\"req_011fake\"}"
        case .gemini, .geminiUnary:
            let name = switch status {
            case 429: "RESOURCE_EXHAUSTED"
            case 503: "UNAVAILABLE"
            case 500...: "INTERNAL"
            default: "INVALID_ARGUMENT"
            }
            return "{\"error\":{\"code\":\(status),\"message\":\(message),\"status\":\"\(name)\"}}"
        }
    }
}
