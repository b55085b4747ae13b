import Foundation
import HTTPTypes
import Hummingbird
import ModelgateCore
import NIOConcurrencyHelpers
import NIOCore

/// A loopback PostHog for `POST /batch/` (wire-formats.md §5): checks each batch's shape, records
/// every event it accepted by `uuid` (a re-sent event counts as a duplicate), and can be switched
/// down (503 for every request) and up again. Checked with the official `posthog` SDK.
public final class FakePostHogServer: Sendable {
    public struct Event: Sendable, Equatable {
        public let uuid: String
        public let event: String
        public let distinctID: String
        public let properties: [String: JSONValue]
        public let timestamp: String
    }

    struct State: Sendable {
        var received: [Event] = []
        var apiKeys: Set<String> = []
        var down = false
        var refused = 0
        var rejected: [String] = []
    }

    private let state: NIOLockedValueBox<State>
    private let server: LoopbackServer
    public var baseURL: String { server.baseURL }

    private init(state: NIOLockedValueBox<State>, server: LoopbackServer) {
        self.state = state
        self.server = server
    }

    public static func start() async throws -> FakePostHogServer {
        let state = NIOLockedValueBox(State())
        let router = Router()
        router.post("batch") { request, _ in
            if state.withLockedValue({ $0.down }) {
                state.withLockedValue { $0.refused += 1 }
                return Self.json(.serviceUnavailable, #"{"detail": "service unavailable"}"#)
            }
            let body = try await request.body.collect(upTo: 5 << 20)
            switch Self.parse(Data(buffer: body)) {
            case .success(let (key, events)):
                state.withLockedValue {
                    $0.apiKeys.insert(key)
                    $0.received += events
                }
                return Self.json(.ok, #"{"status": 1}"#)
            case .failure(let problem):
                state.withLockedValue { $0.rejected.append(problem.reason) }
                return Self.json(.badRequest, #"{"type": "validation_error", "detail": "\#(problem.reason)"}"#)
            }
        }
        return FakePostHogServer(state: state, server: try await LoopbackServer.start(router))
    }

    public func stop() async { await server.stop() }

    /// While down, every request answers 503 and nothing is recorded.
    public func setDown(_ down: Bool) { state.withLockedValue { $0.down = down } }

    /// Every accepted event, duplicates included, in arrival order.
    public var received: [Event] { state.withLockedValue { $0.received } }
    /// One event per `uuid` (the first), in arrival order: what PostHog keeps.
    public var events: [Event] {
        var seen = Set<String>()
        return received.filter { seen.insert($0.uuid).inserted }
    }
    /// Accepted events whose `uuid` had arrived before.
    public var duplicates: Int { received.count - events.count }
    public var apiKeys: Set<String> { state.withLockedValue { $0.apiKeys } }
    /// Requests answered 503 while down.
    public var refusedWhileDown: Int { state.withLockedValue { $0.refused } }
    /// Why batches were answered 400.
    public var rejected: [String] { state.withLockedValue { $0.rejected } }

    struct Invalid: Error { let reason: String }

    static func parse(_ data: Data) -> Result<(String, [Event]), Invalid> {
        guard case .object(let root)? = try? JSONDecoder().decode(JSONValue.self, from: data) else { return .failure(Invalid(reason: "body is not a JSON object")) }
        guard let key = root["api_key"]?.stringValue, !key.isEmpty else { return .failure(Invalid(reason: "api_key is missing")) }
        guard case .array(let batch)? = root["batch"], !batch.isEmpty else { return .failure(Invalid(reason: "batch is missing or empty")) }
        var events: [Event] = []
        for item in batch {
            guard let name = item["event"]?.stringValue, !name.isEmpty else { return .failure(Invalid(reason: "an event has no name")) }
            guard let distinct = item["distinct_id"]?.stringValue, !distinct.isEmpty else { return .failure(Invalid(reason: "\(name) has no distinct_id")) }
            guard case .object(let properties)? = item["properties"] else { return .failure(Invalid(reason: "\(name) has no properties object")) }
            guard let uuid = item["uuid"]?.stringValue, UUID(uuidString: uuid) != nil else { return .failure(Invalid(reason: "\(name) has no uuid")) }
            guard let timestamp = item["timestamp"]?.stringValue, isISO8601(timestamp) else {
                return .failure(Invalid(reason: "\(name) has no ISO 8601 timestamp"))
            }
            events.append(Event(uuid: uuid, event: name, distinctID: distinct, properties: properties, timestamp: timestamp))
        }
        return .success((key, events))
    }

    /// With or without fractional seconds, `Z` or an offset (the Python SDK sends `+00:00`).
    static func isISO8601(_ text: String) -> Bool {
        [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]].contains { (options: ISO8601DateFormatter.Options) in
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            return formatter.date(from: text) != nil
        }
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
