import Foundation
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders
import NIOCore

extension ResponsesWriter {
    /// The reply as the Responses API's events: `response.created`, `response.in_progress`, an
    /// output item per text run and function call (added, its deltas, done), then
    /// `response.completed` (or `.incomplete`) with the whole output and usage; a failure after the
    /// first byte is `response.failed`. Every event carries its `sequence_number`.
    /// A stored answer is settled and stored before its last event, so a client may continue it
    /// as soon as it has read `response.completed`.
    func streaming(_ reply: ChatReply, shutdown: ShutdownState) -> Response {
        SettledReply(reply: reply, settle: { await settle() }).stream { writer in try await write(reply, shutdown: shutdown, to: &writer) }
    }

    private func write(_ reply: ChatReply, shutdown: ShutdownState, to writer: inout any ResponseBodyWriter) async throws {
        var items = OutputItems(responseID: id)
        func send(_ events: [OutputItems.Event]) async throws {
            for (name, fields) in events { try await writer.write(items.line(name, fields)) }
        }
        let started = response(status: "in_progress", output: [], reply: nil, stored: keep != nil)
        try await send([("response.created", ["response": started]), ("response.in_progress", ["response": started])])
        for await item in ReplyPump.items(of: reply, heartbeat: .seconds(1), shutdown: shutdown) {
            switch item {
            case .event(.delta(let text)): try await send(items.text(text))
            case .event(.toolCall(let call)): try await send(items.toolCall(call))
            case .event(.finish(let reason, _)):
                try await send(items.close())
                await settle()
                let status: StoredResponse.Status = reason == .length ? .incomplete : .completed
                let final = await finished(status, output: items.done, reply: reply)
                try await send([("response.\(status.rawValue)", ["response": final])])
            case .heartbeat: try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
            case .failed(let error):
                let problem = Problem(error)
                try await send(items.close())
                var failed = response(status: "failed", output: items.done, reply: reply, stored: false)
                if case .object(var fields) = failed {
                    fields["error"] = .object(["code": .string(problem.code), "message": .string(problem.detail)])
                    failed = .object(fields)
                }
                try await send([("response.failed", ["response": failed])])
                return
            }
        }
    }
}

/// The output items of a streamed response: a message item per run of text, a `function_call`
/// item per call, each added before its deltas and done before the next is added.
struct OutputItems {
    typealias Event = (String, [String: JSONValue])
    enum Open {
        case text(id: String, text: String)
        case call(index: Int, id: String, callID: String, name: String, arguments: String)
    }

    let responseID: String
    private(set) var done: [JSONValue] = []
    private var open: Open?
    private var sequence = 0

    init(responseID: String) { self.responseID = responseID }

    mutating func line(_ name: String, _ fields: [String: JSONValue]) -> ByteBuffer {
        var object = fields
        object["type"] = .string(name)
        object["sequence_number"] = .number(Double(sequence))
        sequence += 1
        return ByteBuffer(string: "event: \(name)\ndata: \(JSONValue.object(object).jsonText)\n\n")
    }

    mutating func text(_ delta: String) -> [Event] {
        var events: [Event] = []
        if case .text(let id, let text)? = open {
            open = .text(id: id, text: text + delta)
        } else {
            events += close()
            let id = "msg_\(responseID)_\(done.count)"
            events.append(("response.output_item.added", ["output_index": index, "item": ResponsesWriter.message(id: id, text: "", done: false)]))
            events.append(("response.content_part.added", ["item_id": .string(id), "output_index": index, "content_index": .number(0),
                                                            "part": ResponsesWriter.textPart("")]))
            open = .text(id: id, text: delta)
        }
        guard case .text(let id, _)? = open else { return events }
        events.append(("response.output_text.delta", ["item_id": .string(id), "output_index": index, "content_index": .number(0),
                                                       "delta": .string(delta), "logprobs": .array([])]))
        return events
    }

    mutating func toolCall(_ delta: ToolCallDelta) -> [Event] {
        var events: [Event] = []
        if case .call(delta.index, let id, let callID, let name, let arguments)? = open {
            open = .call(index: delta.index, id: id, callID: callID, name: name, arguments: arguments + delta.arguments)
        } else {
            events += close()
            let id = "fc_\(responseID)_\(done.count)"
            let callID = delta.id ?? "call_\(responseID)_\(done.count)"
            events.append(("response.output_item.added", ["output_index": index, "item": ResponsesWriter.functionCall(
                id: id, callID: callID, name: delta.name ?? "", arguments: "", done: false)]))
            open = .call(index: delta.index, id: id, callID: callID, name: delta.name ?? "", arguments: delta.arguments)
        }
        guard case .call(_, let id, _, _, _)? = open, !delta.arguments.isEmpty else { return events }
        events.append(("response.function_call_arguments.delta", ["item_id": .string(id), "output_index": index, "delta": .string(delta.arguments)]))
        return events
    }

    /// Finishes the open item: its done events, and the item into `done`.
    mutating func close() -> [Event] {
        defer { open = nil }
        switch open {
        case nil: return []
        case .text(let id, let text)?:
            let item = ResponsesWriter.message(id: id, text: text, done: true)
            let events: [Event] = [
                ("response.output_text.done", ["item_id": .string(id), "output_index": index, "content_index": .number(0), "text": .string(text),
                                               "logprobs": .array([])]),
                ("response.content_part.done", ["item_id": .string(id), "output_index": index, "content_index": .number(0),
                                                "part": ResponsesWriter.textPart(text)]),
                ("response.output_item.done", ["output_index": index, "item": item]),
            ]
            done.append(item)
            return events
        case .call(_, let id, let callID, let name, let arguments)?:
            let item = ResponsesWriter.functionCall(id: id, callID: callID, name: name, arguments: arguments, done: true)
            let events: [Event] = [
                ("response.function_call_arguments.done", ["item_id": .string(id), "output_index": index, "arguments": .string(arguments)]),
                ("response.output_item.done", ["output_index": index, "item": item]),
            ]
            done.append(item)
            return events
        }
    }

    /// The open item's position in the output.
    private var index: JSONValue { .number(Double(done.count)) }
}
