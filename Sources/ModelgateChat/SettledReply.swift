import Hummingbird
import ModelgateHTTP

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
