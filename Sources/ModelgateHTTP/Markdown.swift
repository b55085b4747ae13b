import Foundation

/// Just enough Markdown for the bundled guides: headings with GitHub-style anchors, paragraphs,
/// lists, tables, fenced code, and inline code, bold and links (`x.md` links become `/docs/x`).
/// Everything is HTML-escaped before any markup is added.
public enum Markdown {
    public static func html(_ source: String) -> String {
        var output: [String] = []
        var paragraph: [String] = []
        var list: String?
        var table: [[String]] = []
        var code: [String]?

        func flush() {
            if !paragraph.isEmpty { output.append("<p>\(inline(paragraph.joined(separator: " ")))</p>") }
            paragraph = []
            if let tag = list { output.append("</\(tag)>") }
            list = nil
            if !table.isEmpty { output.append(render(table: table)) }
            table = []
        }

        for line in source.components(separatedBy: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("```") {
                if let block = code {
                    output.append("<pre><code>\(HTMLEscaping.escape(block.joined(separator: "\n")))</code></pre>")
                    code = nil
                } else {
                    flush()
                    code = []
                }
            } else if code != nil {
                code?.append(line)
            } else if trimmed.isEmpty {
                flush()
            } else if let level = heading(trimmed) {
                flush()
                let text = trimmed.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
                output.append("<h\(level) id=\"\(anchor(text))\">\(inline(text))</h\(level)>")
            } else if trimmed.hasPrefix("|") {
                if paragraph.isEmpty, list == nil {
                    let cells = trimmed.trimmingCharacters(in: CharacterSet(charactersIn: "|")).components(separatedBy: "|")
                        .map { $0.trimmingCharacters(in: .whitespaces) }
                    if !cells.allSatisfy({ $0.allSatisfy { "-: ".contains($0) } }) { table.append(cells) }
                } else {
                    paragraph.append(trimmed)
                }
            } else if let (tag, item) = listItem(trimmed), line.first != " " || list == nil {
                if list != tag {
                    flush()
                    output.append("<\(tag)>")
                    list = tag
                }
                output.append("<li>\(inline(item))</li>")
            } else if list != nil, line.first == " ", let last = output.popLast() {
                output.append(String(last.dropLast(5)) + " " + inline(trimmed) + "</li>")
            } else {
                if list != nil || !table.isEmpty { flush() }
                paragraph.append(trimmed)
            }
        }
        flush()
        return output.joined(separator: "\n")
    }

    public static func heading(_ line: String) -> Int? {
        let level = line.prefix { $0 == "#" }.count
        return (1...6).contains(level) && line.dropFirst(level).first == " " ? level : nil
    }

    public static func listItem(_ line: String) -> (String, String)? {
        if line.hasPrefix("- ") || line.hasPrefix("* ") { return ("ul", String(line.dropFirst(2))) }
        let digits = line.prefix { $0.isNumber }
        if !digits.isEmpty, line.dropFirst(digits.count).hasPrefix(". ") { return ("ol", String(line.dropFirst(digits.count + 2))) }
        return nil
    }

    public static func render(table rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        let head = header.map { "<th scope=\"col\">\(inline($0))</th>" }.joined()
        let body = rows.dropFirst().map { "<tr>" + $0.map { "<td>\(inline($0))</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        return "<div class=\"table-scroll\"><table><thead><tr>\(head)</tr></thead><tbody>\n\(body)\n</tbody></table></div>"
    }

    /// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    public static func anchor(_ text: String) -> String {
        let plain = text.replacingOccurrences(of: "`", with: "").replacingOccurrences(of: "*", with: "")
        return String(plain.lowercased().compactMap { character -> Character? in
            if character.isLetter || character.isNumber || character == "-" || character == "_" { return character }
            return character == " " ? "-" : nil
        })
    }

    public static func inline(_ text: String) -> String {
        var result = ""
        var rest = Substring(HTMLEscaping.escape(text))
        while let tick = rest.firstIndex(of: "`") {
            result += links(String(rest[..<tick]))
            let after = rest[rest.index(after: tick)...]
            guard let close = after.firstIndex(of: "`") else {
                rest = rest[tick...]
                break
            }
            result += "<code>\(after[..<close])</code>"
            rest = after[after.index(after: close)...]
        }
        return result + links(String(rest))
    }

    public static func bold(_ text: String) -> String {
        let parts = text.components(separatedBy: "**")
        return parts.enumerated().map { index, part in index % 2 == 1 && index < parts.count - 1 ? "<strong>\(part)</strong>" : part }
            .joined(separator: "")
    }

    /// A link target without a scheme (a path or an anchor) or with http, https or mailto: never
    /// `javascript:` or `data:`.
    public static func isSafeLink(_ target: String) -> Bool {
        let scheme = target.prefix { $0 != ":" && $0 != "/" && $0 != "?" && $0 != "#" }
        guard scheme.count < target.count, target[scheme.endIndex] == ":" else { return true }
        return ["http", "https", "mailto"].contains(scheme.lowercased())
    }

    /// Links, with bold in their labels and in the text around them (never inside a target).
    public static func links(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "["), let middle = rest[open...].range(of: "]("),
              let close = rest[middle.upperBound...].firstIndex(of: ")") {
            result += bold(String(rest[..<open]))
            let label = bold(String(rest[rest.index(after: open)..<middle.lowerBound]))
            var target = String(rest[middle.upperBound..<close])
            if !target.hasPrefix("http"), let range = target.range(of: ".md") {
                target = "/docs/" + target[..<range.lowerBound] + target[range.upperBound...]
            }
            result += isSafeLink(target) ? "<a href=\"\(target)\">\(label)</a>" : label
            rest = rest[rest.index(after: close)...]
        }
        return result + bold(String(rest))
    }
}
