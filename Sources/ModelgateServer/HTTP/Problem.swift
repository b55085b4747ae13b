import Foundation
import HTTPTypes
import Hummingbird
import ModelgateCore

/// An RFC 9457 problem document with Modelgate's stable `code`.
struct Problem: Error, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var title: String
    var detail: String
    var extra: [String: JSONValue] = [:]
    var headers: HTTPFields = [:]
    /// An error no domain rule describes (a bug or an outage): logged with its details.
    var isUnexpected = false

    /// The problem document as JSON bytes.
    func body(requestID: String) -> Data {
        var body: [String: JSONValue] = extra
        body["type"] = .string("about:blank")
        body["title"] = .string(title)
        body["status"] = .number(Double(status.code))
        body["detail"] = .string(detail)
        body["code"] = .string(code)
        body["requestId"] = .string(requestID)
        return (try? JSONEncoder.sorted.encode(JSONValue.object(body))) ?? Data()
    }

    func response(requestID: String) -> Response {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body(requestID: requestID))))
    }
}

extension JSONEncoder {
    static let sorted: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
}

/// OpenAI's error envelope for a problem: `{"error": {"message", "type", "param", "code"}}`.
struct OpenAIError {
    let problem: Problem

    init(_ problem: Problem) { self.problem = problem }

    var envelope: JSONValue {
        let type: String = switch problem.status.code {
        case 401: "authentication_error"
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

    func response(requestID: String) -> Response {
        var headers = problem.headers
        headers[.contentType] = "application/json"
        headers[.init("x-request-id")!] = requestID
        let data = (try? JSONEncoder.sorted.encode(envelope)) ?? Data()
        return Response(status: problem.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
    static let shouldRetry = Self("x-should-retry")!
}
