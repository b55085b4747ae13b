import Mustache

/// HTML escaping by Unicode scalar, as a browser tokenizes. Escaping by `Character` (as
/// swift-mustache's built-in escaper does) misses a `"` or `<` followed by a combining mark, since
/// the two form one Character; the browser still sees the quote and ends the attribute value there.
public enum HTMLEscaping: MustacheContentType {
    case scalars

    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    public func escapeText(_ text: String) -> String { Self.escape(text) }

    /// Every template (and partial) starts with `{{% CONTENT_TYPE: HTML}}`, which selects this
    /// escaper once it is registered under that name.
    public static func register() {
        MustacheContentTypes.register(HTMLEscaping.scalars, named: "HTML")
    }
}
