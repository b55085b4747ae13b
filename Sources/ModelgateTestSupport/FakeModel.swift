import Foundation

/// What the fake providers answer when a request asks for more than text, as a real model would:
/// call the offered tool (the named one under a forced choice) with arguments that fit its schema,
/// answer a tool result by quoting it, and answer structured-output requests with JSON that fits.
enum FakeModel {
    enum Reply: Equatable {
        case text(String)
        case toolCall(name: String, arguments: String)
        /// The request breaks a provider rule (e.g. a Gemini call sent back without its signature).
        case invalid(String)
    }

    static func reply(to request: [String: Any], format: WireFormat) -> Reply? {
        switch format {
        case .openAI: openAI(request)
        case .anthropic: anthropic(request)
        case .gemini, .geminiUnary: gemini(request)
        }
    }

    private static func openAI(_ request: [String: Any]) -> Reply? {
        let last = (request["messages"] as? [[String: Any]])?.last ?? [:]
        if last["role"] as? String == "tool" { return .text("The tool said: \(last["content"] as? String ?? "")") }
        let tools = (request["tools"] as? [[String: Any]] ?? []).compactMap { $0["function"] as? [String: Any] }
        let forced = ((request["tool_choice"] as? [String: Any])?["function"] as? [String: Any])?["name"] as? String
        if request["tool_choice"] as? String != "none", let tool = tools.first(where: { forced == nil || $0["name"] as? String == forced }) {
            return .toolCall(name: tool["name"] as? String ?? "", arguments: json(instance(of: tool["parameters"])))
        }
        let format = request["response_format"] as? [String: Any]
        if let schema = (format?["json_schema"] as? [String: Any])?["schema"] { return .text(json(instance(of: schema))) }
        return format?["type"] as? String == "json_object" ? .text(#"{"answer":"Hello there"}"#) : nil
    }

    private static func anthropic(_ request: [String: Any]) -> Reply? {
        if let refusal = FakeAnthropic.refusal(request) { return .invalid(refusal) }
        let last = (request["messages"] as? [[String: Any]])?.last?["content"] as? [[String: Any]] ?? []
        if let result = last.first(where: { $0["type"] as? String == "tool_result" }) {
            return .text("The tool said: \(result["content"] as? String ?? "")")
        }
        let tools = request["tools"] as? [[String: Any]] ?? []
        let choice = request["tool_choice"] as? [String: Any]
        let forced = choice?["type"] as? String == "tool" ? choice?["name"] as? String : nil
        if choice?["type"] as? String != "none", let tool = tools.first(where: { forced == nil || $0["name"] as? String == forced }) {
            return .toolCall(name: tool["name"] as? String ?? "", arguments: json(instance(of: tool["input_schema"])))
        }
        if let schema = ((request["output_config"] as? [String: Any])?["format"] as? [String: Any])?["schema"] {
            return .text(json(instance(of: schema)))
        }
        return nil
    }

    private static func gemini(_ request: [String: Any]) -> Reply? {
        let contents = request["contents"] as? [[String: Any]] ?? []
        for content in contents where content["role"] as? String == "model" {
            for part in content["parts"] as? [[String: Any]] ?? [] where part["functionCall"] != nil {
                if part["thoughtSignature"] as? String != WireFormat.thoughtSignature {
                    return .invalid("Function call is missing a thought_signature in functionCall parts.")
                }
            }
        }
        let lastParts = contents.last?["parts"] as? [[String: Any]] ?? []
        if let response = lastParts.compactMap({ $0["functionResponse"] as? [String: Any] }).first {
            return .text("The tool said: \((response["response"] as? [String: Any])?["output"] as? String ?? "")")
        }
        let declarations = (request["tools"] as? [[String: Any]])?.first?["functionDeclarations"] as? [[String: Any]] ?? []
        let calling = (request["toolConfig"] as? [String: Any])?["functionCallingConfig"] as? [String: Any]
        let allowed = calling?["allowedFunctionNames"] as? [String]
        if calling?["mode"] as? String != "NONE",
           let tool = declarations.first(where: { allowed?.contains($0["name"] as? String ?? "") ?? true }) {
            // The google-genai SDK sends this key in snake case; the REST docs (and Modelgate) in camel case.
            let schema = tool["parametersJsonSchema"] ?? tool["parameters_json_schema"]
            return .toolCall(name: tool["name"] as? String ?? "", arguments: json(instance(of: schema)))
        }
        let generation = request["generationConfig"] as? [String: Any] ?? [:]
        if let schema = generation["responseJsonSchema"] { return .text(json(instance(of: schema))) }
        return generation["responseMimeType"] as? String == "application/json" ? .text(#"{"answer":"Hello there"}"#) : nil
    }

    /// A value that fits a JSON Schema: the first enum value, or a typed placeholder.
    static func instance(of schema: Any?) -> Any {
        guard let schema = schema as? [String: Any] else { return [String: Any]() }
        if let first = (schema["enum"] as? [Any])?.first { return first }
        switch schema["type"] as? String {
        case "object", nil:
            let properties = schema["properties"] as? [String: Any] ?? [:]
            return properties.mapValues { instance(of: $0) }
        case "array": return [instance(of: schema["items"])]
        case "integer": return 1
        case "number": return 1.5
        case "boolean": return true
        case "null": return NSNull()
        default: return "Paris"
        }
    }

    static func json(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
