import ArgumentParser
import Foundation
import ModelgateCore
import ModelgateServer
import ModelgateStore

struct AnalyticsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics", abstract: "Product analytics events.", subcommands: [AnalyticsTailCommand.self])
}

/// Prints the outbox: what was recorded, and whether it reached PostHog yet. Works without a
/// PostHog key, when events stay local.
struct AnalyticsTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail", abstract: "Print recent analytics events (time, event, distinct_id, properties, delivered or pending).")

    @OptionGroup var options: CommonOptions
    @Option(help: "How many recent events to print.") var limit = 20
    @Flag(help: "Keep printing new events as they are written (Ctrl-C stops).") var follow = false

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
    }

    func run() async throws {
        let configuration = try options.configuration()
        let database = try await openMigratedDatabase(configuration, logger: makeLogger(), clock: SystemClock())
        var failure: (any Error)?
        do {
            let outbox = OutboxRepository(database: database)
            let recent = try await outbox.recent(limit: limit)
            for row in recent { print(Self.line(row)) }
            var last = recent.last
            while follow {
                try await Task.sleep(for: .seconds(1))
                let rows = if let last { try await outbox.after(last, limit: 500) } else { try await outbox.recent(limit: 500) }
                for row in rows { print(Self.line(row)) }
                last = rows.last ?? last
            }
        } catch {
            failure = error
        }
        await database.shutdown()
        if let failure { throw failure }
    }

    private static let json: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// `time  event  distinct_id  {properties}  delivered|pending (attempts, last error)`
    static func line(_ row: OutboxRow) -> String {
        let properties = (try? json.encode(row.properties)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let state: String
        if row.deliveredAt != nil {
            state = "delivered"
        } else if row.attempts > 0 {
            state = "pending (\(row.attempts) attempts\(row.lastError.map { ": \($0)" } ?? ""))"
        } else {
            state = "pending"
        }
        return [ISO8601.string(row.createdAt), row.event, row.distinctID, properties, state].joined(separator: "  ")
    }
}
