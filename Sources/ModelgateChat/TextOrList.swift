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
