import Hummingbird
import ModelgateHTTP

/// Answers a chat call in a child task. Swift keeps the memory a task's deepest call chain took
/// (its allocator's slabs) until the task ends; the connection's task then writes the stream for
/// minutes. Authentication, limits, selection, the charge and the provider call run here and give
/// their memory back when the response is ready (`scripts/bench memory`: 108 → 82 KB per open
/// stream; no change in `scripts/bench peers`). Attached to the chat routes only.
struct ChildTaskMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The child ends before this returns (`async let` is structured), so `next` never outlives it.
        return try await withoutActuallyEscaping(next) { next in
            let handler = UncheckedSendable(next)
            async let response = handler.value(request, context)
            return try await response
        }
    }
}

/// A value handed to a structured child task that is awaited before the value's scope ends.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
