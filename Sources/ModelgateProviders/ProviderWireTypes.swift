import Foundation
import ModelgateCore

/// The parts of the providers' stream chunks Modelgate reads, as typed wire values: a field it does
/// not use is ignored, a field it uses with the wrong type makes the chunk malformed (never a guess).
enum ProviderWire {
    /// OpenAI's and Anthropic's keys are snake_case. Gemini's are camelCase and read as they are:
    /// its function call arguments are the model's own JSON, whose keys must not be converted.
    static func decode<Chunk: Decodable>(_ type: Chunk.Type, _ text: String, snakeCase: Bool = true, what: String = "chunk") throws -> Chunk {
        try decode(type, Data(text.utf8), snakeCase: snakeCase, what: what)
    }

    static func decode<Chunk: Decodable>(_ type: Chunk.Type, _ data: Data, snakeCase: Bool = true, what: String = "chunk") throws -> Chunk {
        let decoder = JSONDecoder()
        if snakeCase { decoder.keyDecodingStrategy = .convertFromSnakeCase }
        do {
            return try decoder.decode(Chunk.self, from: data)
        } catch {
            throw ProviderError.failed(status: 200, reason: "malformed \(what)")
        }
    }
}

/// A provider's error inside a stream or an error body: its kind as the provider names it.
struct WireError: Decodable {
    let type: String?
    let status: String?
    let code: JSONValue?

    /// `type`, `status` or `code`, the first one present.
    var kind: String {
        if let type { return type }
        if let status { return status }
        switch code {
        case .string(let text)?: return text
        case .number(let number)?: return String(Int(exactly: number) ?? 0)
        default: return ""
        }
    }
}

/// One chunk of a Chat Completions stream (OpenAI, Together).
struct OpenAIChunk: Decodable {
    struct Usage: Decodable {
        struct PromptDetails: Decodable { let cachedTokens: Int? }
        struct CompletionDetails: Decodable { let reasoningTokens: Int? }
        let promptTokens: Int?
        let completionTokens: Int?
        let promptTokensDetails: PromptDetails?
        let completionTokensDetails: CompletionDetails?
    }

    struct Choice: Decodable {
        struct Delta: Decodable {
            struct ToolCall: Decodable {
                struct Function: Decodable {
                    let name: String?
                    let arguments: String?
                }
                let index: Int?
                let id: String?
                let function: Function?
            }
            let content: String?
            let toolCalls: [ToolCall]?
        }
        let delta: Delta?
        let finishReason: String?
    }

    let error: WireError?
    let usage: Usage?
    let choices: [Choice]?
}

/// One event of an Anthropic Messages stream; which fields are there depends on the event's name.
struct AnthropicEvent: Decodable {
    struct Usage: Decodable {
        let inputTokens: Int?
        let outputTokens: Int?
        let cacheReadInputTokens: Int?
        let cacheCreationInputTokens: Int?
    }

    struct Message: Decodable { let usage: Usage? }

    struct ContentBlock: Decodable {
        let type: String?
        let id: String?
        let name: String?
        let thinking: String?
        /// A redacted thinking block's opaque content.
        let data: String?
    }

    struct Delta: Decodable {
        let type: String?
        let text: String?
        let thinking: String?
        let signature: String?
        let partialJson: String?
        let stopReason: String?
    }

    let index: Int?
    let message: Message?
    let contentBlock: ContentBlock?
    let delta: Delta?
    let usage: Usage?
    let error: WireError?
}

/// One chunk of a Gemini `streamGenerateContent` stream.
struct GeminiChunk: Decodable {
    struct ErrorBody: Decodable {
        let code: Int?
        let status: String?
    }

    struct UsageMetadata: Decodable {
        let promptTokenCount: Int?
        let toolUsePromptTokenCount: Int?
        let candidatesTokenCount: Int?
        let thoughtsTokenCount: Int?
        let cachedContentTokenCount: Int?
    }

    struct Candidate: Decodable {
        struct Content: Decodable {
            struct Part: Decodable {
                struct FunctionCall: Decodable {
                    let id: String?
                    let name: String?
                    let args: JSONValue?
                }
                let text: String?
                let thought: Bool?
                let thoughtSignature: String?
                let functionCall: FunctionCall?
            }
            let parts: [Part]?
        }
        let content: Content?
        let finishReason: String?
    }

    let error: ErrorBody?
    let usageMetadata: UsageMetadata?
    let candidates: [Candidate]?
}

/// An error body of any provider: `{"error": {...}}`.
struct WireErrorEnvelope: Decodable {
    let error: WireError?
}
