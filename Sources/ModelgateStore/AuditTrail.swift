import Foundation
import ModelgateCore
import SQLKit

/// One audit row as the console lists it.
public struct AuditEntry: Sendable, Equatable, Codable {
    public let id: Int
    public let actorId: String?
    public let action: AuditAction
    public let targetType: String
    public let targetId: String
    public let before: JSONValue?
    public let after: JSONValue?
    public let createdAt: Date
}

public struct AuditQuery: Sendable {
    public var actor: String?
    public var action: String?
    public var targetType: String?
    public var target: String?
    public var since: Date?
    public var until: Date?
    public var page = 1
    public var perPage = 50

    public init() {}
}

/// Reading the audit log: newest first, filtered in SQL.
public struct AuditTrail: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    public func list(_ query: AuditQuery) async throws -> (entries: [AuditEntry], total: Int) {
        var conditions: [SQLQueryString] = []
        if let actor = query.actor { conditions.append("actor_id = \(bind: actor)") }
        if let action = query.action { conditions.append("action = \(bind: action)") }
        if let type = query.targetType { conditions.append("target_type = \(bind: type)") }
        if let target = query.target { conditions.append("target_id = \(bind: target)") }
        if let since = query.since { conditions.append("created_at >= \(bind: since)") }
        if let until = query.until { conditions.append("created_at < \(bind: until)") }
        let filter: SQLQueryString = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try await database.read { db in
            let rows = try await db.raw("""
                SELECT id, actor_id, action, target_type, target_id, before_value, after_value, created_at FROM audit_log
                \(filter) ORDER BY created_at DESC, id DESC LIMIT \(bind: query.perPage) OFFSET \(bind: (query.page - 1) * query.perPage)
                """).all()
            let total = try await db.raw("SELECT COUNT(*) AS n FROM audit_log \(filter)").first()?.decode(column: "n", as: Int.self) ?? 0
            return (try rows.map(Self.entry), total)
        }
    }

    public static func entry(_ row: any SQLRow) throws -> AuditEntry {
        func json(_ column: String) throws -> JSONValue? {
            try row.decode(column: column, as: String?.self).flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        }
        return AuditEntry(
            id: try row.decode(column: "id", as: Int.self), actorId: try row.decode(column: "actor_id", as: String?.self),
            action: try row.decodeEnum(column: "action", as: AuditAction.self), targetType: try row.decode(column: "target_type", as: String.self),
            targetId: try row.decode(column: "target_id", as: String.self), before: try json("before_value"), after: try json("after_value"),
            createdAt: try row.decode(column: "created_at", as: Date.self))
    }
}
