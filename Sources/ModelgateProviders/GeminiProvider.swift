import AsyncHTTPClient
import Foundation
import ModelgateCore
import NIOHTTP1

/// Google Gemini: `POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`. OpenAI's
/// request is translated (`../shared/reference/wire-formats-tools-images.md` §1, §5); what Gemini
/// cannot say is refused with the field named.
struct GeminiProvider: ChatProvider, TranslatedRequest {
    let http: StreamingHTTP
    let baseURL: String
    let apiKey: String

    static let imageTypes: Set<String> = ["image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"]

    func stream(_ request: ProviderRequest) -> ProviderStream {
        streaming(request) { body in
            var headers = HTTPHeaders()
            headers.add(name: "x-goog-api-key", value: apiKey)
            let model = request.providerModelID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? request.providerModelID
            return http.stream(url: "\(baseURL)/v1beta/models/\(model):streamGenerateContent?alt=sse", headers: headers,
                               body: body, translator: GeminiStreamTranslator.self, errors: EnvelopeErrors.self)
        }
    }

    static func body(_ request: ProviderRequest) throws(UnsupportedFeature) -> [String: Any] {
        func refuse(_ field: String, _ reason: String) -> UnsupportedFeature { UnsupportedFeature(field: field, provider: .google, reason: reason) }
        let options = request.options
        if options.presencePenalty != nil { throw refuse("presence_penalty", "current Gemini models refuse penalties") }
        if options.frequencyPenalty != nil { throw refuse("frequency_penalty", "current Gemini models refuse penalties") }
        if options.stop.count > 5 { throw refuse("stop", "Gemini takes at most 5 stop sequences") }
        if request.parallelToolCalls == false { throw refuse("parallel_tool_calls", "Gemini cannot be told to call one tool at a time") }
        var generation: [String: Any] = ["maxOutputTokens": options.maxOutputTokens]
        generation["temperature"] = options.temperature
        generation["topP"] = options.topP
        generation["seed"] = options.seed
        if !options.stop.isEmpty { generation["stopSequences"] = options.stop }
        switch request.responseFormat {
        case .jsonObject: generation["responseMimeType"] = "application/json"
        case .jsonSchema(_, let schema, _):
            generation["responseMimeType"] = "application/json"
            generation["responseJsonSchema"] = schema.foundationObject
        case .text, nil: break
        }
        var body: [String: Any] = ["contents": try contents(request.messages), "generationConfig": generation]
        if let system = request.system { body["systemInstruction"] = ["role": "user", "parts": [["text": system]]] }
        if !request.tools.isEmpty {
            body["tools"] = [["functionDeclarations": request.tools.map { tool -> [String: Any] in
                var declaration: [String: Any] = ["name": tool.name]
                declaration["description"] = tool.description
                // JSON Schema as OpenAI clients write it; `parameters` takes only an OpenAPI subset.
                declaration["parametersJsonSchema"] = tool.parameters?.foundationObject
                return declaration
            }]]
        }
        let calling: [String: Any]? = switch request.toolChoice {
        case .auto: ["mode": "AUTO"]
        case .noCalls: ["mode": "NONE"]
        case .required: ["mode": "ANY"]
        case .function(let name): ["mode": "ANY", "allowedFunctionNames": [name]]
        case nil: nil
        }
        if let calling { body["toolConfig"] = ["functionCallingConfig": calling] }
        return body
    }

    /// OpenAI messages as Gemini contents: `assistant` is `model`, tool results are
    /// `functionResponse` parts of a user content named after the call they answer.
    private static func contents(_ messages: [ChatMessage]) throws(UnsupportedFeature) -> [[String: Any]] {
        var names: [String: String] = [:]
        var contents: [(role: String, parts: [[String: Any]])] = []
        for (position, message) in messages.enumerated() {
            let index = message.sourceIndex ?? position
            var parts: [[String: Any]] = []
            switch message.role {
            case .tool:
                let id = message.toolCallID ?? ""
                guard let name = names[id] else {
                    throw UnsupportedFeature(field: "messages.\(index).tool_call_id", provider: .google,
                                             reason: "names no tool call of an earlier assistant message")
                }
                var response: [String: Any] = ["name": name, "response": ["output": message.text]]
                if let providerID = GeminiCallID.providerID(id) { response["id"] = providerID }
                parts.append(["functionResponse": response])
            case .user, .assistant:
                for (number, content) in message.parts.enumerated() {
                    switch content {
                    case .text(let text) where !text.isEmpty: parts.append(["text": text])
                    case .text: break
                    case .image(let image): parts.append(try imagePart(image, field: "messages.\(index).content.\(number)"))
                    case .thinking:
                        throw UnsupportedFeature(field: "messages.\(index).content.\(number)", provider: .google, reason: "thinking blocks are Anthropic's")
                    }
                }
                for toolCall in message.toolCalls {
                    names[toolCall.id] = toolCall.name
                    var call: [String: Any] = ["name": toolCall.name, "args": ProviderJSON.object(toolCall.arguments.isEmpty ? "{}" : toolCall.arguments) ?? [:]]
                    if let providerID = GeminiCallID.providerID(toolCall.id) { call["id"] = providerID }
                    var part: [String: Any] = ["functionCall": call]
                    part["thoughtSignature"] = GeminiCallID.signature(toolCall.id)
                    parts.append(part)
                }
            }
            let role = message.role == .assistant ? "model" : "user"
            if let last = contents.last, last.role == role {
                contents[contents.count - 1].parts += parts
            } else {
                contents.append((role, parts))
            }
        }
        return contents.map { ["role": $0.role, "parts": $0.parts] }
    }

    private static func imagePart(_ image: ImageInput, field: String) throws(UnsupportedFeature) -> [String: Any] {
        switch image.source {
        case .base64(let mediaType, let data):
            guard imageTypes.contains(mediaType) else {
                throw UnsupportedFeature(field: field, provider: .google, reason: "\(mediaType) is not one of image/png, image/jpeg, image/webp, image/heic, image/heif")
            }
            return ["inlineData": ["mimeType": mediaType, "data": data]]
        case .url(let url):
            guard let mediaType = ImageInput.mediaType(ofURL: url) else {
                throw UnsupportedFeature(field: field, provider: .google,
                                         reason: "Gemini needs the image type: use a URL ending in .png, .jpg, .webp, .heic or .heif, or a data URL")
            }
            return ["fileData": ["mimeType": mediaType, "fileUri": url]]
        }
    }
}

/// Tool call ids for Gemini, which often sends calls without one and wants each call's
/// `thoughtSignature` back on the next turn. OpenAI history cannot carry the signature, so it
/// travels inside the id we hand out: `mgcall_<n>_<random>[_sig_<base64url>]`, or `gcall_<id>` for
/// an id Gemini chose (sent back as the call's and the response's `id`).
enum GeminiCallID {
    static func make(providerID: String?, signature: String?, number: Int) -> String {
        var id = providerID.map { "gcall_" + $0.filter { $0.isLetter || $0.isNumber || $0 == "-" } }
            ?? "mgcall_\(number)_\(UUID().uuidString.prefix(8).lowercased())"
        if let signature, let data = Data(base64Encoded: signature) {
            id += "_sig_" + data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        return id
    }

    /// The id Gemini gave the call, if it gave one.
    static func providerID(_ id: String) -> String? {
        guard id.hasPrefix("gcall_") else { return nil }
        let rest = id.dropFirst("gcall_".count)
        return String(rest.components(separatedBy: "_sig_").first ?? String(rest))
    }

    /// The call's thought signature (standard base64), if it carried one.
    static func signature(_ id: String) -> String? {
        guard let range = id.range(of: "_sig_") else { return nil }
        var text = id[range.upperBound...].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text).map { $0.base64EncodedString() }
    }
}

struct GeminiStreamTranslator: StreamTranslator {
    private var usage = TokenUsage()
    private var finishReason: String?
    private var calls = 0

    mutating func translate(_ event: ServerSentEvent) throws -> [ProviderEvent] {
        let chunk = try ProviderWire.decode(GeminiChunk.self, event.data, snakeCase: false)
        if let error = chunk.error {
            throw StreamingHTTP.classify(status: error.code ?? 500, headers: [:], reason: error.status ?? "")
        }
        if let counts = chunk.usageMetadata {
            let thoughts = counts.thoughtsTokenCount ?? 0
            usage = TokenUsage(inputTokens: (counts.promptTokenCount ?? 0) + (counts.toolUsePromptTokenCount ?? 0),
                               outputTokens: (counts.candidatesTokenCount ?? 0) + thoughts,
                               cachedInputTokens: counts.cachedContentTokenCount ?? 0, reasoningTokens: thoughts)
        }
        var events: [ProviderEvent] = []
        for candidate in chunk.candidates ?? [] {
            for part in candidate.content?.parts ?? [] where part.thought != true {
                if let text = part.text, !text.isEmpty { events.append(.delta(text)) }
                if let call = part.functionCall {
                    let id = GeminiCallID.make(providerID: call.id, signature: part.thoughtSignature, number: calls)
                    events.append(.toolCall(ToolCallDelta(index: calls, id: id, name: call.name ?? "", arguments: Self.arguments(call.args))))
                    calls += 1
                }
            }
            if let reason = candidate.finishReason { finishReason = reason }
        }
        return events
    }

    mutating func end() throws -> [ProviderEvent] {
        // Gemini has no end marker: a reply is complete when its last chunk carried a finishReason.
        guard let finishReason else { throw ProviderError.unavailable(reason: "stream ended before finishReason") }
        // Gemini says STOP beside function calls; OpenAI clients need tool_calls to run them.
        if calls > 0 { return [.finish(reason: .toolCalls, usage: usage)] }
        return [.finish(reason: try Self.finishReason(finishReason), usage: usage)]
    }

    /// A function call's arguments as JSON text; none (or null) is the empty object.
    static func arguments(_ args: JSONValue?) -> String {
        guard let args, args != .null else { return "{}" }
        return args.jsonText
    }

    static func finishReason(_ reason: String) throws -> FinishReason {
        switch reason {
        case "STOP": return .stop
        case "MAX_TOKENS", "CONTINUATION": return .length
        case "SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
             "IMAGE_RECITATION", "IMAGE_OTHER", "ESCALATION", "MODEL_ARMOR":
            return .contentFilter
        default: throw ProviderError.failed(status: 200, reason: "finish reason \(reason)")
        }
    }
}
