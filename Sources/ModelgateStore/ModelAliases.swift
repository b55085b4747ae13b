import Foundation
import ModelgateCore
import SQLKit

/// `model_aliases`: read with the catalog, written by admins.
public enum ModelAliases {
    static func all(in db: any SQLDatabase) async throws -> [ModelAlias] {
        try await db.raw("SELECT name, model_id, match_kind FROM model_aliases ORDER BY name").all().map { row in
            ModelAlias(name: try row.decode(column: "name", as: String.self), modelId: ModelID(try row.decode(column: "model_id", as: String.self)),
                       match: try row.decodeEnum(column: "match_kind", as: ModelAlias.Match.self))
        }
    }

    public static func save(_ alias: ModelAlias, at now: Date, in db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO model_aliases (name, model_id, match_kind, updated_at)
            VALUES (\(bind: alias.name), \(bind: alias.modelId.rawValue), \(bind: alias.match.rawValue), \(bind: now))
            ON CONFLICT (name) DO UPDATE SET model_id = excluded.model_id, match_kind = excluded.match_kind, updated_at = excluded.updated_at
            """).run()
    }

    /// Removes an alias; false when there was none.
    public static func remove(_ name: String, in db: any SQLDatabase) async throws -> Bool {
        try await db.raw("DELETE FROM model_aliases WHERE name = \(bind: name) RETURNING name").first() != nil
    }
}
