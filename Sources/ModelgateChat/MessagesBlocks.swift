import ModelgateCore
import ModelgateProviders

/// The content blocks of a streamed message: a thinking block per block Anthropic thought, a text
/// block per run of text, a `tool_use` block per call, each opened before its deltas and closed
/// before the next opens.
struct BlockSequence {
    enum Open { case thinking, text, tool(Int) }

    private var open: Open?
    private var next = 0
    typealias Event = (String, [String: JSONValue])

    mutating func text(_ text: String) -> [Event] {
        var events: [Event] = []
        if case .text? = open {} else {
            events += close()
            events.append(("content_block_start", ["index": index(), "content_block": .object(["type": .string("text"), "text": .string("")])]))
            open = .text
        }
        events.append(("content_block_delta", ["index": current(), "delta": .object(["type": .string("text_delta"), "text": .string(text)])]))
        return events
    }

    /// Thinking as Anthropic streams it: `thinking_delta`s, then the whole signature in one `signature_delta`.
    mutating func thinking(_ delta: ThinkingDelta) -> [Event] {
        var events: [Event] = []
        switch delta {
        case .redacted(let data):
            events += close()
            events.append(("content_block_start", ["index": index(), "content_block": .object(["type": .string("redacted_thinking"), "data": .string(data)])]))
            // Sent whole: closed at once.
            events.append(("content_block_stop", ["index": current()]))
            return events
        case .start: events += close()
        case .text, .signature: break
        }
        if case .thinking? = open {} else {
            events += close()
            events.append(("content_block_start", ["index": index(), "content_block": .object([
                "type": .string("thinking"), "thinking": .string(""), "signature": .string(""),
            ])]))
            open = .thinking
        }
        switch delta {
        case .text(let text):
            events.append(("content_block_delta", ["index": current(), "delta": .object(["type": .string("thinking_delta"), "thinking": .string(text)])]))
        case .signature(let signature):
            events.append(("content_block_delta", ["index": current(), "delta": .object(["type": .string("signature_delta"), "signature": .string(signature)])]))
        case .start, .redacted: break
        }
        return events
    }

    mutating func toolCall(_ call: ToolCallDelta) -> [Event] {
        var events: [Event] = []
        if case .tool(call.index)? = open {} else {
            events += close()
            events.append(("content_block_start", ["index": index(), "content_block": .object([
                "type": .string("tool_use"), "id": .string(MessagesWriter.toolUseID(call.id ?? "toolu_\(call.index)")),
                "name": .string(call.name ?? ""), "input": .object([:]),
            ])]))
            open = .tool(call.index)
        }
        if !call.arguments.isEmpty {
            events.append(("content_block_delta", ["index": current(), "delta": .object([
                "type": .string("input_json_delta"), "partial_json": .string(call.arguments),
            ])]))
        }
        return events
    }

    mutating func close() -> [Event] {
        guard open != nil else { return [] }
        open = nil
        return [("content_block_stop", ["index": .number(Double(next - 1))])]
    }

    /// Opens the next block's index.
    private mutating func index() -> JSONValue {
        next += 1
        return current()
    }

    private func current() -> JSONValue { .number(Double(next - 1)) }
}
