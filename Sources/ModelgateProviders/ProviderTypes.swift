import Foundation
import ModelgateCore

/// One turn of a conversation as providers see it.
public struct ChatTurn: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case user, assistant }
    public let role: Role
    public let text: String

    public init(role: Role, text: String) {
        self.role = role
        self.text = text
    }
}

/// What Modelgate asks a provider for: a streamed reply to `turns`.
public struct ProviderRequest: Sendable, Equatable {
    public let providerModelID: String
    public let system: String?
    public let turns: [ChatTurn]
    /// Opaque id of the end user, for the provider's abuse monitoring.
    public let endUserID: String
    public let maxOutputTokens: Int

    public init(providerModelID: String, system: String?, turns: [ChatTurn], endUserID: String, maxOutputTokens: Int = 1024) {
        self.providerModelID = providerModelID
        self.system = system
        self.turns = turns
        self.endUserID = endUserID
        self.maxOutputTokens = maxOutputTokens
    }
}

public struct TokenUsage: Sendable, Equatable, Codable {
    public var inputTokens: Int
    public var outputTokens: Int

    public init(inputTokens: Int = 0, outputTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

public enum ProviderEvent: Sendable, Equatable {
    case delta(String)
    /// The last event of a complete reply.
    case finish(reason: String, usage: TokenUsage)
}

/// Why a provider call failed, without the provider's raw body or our key.
public enum ProviderError: Error, Sendable, Equatable {
    case notConfigured(Provider)
    case rateLimited(retryAfter: TimeInterval?)
    /// 5xx, 529, a timeout or a connection failure: worth a retry.
    case unavailable(reason: String)
    /// Anything else the provider refused (4xx, a malformed stream).
    case failed(status: Int, reason: String)

    public var isRetryable: Bool {
        switch self {
        case .rateLimited, .unavailable: true
        case .notConfigured, .failed: false
        }
    }
}

/// A reply as a stream of text deltas ending with `.finish`.
public typealias ProviderStream = AsyncThrowingStream<ProviderEvent, any Error>

/// One provider's wire format.
public protocol ChatProvider: Sendable {
    func stream(_ request: ProviderRequest) -> ProviderStream
}
