import Foundation
import ModelgateCore
import SQLKit

/// Failover groups (a model's ordered stand-ins) and the failovers that happened, per day.
public enum Failovers {
    /// Every model's stand-ins, in order.
    static func groups(in db: any SQLDatabase) async throws -> [ModelID: [StandIn]] {
        var groups: [ModelID: [StandIn]] = [:]
        for row in try await db.raw("SELECT model_id, stand_in_id, allow_higher_tier FROM failover_stand_ins ORDER BY model_id, position").all() {
            groups[ModelID(try row.decode(column: "model_id", as: String.self)), default: []].append(
                StandIn(modelId: ModelID(try row.decode(column: "stand_in_id", as: String.self)),
                        allowHigherTier: try row.decode(column: "allow_higher_tier", as: Bool.self)))
        }
        return groups
    }

    static func replace(_ model: ModelID, with standIns: [StandIn], in db: any SQLDatabase) async throws {
        try await db.raw("DELETE FROM failover_stand_ins WHERE model_id = \(bind: model.rawValue)").run()
        for (position, standIn) in standIns.enumerated() {
            try await db.raw("""
                INSERT INTO failover_stand_ins (model_id, position, stand_in_id, allow_higher_tier)
                VALUES (\(bind: model.rawValue), \(bind: position), \(bind: standIn.modelId.rawValue), \(bind: standIn.allowHigherTier))
                """).run()
        }
    }

    /// Counts one failover from `from` to `to` on the UTC `day`.
    public static func record(from: ModelID, to: ModelID, day: String, in database: Database) async throws {
        try await database.write { db in
            try await db.raw("""
                INSERT INTO model_failovers_daily (day, from_model_id, to_model_id, failovers)
                VALUES (\(bind: day), \(bind: from.rawValue), \(bind: to.rawValue), 1)
                ON CONFLICT (day, from_model_id, to_model_id) DO UPDATE SET failovers = model_failovers_daily.failovers + 1
                """).run()
        }
    }

    /// Failovers per (from, to) from `first` through `last`, most first.
    public static func counts(from first: String, through last: String, in database: Database) async throws -> [FailoverCount] {
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

extension CatalogAdministration {
    /// Replaces `model`'s stand-ins after checking them against the catalog and the other groups; audited.
    public func setStandIns(_ standIns: [StandIn], of model: ModelID, by actor: Actor, at now: Date) async throws {
        try await database.transaction { db in
            let catalog = try await CatalogRepository.snapshot(in: db)
            let problems = FailoverRules.problems(of: standIns, for: model, in: catalog, groups: catalog.standIns)
            guard problems.isEmpty else {
                if catalog.model(model) == nil { throw ModelgateError.notFound(what: "model", id: model.rawValue) }
                throw ModelgateError.validationFailed(problems)
            }
            let before = catalog.standIns[model] ?? []
            try await Failovers.replace(model, with: standIns, in: db)
            try await AuditLog.record(actor: actor.id, action: "model.failover_changed", targetType: "model", targetID: model.rawValue,
                                      before: try JSONValue(encoding: before), after: try JSONValue(encoding: standIns), at: now, in: db)
            try await Self.bumpVersion(at: now, in: db)
        }
    }
}
