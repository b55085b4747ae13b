import Foundation
import Hummingbird
import ModelgateCore
import NIOCore

extension Request {
    /// Decodes a JSON body of at most `limit` bytes; a decoding failure names the field.
    /// The body as `T`; times are ISO 8601 (`2026-12-07T00:00:00Z`), as every Modelgate answer writes them.
    public func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        let buffer = try await collectBody(limit: limit)
        guard buffer.readableBytes > 0 else { throw ModelgateError.invalidBody(field: "body", reason: "is empty; send a JSON object") }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw Problem(decodingError: error)
        }
    }

    /// The whole body, refused with 413 past `limit` bytes.
    public func collectBody(limit: Int) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ModelgateError.bodyTooLarge(limit: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ModelgateError.bodyTooLarge(limit: limit)
        }
    }
}

extension Parameters {
    public func model() throws -> ModelID { ModelID(try require("id")) }
}

/// A JSON body answered with status 200 and `application/json`.
public struct JSONBody<Value: Encodable & Sendable>: ResponseGenerator {
    public let value: Value
    public var status: HTTPResponse.Status = .ok

    public init(_ value: Value, status: HTTPResponse.Status = .ok) {
        self.value = value
        self.status = status
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response { try response() }

    public func response() throws -> Response {
        let data = try JSONEncoder.sorted.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
