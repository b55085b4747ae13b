import Logging
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateHTTP
import ModelgateKeys
import NIOConcurrencyHelpers
import Testing

/// Every line an app logs, with its metadata, at trace level: for tests that grep the logs.
public struct LogCapture: Sendable {

    public init() {}

    private let lines = NIOLockedValueBox<[String]>([])

    public var logger: Logger {
        var logger = Logger(label: "modelgate-capture") { [lines] _ in Handler(lines: lines) }
        logger.logLevel = .trace
        return logger
    }

    public var text: String { lines.withLockedValue { $0.joined(separator: "\n") } }

    private struct Handler: LogHandler {
        public let lines: NIOLockedValueBox<[String]>
        public var metadata: Logger.Metadata = [:]
        public var logLevel: Logger.Level = .trace

        public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                 file: String, function: String, line: UInt) {
            let all = metadata.merging(explicit ?? [:]) { $1 }
            lines.withLockedValue { $0.append("\(level) \(message) \(all)") }
        }
    }
}
