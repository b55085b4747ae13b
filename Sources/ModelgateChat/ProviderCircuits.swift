import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// Providers' open circuits as instances publish them, so every instance on one database skips a
/// provider another found down.
public struct ProviderCircuits: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Publishes `provider`'s circuit: open until `until`, or closed (`nil`).
    public func publish(_ provider: Provider, openUntil until: Date?) async throws {
        try await database.write(.crashSafe) { db in
            try await db.raw("""
                INSERT INTO provider_circuits (provider, open_until) VALUES (\(bind: provider.rawValue), \(bind: until))
                ON CONFLICT (provider) DO UPDATE SET open_until = excluded.open_until
                """).run()
        }
    }

    /// The circuits open at `now`, with when each closes.
    public func open(at now: Date) async throws -> [Provider: Date] {
        try await database.read { db in
            var open: [Provider: Date] = [:]
            for row in try await db.raw("SELECT provider, open_until FROM provider_circuits WHERE open_until > \(bind: now)").all() {
                let provider = try row.decodeEnum(column: "provider", as: Provider.self)
                open[provider] = try row.decode(column: "open_until", as: Date.self)
            }
            return open
        }
    }
}
