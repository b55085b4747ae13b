import AsyncHTTPClient
import Foundation
import ModelgateCore

/// Where one provider lives and the key to reach it.
public struct ProviderEndpoint: Sendable, Equatable {
    public var apiKey: String?
    public var baseURL: String

    public init(apiKey: String?, baseURL: String) {
        self.apiKey = apiKey
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }
}

public struct ProvidersConfiguration: Sendable, Equatable {
    public var openai = ProviderEndpoint(apiKey: nil, baseURL: "https://api.openai.com/v1")
    public var together = ProviderEndpoint(apiKey: nil, baseURL: "https://api.together.xyz/v1")
    public var anthropic = ProviderEndpoint(apiKey: nil, baseURL: "https://api.anthropic.com")
    public var google = ProviderEndpoint(apiKey: nil, baseURL: "https://generativelanguage.googleapis.com")
    public var timeouts = ProviderTimeouts()
    public var retry = RetryPolicy()
    /// Answer providers without a key from the built-in demo responder.
    public var demo = false

    public init() {}

    public subscript(provider: Provider) -> ProviderEndpoint {
        get {
            switch provider {
            case .openai: openai
            case .together: together
            case .anthropic: anthropic
            case .google: google
            }
        }
        set {
            switch provider {
            case .openai: openai = newValue
            case .together: together = newValue
            case .anthropic: anthropic = newValue
            case .google: google = newValue
            }
        }
    }
}

/// Picks the client for a model's provider.
public struct ProviderRouter: Sendable {
    private let providers: [Provider: any ChatProvider]
    /// The providers with an embeddings API (Anthropic has none).
    private let embedders: [Provider: any EmbeddingProvider]
    private let retry: RetryPolicy

    public init(configuration: ProvidersConfiguration, httpClient: HTTPClient) {
        let http = StreamingHTTP(client: httpClient, timeouts: configuration.timeouts)
        var providers: [Provider: any ChatProvider] = [:]
        var embedders: [Provider: any EmbeddingProvider] = [:]
        for provider in Provider.allCases {
            let endpoint = configuration[provider]
            guard let key = endpoint.apiKey, !key.isEmpty else {
                if configuration.demo {
                    providers[provider] = DemoProvider(providerName: provider.rawValue)
                    if provider.servesEmbeddings { embedders[provider] = DemoProvider(providerName: provider.rawValue) }
                }
                continue
            }
            let client: any ChatProvider = switch provider {
            case .openai, .together: OpenAIChatProvider(http: http, baseURL: endpoint.baseURL, apiKey: key)
            case .anthropic: AnthropicProvider(http: http, baseURL: endpoint.baseURL, apiKey: key)
            case .google: GeminiProvider(http: http, baseURL: endpoint.baseURL, apiKey: key)
            }
            providers[provider] = RetryingProvider(base: client, policy: configuration.retry)
            switch provider {
            case .openai, .together: embedders[provider] = OpenAIEmbeddingProvider(http: http, baseURL: endpoint.baseURL, apiKey: key, provider: provider)
            case .google: embedders[provider] = GeminiEmbeddingProvider(http: http, baseURL: endpoint.baseURL, apiKey: key)
            case .anthropic: break
            }
        }
        self.providers = providers
        self.embedders = embedders
        retry = configuration.retry
    }

    public func isAvailable(_ provider: Provider) -> Bool { providers[provider] != nil }

    /// Refuses a request the provider cannot honour (naming the field), before anything is charged.
    public func check(_ provider: Provider, _ request: ProviderRequest) throws(UnsupportedFeature) {
        guard let client = providers[provider] else { return }
        if provider != .anthropic, let field = request.anthropicOnlyField {
            throw UnsupportedFeature(field: field, provider: provider, reason: "extended thinking is Anthropic's; send it to an Anthropic model")
        }
        try client.check(request)
    }

    /// The prompt's tokens as the provider counts them; nil when it has no counter Modelgate calls
    /// (only Anthropic has one) or is not configured.
    public func countTokens(_ provider: Provider, _ request: ProviderRequest) async throws -> Int? {
        try await providers[provider]?.countTokens(request)
    }

    public func stream(_ provider: Provider, _ request: ProviderRequest) -> ProviderStream {
        guard let client = providers[provider] else {
            return AsyncThrowingStream { $0.finish(throwing: ProviderError.notConfigured(provider)) }
        }
        return client.stream(request)
    }

    /// Refuses an embedding request the provider or model cannot honour (naming the field), before anything is charged.
    public func check(_ provider: Provider, embedding request: EmbeddingRequest) throws(UnsupportedFeature) {
        try embedders[provider]?.check(embedding: request)
    }

    /// One vector per input; each upstream request is tried again (like a stream before its first
    /// token) after a rate limit, an overload, a 5xx or a connection failure.
    public func embed(_ provider: Provider, _ request: EmbeddingRequest) async throws -> Embeddings {
        guard let client = embedders[provider] else { throw ProviderError.notConfigured(provider) }
        return try await client.embed(request, retry: retry)
    }

    /// Makes the HTTP client provider calls share, with the configured connect and idle timeouts.
    public static func makeHTTPClient(_ timeouts: ProviderTimeouts) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: timeouts.connect, read: timeouts.idle)
        // One HTTP/1 connection per open stream (HTTP/2 providers multiplex): 1,024 made the
        // 1,025th concurrent stream to one provider wait for a free connection.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 16_384
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
