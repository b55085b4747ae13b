/// One server-sent event.
public struct ServerSentEvent: Sendable, Equatable {
    public var event: String?
    public var data: String

    public init(event: String? = nil, data: String) {
        self.event = event
        self.data = data
    }

    /// The event as it goes on the wire, always with `data: ` (one space), which every SDK accepts.
    public var encoded: String {
        var text = event.map { "event: \($0)\n" } ?? ""
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) { text += "data: \(line)\n" }
        return text + "\n"
    }
}

/// Incremental SSE parser: feed bytes as they arrive, take complete events out. Accepts LF, CRLF
/// and CR line ends, an optional space after the colon, comments, and multi-line data.
public struct ServerSentEventParser: Sendable {
    private var buffer: [UInt8] = []
    private var event: String?
    private var dataLines: [String] = []
    private var sawCR = false

    public init() {}

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if sawCR {
                sawCR = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                sawCR = byte == UInt8(ascii: "\r")
                if let complete = line(String(decoding: buffer, as: UTF8.self)) { events.append(complete) }
                buffer.removeAll(keepingCapacity: true)
            } else {
                buffer.append(byte)
            }
        }
        return events
    }

    /// The event left when the stream ends without a final blank line.
    public mutating func finish() -> ServerSentEvent? {
        if !buffer.isEmpty, let complete = line(String(decoding: buffer, as: UTF8.self)) { return complete }
        buffer.removeAll()
        return line("")
    }

    private mutating func line(_ line: String) -> ServerSentEvent? {
        if line.isEmpty {
            defer { event = nil; dataLines = [] }
            guard !dataLines.isEmpty || event != nil else { return nil }
            return ServerSentEvent(event: event, data: dataLines.joined(separator: "\n"))
        }
        if line.hasPrefix(":") { return nil }
        let field: Substring
        var value: Substring
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            value = line[line.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = Substring(line)
            value = ""
        }
        switch field {
        case "event": event = String(value)
        case "data": dataLines.append(String(value))
        default: break
        }
        return nil
    }
}
