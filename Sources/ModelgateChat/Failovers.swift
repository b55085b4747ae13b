import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// The failovers that happened, per day.
public struct Failovers: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Counts one failover from `from` to `to` on the UTC `day`.
    public func record(from: ModelID, to: ModelID, day: String) async throws {
        try await database.write { db in
            try await db.raw("""
                INSERT INTO model_failovers_daily (day, from_model_id, to_model_id, failovers)
                VALUES (\(bind: day), \(bind: from.rawValue), \(bind: to.rawValue), 1)
                ON CONFLICT (day, from_model_id, to_model_id) DO UPDATE SET failovers = model_failovers_daily.failovers + 1
                """).run()
        }
    }

    /// Failovers per (from, to) from `first` through `last`, most first.
    public func counts(from first: String, through last: String) async throws -> [FailoverCount] {
        try await database.read { db in
            try await db.raw("""
                SELECT from_model_id, to_model_id, SUM(failovers) AS n FROM model_failovers_daily
                WHERE day >= \(bind: first) AND day <= \(bind: last) GROUP BY from_model_id, to_model_id ORDER BY n DESC, from_model_id, to_model_id
                """).all().map { row in
                FailoverCount(from: ModelID(try row.decode(column: "from_model_id", as: String.self)),
                              to: ModelID(try row.decode(column: "to_model_id", as: String.self)), failovers: try row.decode(column: "n", as: Int.self))
            }
        }
    }
}

/// How often one model answered for another.
public struct FailoverCount: Sendable, Equatable, Codable {
    public let from: ModelID
    public let to: ModelID
    public let failovers: Int
}
