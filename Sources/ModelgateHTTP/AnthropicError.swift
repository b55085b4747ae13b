import Foundation
import HTTPTypes
import Hummingbird
import ModelgateCore
import NIOCore

/// Anthropic's error envelope for a problem: `{"type": "error", "error": {"type", "message", "code"},
/// "request_id"}`, with its type by status so the `anthropic` SDKs raise their usual exceptions;
/// `code` is Modelgate's stable problem code.
public struct AnthropicError {
    public let problem: Problem

    public init(_ problem: Problem) { self.problem = problem }

    public var type: String {
        switch problem.status.code {
        case 401: "authentication_error"
        case 402: "billing_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 504: "timeout_error"
        case 503, 529: "overloaded_error"
        case 500...: "api_error"
        default: "invalid_request_error"
        }
    }

    /// Anthropic answers an overload with 529, which its SDKs raise as `OverloadedError`.
    public var status: HTTPResponse.Status {
        problem.status == .serviceUnavailable ? HTTPResponse.Status(code: 529, reasonPhrase: "Overloaded") : problem.status
    }

    public func envelope(requestID: String) -> JSONValue {
        .object([
            "type": .string("error"),
            "error": .object(["type": .string(type), "message": .string(problem.detail), "code": .string(problem.code)]),
            "request_id": .string(requestID),
        ])
    }

    public func response(requestID: String) -> Response {
        var headers = problem.headers
        headers[.contentType] = "application/json"
        headers[.init("request-id")!] = requestID
        let data = (try? JSONEncoder.sorted.encode(envelope(requestID: requestID))) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Whether a request speaks the Messages API, so its errors take this envelope.
    public static func applies(to request: Request) -> Bool {
        request.uri.path.hasPrefix("/v1/messages")
            || (request.uri.path.hasPrefix("/v1/") && (request.headers[.init("anthropic-version")!] != nil || request.headers[.init("x-api-key")!] != nil))
    }
}
