/// A field the chat APIs take either as a plain string or as a list of typed parts (message
/// content, a system prompt, a Responses `input`).
enum TextOrList<Element: Decodable & Sendable>: Decodable, Sendable {
    case text(String)
    case list([Element])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else {
            self = .list(try container.decode([Element].self))
        }
    }
}

/// Stored Responses API items write their content back as it came.
extension TextOrList: Encodable where Element: Encodable {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .list(let elements): try container.encode(elements)
        }
    }
}
