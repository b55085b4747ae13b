import Foundation
import HTTPTypes
import Hummingbird
import ModelgateCore

/// An RFC 9457 problem document with Modelgate's stable `code`.
public struct Problem: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var title: String
    public var detail: String
    public var extra: [String: JSONValue] = [:]
    public var headers: HTTPFields = [:]
    /// An error no domain rule describes (a bug or an outage): logged with its details.
    public var isUnexpected = false

    public init(status: HTTPResponse.Status, code: String, title: String, detail: String, extra: [String: JSONValue] = [:],
                headers: HTTPFields = [:], isUnexpected: Bool = false) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra
        self.headers = headers
        self.isUnexpected = isUnexpected
    }

    /// The problem document as JSON bytes.
    public func body(requestID: String) -> Data {
        var body: [String: JSONValue] = extra
        body["type"] = .string("about:blank")
        body["title"] = .string(title)
        body["status"] = .number(Double(status.code))
        body["detail"] = .string(detail)
        body["code"] = .string(code)
        body["requestId"] = .string(requestID)
        return (try? JSONEncoder.sorted.encode(JSONValue.object(body))) ?? Data()
    }

    public func response(requestID: String) -> Response {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body(requestID: requestID))))
    }
}

extension JSONEncoder {
    public static let sorted: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
}

/// OpenAI's error envelope for a problem: `{"error": {"message", "type", "param", "code"}}`.
public struct OpenAIError {
    public let problem: Problem

    public init(_ problem: Problem) { self.problem = problem }

    public var envelope: JSONValue {
        let type: String = switch problem.status.code {
        case 401: "authentication_error"
        case 402: "insufficient_quota"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
        return .object(["error": .object([
            "message": .string(problem.detail), "type": .string(type), "param": problem.extra["field"] ?? .null, "code": .string(problem.code),
        ])])
    }

    public func response(requestID: String) -> Response {
        var headers = problem.headers
        headers[.contentType] = "application/json"
        headers[.init("x-request-id")!] = requestID
        let data = (try? JSONEncoder.sorted.encode(envelope)) ?? Data()
        return Response(status: problem.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    public static let requestID = Self("X-Request-Id")!
    public static let shouldRetry = Self("x-should-retry")!
}
