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
                if let complete = line(buffer[...]) { events.append(complete) }
                buffer.removeAll(keepingCapacity: true)
            } else {
                buffer.append(byte)
            }
        }
        return events
    }

    /// The event left when the stream ends without a final blank line.
    public mutating func finish() -> ServerSentEvent? {
        if !buffer.isEmpty, let complete = line(buffer[...]) { return complete }
        buffer.removeAll()
        return line([])
    }

    /// One line, read as bytes: the optional space after the colon is a byte, even where the text
    /// after it begins with a combining mark that would join it into one character.
    private mutating func line(_ line: ArraySlice<UInt8>) -> ServerSentEvent? {
        if line.isEmpty {
            defer { event = nil; dataLines = [] }
            guard !dataLines.isEmpty || event != nil else { return nil }
            return ServerSentEvent(event: event, data: dataLines.joined(separator: "\n"))
        }
        let colon = UInt8(ascii: ":")
        if line.first == colon { return nil }
        var field = line
        var value: ArraySlice<UInt8> = []
        if let index = line.firstIndex(of: colon) {
            field = line[..<index]
            value = line[(index + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        }
        switch String(decoding: field, as: UTF8.self) {
        case "event": event = String(decoding: value, as: UTF8.self)
        case "data": dataLines.append(String(decoding: value, as: UTF8.self))
        default: break
        }
        return nil
    }
}
