import Foundation
import ModelgateCore
import SQLKit

/// Failover groups: each model's ordered stand-ins, part of the catalog snapshot.
public enum StandIns {
    /// Every model's stand-ins, in order.
    public static func groups(in db: any SQLDatabase) async throws -> [ModelID: [StandIn]] {
        var groups: [ModelID: [StandIn]] = [:]
        for row in try await db.raw("SELECT model_id, stand_in_id, allow_higher_tier FROM failover_stand_ins ORDER BY model_id, position").all() {
            groups[ModelID(try row.decode(column: "model_id", as: String.self)), default: []].append(
                StandIn(modelId: ModelID(try row.decode(column: "stand_in_id", as: String.self)),
                        allowHigherTier: try row.decode(column: "allow_higher_tier", as: Bool.self)))
        }
        return groups
    }

    public static func replace(_ model: ModelID, with standIns: [StandIn], in db: any SQLDatabase) async throws {
        try await db.raw("DELETE FROM failover_stand_ins WHERE model_id = \(bind: model.rawValue)").run()
        for (position, standIn) in standIns.enumerated() {
            try await db.raw("""
                INSERT INTO failover_stand_ins (model_id, position, stand_in_id, allow_higher_tier)
                VALUES (\(bind: model.rawValue), \(bind: position), \(bind: standIn.modelId.rawValue), \(bind: standIn.allowHigherTier))
                """).run()
        }
    }
}
