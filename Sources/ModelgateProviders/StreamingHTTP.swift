import AsyncHTTPClient
import Foundation
import ModelgateCore
import NIOCore
import NIOHTTP1

/// Connect, first-byte and idle timeouts for provider calls.
public struct ProviderTimeouts: Sendable, Equatable {
    public var connect: TimeAmount
    public var firstByte: TimeAmount
    /// The longest silence allowed between two chunks of a stream.
    public var idle: TimeAmount

    public init(connect: TimeAmount = .seconds(5), firstByte: TimeAmount = .seconds(30), idle: TimeAmount = .seconds(30)) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
    }
}

/// Turns one provider's SSE events into `ProviderEvent`s.
protocol StreamTranslator: Sendable {
    init()
    mutating func translate(_ event: ServerSentEvent) throws -> [ProviderEvent]
    /// Called at end of body: a complete reply yields its `.finish`, a cut one throws.
    mutating func end() throws -> [ProviderEvent]
}

/// Reads a provider's error body for a short, key-free reason; never passed on verbatim.
protocol ErrorBodyReader: Sendable {
    static func reason(status: Int, body: Data) -> String
}

/// POSTs JSON to a provider and streams its SSE reply through a translator.
struct StreamingHTTP: Sendable {
    let client: HTTPClient
    let timeouts: ProviderTimeouts

    func stream<Translator: StreamTranslator, Errors: ErrorBodyReader>(
        url: String, headers: HTTPHeaders, body: Data, translator: Translator.Type, errors: Errors.Type
    ) -> ProviderStream {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let response = try await client.execute(Self.request(url: url, headers: headers, body: body), timeout: timeouts.firstByte)
                    guard (200..<300).contains(response.status.code) else {
                        let text = (try? await response.body.collect(upTo: 64 * 1024)).map { Data($0.readableBytesView) } ?? Data()
                        throw Self.classify(status: Int(response.status.code), headers: response.headers,
                                            reason: Errors.reason(status: Int(response.status.code), body: text))
                    }
                    var parser = ServerSentEventParser()
                    var translator = Translator()
                    for try await chunk in response.body {
                        for event in parser.feed(chunk.readableBytesView) {
                            for output in try translator.translate(event) { continuation.yield(output) }
                        }
                    }
                    if let last = parser.finish() {
                        for output in try translator.translate(last) { continuation.yield(output) }
                    }
                    for output in try translator.end() { continuation.yield(output) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: Self.providerError(error))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// POSTs JSON and reads the whole reply (at most `limit` bytes): for calls that do not stream.
    func post<Errors: ErrorBodyReader>(url: String, headers: HTTPHeaders, body: Data, errors: Errors.Type, limit: Int) async throws -> Data {
        do {
            let response = try await client.execute(Self.request(url: url, headers: headers, body: body), timeout: timeouts.firstByte)
            let reply = Data(try await response.body.collect(upTo: limit).readableBytesView)
            guard (200..<300).contains(response.status.code) else {
                throw Self.classify(status: Int(response.status.code), headers: response.headers,
                                    reason: Errors.reason(status: Int(response.status.code), body: reply))
            }
            return reply
        } catch is NIOTooManyBytesError {
            throw ProviderError.failed(status: 200, reason: "reply larger than \(limit) bytes")
        } catch {
            throw Self.providerError(error)
        }
    }

    private static func request(url: String, headers: HTTPHeaders, body: Data) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    static func classify(status: Int, headers: HTTPHeaders, reason: String) -> ProviderError {
        switch status {
        case 429: .rateLimited(retryAfter: retryAfter(headers))
        case 408, 500..., 529: .unavailable(reason: "HTTP \(status) \(reason)")
        default: .failed(status: status, reason: "HTTP \(status) \(reason)")
        }
    }

    /// `retry-after-ms`, else `retry-after` in seconds.
    /// Only a finite, non-negative number counts: `-inf` or `nan` from a provider is no delay to honour.
    static func retryAfter(_ headers: HTTPHeaders) -> TimeInterval? {
        func seconds(_ name: String, scale: Double) -> TimeInterval? {
            headers.first(name: name).flatMap(Double.init).map { $0 / scale }.flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
        }
        return seconds("retry-after-ms", scale: 1000) ?? seconds("retry-after", scale: 1)
    }

    static func providerError(_ error: any Error) -> any Error {
        switch error {
        case let error as ProviderError: return error
        case is CancellationError: return error
        case let error as HTTPClientError where error == .cancelled: return CancellationError()
        case let error as HTTPClientError where error == .readTimeout || error == .deadlineExceeded:
            return ProviderError.unavailable(reason: "timed out")
        default: return ProviderError.unavailable(reason: "connection failed")
        }
    }
}

enum ProviderJSON {
    static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    static func encode(_ object: [String: Any]) -> Data {
        Data((JSONValue(foundation: object)?.jsonText ?? "{}").utf8)
    }

    /// `error.type`, `error.status` or `error.code` of a provider's error envelope; "" when the body is none.
    static func errorKind(_ body: Data) -> String {
        (try? JSONDecoder().decode(WireErrorEnvelope.self, from: body))?.error?.kind ?? ""
    }
}

struct EnvelopeErrors: ErrorBodyReader {
    static func reason(status: Int, body: Data) -> String { ProviderJSON.errorKind(body) }
}

