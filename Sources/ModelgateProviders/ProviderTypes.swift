import Foundation
import ModelgateCore

/// What Modelgate asks a provider for: a streamed reply to `messages`, with everything the client
/// asked for (tools, structured output, sampling). Each adapter translates all of it or refuses it.
public struct ProviderRequest: Sendable, Equatable {
    public var providerModelID: String
    public var system: String?
    public var messages: [ChatMessage]
    /// Opaque id of the end user, for the provider's abuse monitoring.
    public var endUserID: String
    public var options: GenerationOptions
    public var tools: [ToolDefinition]
    public var toolChoice: ToolChoice?
    public var parallelToolCalls: Bool?
    public var responseFormat: ResponseFormat?
    /// Anthropic's beta features the client asked for (`anthropic-beta`), forwarded to Anthropic only.
    public var anthropicBeta: String?
    /// Thinking and cache marks, which only Anthropic takes.
    public var anthropic = AnthropicExtras()

    public init(providerModelID: String, system: String?, messages: [ChatMessage], endUserID: String, options: GenerationOptions = .init(),
                tools: [ToolDefinition] = [], toolChoice: ToolChoice? = nil, parallelToolCalls: Bool? = nil, responseFormat: ResponseFormat? = nil) {
        self.providerModelID = providerModelID
        self.system = system
        self.messages = messages
        self.endUserID = endUserID
        self.options = options
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.responseFormat = responseFormat
    }
}

/// A call's tokens as its provider reported them (prompt counts include cached and cache-written tokens).
public typealias TokenUsage = TurnTokens

/// Why a reply ended, in OpenAI's words (each adapter maps its provider's reasons).
public enum FinishReason: String, Sendable, Equatable, Codable {
    case stop, length
    case toolCalls = "tool_calls"
    case contentFilter = "content_filter"
}

/// A piece of a streamed tool call, numbered from 0 in the order calls appear. `id` and `name` come
/// in a call's first piece only; `arguments` pieces concatenate.
public struct ToolCallDelta: Sendable, Equatable {
    public var index: Int
    public var id: String?
    public var name: String?
    public var arguments: String

    public init(index: Int, id: String? = nil, name: String? = nil, arguments: String) {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

public enum ProviderEvent: Sendable, Equatable {
    case delta(String)
    case toolCall(ToolCallDelta)
    /// Anthropic's extended thinking, sent only when the request asked for it.
    case thinking(ThinkingDelta)
    /// The last event of a complete reply.
    case finish(reason: FinishReason, usage: TokenUsage)
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

/// A reply as a stream of text and tool-call deltas ending with `.finish`.
public typealias ProviderStream = AsyncThrowingStream<ProviderEvent, any Error>

/// One provider's wire format.
public protocol ChatProvider: Sendable {
    /// Throws when the request asks for something this provider cannot do, naming the field.
    func check(_ request: ProviderRequest) throws(UnsupportedFeature)
    func stream(_ request: ProviderRequest) -> ProviderStream
    /// The prompt's tokens as the provider counts them, or nil when it has no counter.
    func countTokens(_ request: ProviderRequest) async throws -> Int?
}

extension ChatProvider {
    public func countTokens(_ request: ProviderRequest) async throws -> Int? { nil }
}

/// A provider whose request is translated from OpenAI's and may refuse a field it cannot say.
protocol TranslatedRequest {
    static func body(_ request: ProviderRequest) throws(UnsupportedFeature) -> [String: Any]
}

extension TranslatedRequest {
    func check(_ request: ProviderRequest) throws(UnsupportedFeature) {
        _ = try Self.body(request)
    }

    /// `send`'s stream of the encoded body, or a stream that fails at once with the refusal.
    func streaming(_ request: ProviderRequest, _ send: (Data) -> ProviderStream) -> ProviderStream {
        do {
            return send(ProviderJSON.encode(try Self.body(request)))
        } catch {
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
    }
}
