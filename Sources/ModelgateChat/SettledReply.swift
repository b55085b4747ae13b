import Hummingbird
import ModelgateHTTP
import NIOConcurrencyHelpers

/// A reply every front door renders, settled once however it ends: after the whole reply was read,
/// or after its stream ended, failed or lost its client.
struct SettledReply: Sendable {
    let reply: ChatReply
    /// Settles the call's tokens and cost.
    let settle: @Sendable () async -> Void

    /// Reads the whole reply, then settles it (also when reading failed).
    func drain() async throws {
        do {
            while try await reply.next() != nil {}
        } catch {
            await settle()
            throw error
        }
        await settle()
    }

    /// An event stream whose body `write` renders; settled when it ends.
    func stream(_ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { [settle] writer in
                do {
                    try await write(&writer)
                } catch {
                    // The client went away: what was delivered is still settled.
                    await settle()
                    throw error
                }
                await settle()
                try await writer.finish(nil)
            })
    }
}

/// A settlement that runs once, however many times it is asked for: a stored response settles
/// before it is stored, and the end of its stream then finds it done.
final class SettleOnce: Sendable {
    private let settle: @Sendable () async -> Void
    private let done = NIOLockedValueBox(false)

    init(_ settle: @escaping @Sendable () async -> Void) { self.settle = settle }

    func callAsFunction() async {
        let first = done.withLockedValue { done in
            defer { done = true }
            return !done
        }
        if first { await settle() }
    }
}
