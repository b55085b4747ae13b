import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateProviders
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Testing

/// A `/api/chat` answer: a problem, or the reply's events.
public struct BudgetReply: Sendable {
    public let status: Int
    public let retryAfter: String?
    public let shouldRetry: String?
    public let problem: JSONValue?
    public let events: [(name: String?, data: JSONValue)]

    public init(status: Int, retryAfter: String?, shouldRetry: String?, problem: JSONValue?, events: [(name: String?, data: JSONValue)]) {
        self.status = status
        self.retryAfter = retryAfter
        self.shouldRetry = shouldRetry
        self.problem = problem
        self.events = events
    }

    public init(status: Int, contentType: String?, retryAfter: String?, shouldRetry: String?, body: ByteBuffer) {
        self.status = status
        self.retryAfter = retryAfter
        self.shouldRetry = shouldRetry
        if contentType == "application/problem+json" {
            problem = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body))
            events = []
        } else {
            problem = nil
            var parser = ServerSentEventParser()
            let parsed = parser.feed(body.readableBytesView) + [parser.finish()].compactMap { $0 }
            events = parsed.map { ($0.event, (try? JSONDecoder().decode(JSONValue.self, from: Data($0.data.utf8))) ?? .null) }
        }
    }

    public var done: JSONValue? { events.first { $0.name == "done" }?.data }
    public var errorEvent: JSONValue? { events.first { $0.name == "error" }?.data }
}
