import ModelgateCore

/// One message of a conversation as providers see it: text and images, an assistant's tool calls,
/// or a tool's result.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable { case user, assistant, tool }

    public var role: Role
    public var parts: [ContentPart]
    /// An assistant's calls of the request's tools.
    public var toolCalls: [ToolCall]
    /// The call a `tool` message answers.
    public var toolCallID: String?
    /// Where the message stood in the client's request (system messages included), for naming a
    /// refused field.
    public var sourceIndex: Int?
    /// Anthropic's cache marks, by block in the order Anthropic is sent the message: its parts, then
    /// its tool calls (a tool message is one block, its result). Other providers cache on their own.
    public var cacheMarks: [Int: CacheControl] = [:]

    public init(role: Role, parts: [ContentPart], toolCalls: [ToolCall] = [], toolCallID: String? = nil, sourceIndex: Int? = nil) {
        self.sourceIndex = sourceIndex
        self.role = role
        self.parts = parts
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    public init(role: Role, text: String) {
        self.init(role: role, parts: text.isEmpty ? [] : [.text(text)])
    }

    /// The text parts, joined.
    public var text: String {
        parts.map { part in if case .text(let text) = part { text } else { "" } }.joined()
    }

    public var images: [ImageInput] {
        parts.compactMap { part in if case .image(let image) = part { image } else { nil } }
    }
}

public enum ContentPart: Sendable, Equatable {
    case text(String)
    case image(ImageInput)
    /// An assistant's thinking from an earlier Anthropic reply, for Anthropic only.
    case thinking(ThinkingBlock)
}

/// An image part: inline bytes (a `data:` URL) or an https URL the provider fetches.
public struct ImageInput: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case base64(mediaType: String, data: String)
        case url(String)
    }

    public let source: Source
    /// OpenAI's `detail` (`auto`, `low`, `high`); only OpenAI-format providers read it.
    public var detail: String?

    public init(source: Source, detail: String? = nil) {
        self.source = source
        self.detail = detail
    }

    /// The image as an OpenAI `image_url.url`.
    public var url: String {
        switch source {
        case .base64(let mediaType, let data): "data:\(mediaType);base64,\(data)"
        case .url(let url): url
        }
    }

    /// `data:<mime>;base64,<data>` or `https://…`; nil for anything else.
    public init?(url: String, detail: String? = nil) {
        self.detail = detail
        if url.hasPrefix("data:") {
            guard let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else { return nil }
            let mediaType = url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count)
            guard !mediaType.isEmpty else { return nil }
            source = .base64(mediaType: String(mediaType).lowercased(), data: String(url[url.index(after: comma)...]))
        } else if url.hasPrefix("https://") || url.hasPrefix("http://") {
            source = .url(url)
        } else {
            return nil
        }
    }

    /// The media type an URL's file extension names, for providers that need one (Gemini).
    public static func mediaType(ofURL url: String) -> String? {
        let path = url.split(separator: "?").first.map(String.init)?.lowercased() ?? ""
        let types = [".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif",
                     ".heic": "image/heic", ".heif": "image/heif"]
        return types.first { path.hasSuffix($0.key) }?.value
    }
}

/// A function the model may call; `parameters` is a JSON Schema object (nil: no parameters).
public struct ToolDefinition: Sendable, Equatable {
    public var name: String
    public var description: String?
    public var parameters: JSONValue?
    public var strict: Bool?

    public init(name: String, description: String? = nil, parameters: JSONValue? = nil, strict: Bool? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
    }
}

public enum ToolChoice: Sendable, Equatable {
    /// OpenAI's `none`: the model must not call a tool.
    case auto, noCalls, required
    case function(String)
}

public enum ResponseFormat: Sendable, Equatable {
    case text
    /// Any JSON object.
    case jsonObject
    /// JSON matching `schema`.
    case jsonSchema(name: String, schema: JSONValue, strict: Bool?)
}

/// Sampling and length settings; nil means "the provider's default".
public struct GenerationOptions: Sendable, Equatable {
    /// No provider replies with more: a bound that also keeps the budget arithmetic far from overflow.
    public static let maxOutputTokensAllowed = 1_000_000

    public var maxOutputTokens: Int
    public var temperature: Double?
    public var topP: Double?
    public var stop: [String]
    public var seed: Int?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?

    public init(maxOutputTokens: Int = 1024, temperature: Double? = nil, topP: Double? = nil, stop: [String] = [], seed: Int? = nil,
                presencePenalty: Double? = nil, frequencyPenalty: Double? = nil) {
        self.maxOutputTokens = maxOutputTokens
        self.temperature = temperature
        self.topP = topP
        self.stop = stop
        self.seed = seed
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
    }
}

/// A request feature the chosen provider cannot honour: refused with its field named, never dropped.
public struct UnsupportedFeature: Error, Sendable, Equatable {
    /// The request field, as the client spelled it (`seed`, `messages.2.content.1`).
    public let field: String
    public let provider: Provider
    public let reason: String

    public init(field: String, provider: Provider, reason: String) {
        self.field = field
        self.provider = provider
        self.reason = reason
    }
}

extension ProviderRequest {
    /// A tokenizer-free estimate of the prompt: a token per 4 characters of text (system, messages,
    /// thinking, tool calls and tool definitions) and 765 per image (OpenAI's cost of a 1024 px image).
    public var estimatedPromptTokens: Int {
        var characters = system?.count ?? 0
        var images = 0
        for message in messages {
            characters += message.text.count + message.toolCalls.reduce(0) { $0 + $1.name.count + $1.arguments.count }
            characters += message.parts.reduce(0) { total, part in if case .thinking(.thinking(let text, _)) = part { total + text.count } else { total } }
            images += message.images.count
        }
        characters += tools.reduce(0) { total, tool in
            total + tool.name.count + (tool.description?.count ?? 0) + (tool.parameters.map { ProviderJSON.text($0.foundationObject).count } ?? 0)
        }
        return (characters + 3) / 4 + images * 765
    }
}
