import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// The admin table of models: filters, search, sort and pages, with today's message count.
public struct ModelListQuery: Sendable {
    public enum Sort: String, Sendable, CaseIterable {
        case name, provider, tier, sortOrder, messagesToday
    }

    public var tier: Tier?
    public var kind: ModelKind?
    public var provider: Provider?
    public var enabled: Bool?
    public var search: String?
    public var sort: Sort = .sortOrder
    public var descending = false
    public var page = 1
    public var perPage = 25

    public init() {}
}

public struct ModelListPage: Sendable {
    public let models: [(model: AIModel, messagesToday: Int)]
    public let total: Int
}

/// The admin console's model table: filtered, sorted and paged in SQL, with today's messages.
struct ModelListing: Sendable {
    let database: Database

    func list(_ query: ModelListQuery, today: String) async throws -> ModelListPage {
        var conditions: [SQLQueryString] = []
        if let tier = query.tier { conditions.append("m.tier = \(bind: tier.rawValue)") }
        if let kind = query.kind { conditions.append("m.kind = \(bind: kind.rawValue)") }
        if let provider = query.provider { conditions.append("m.provider = \(bind: provider.rawValue)") }
        if let enabled = query.enabled { conditions.append("m.enabled = \(bind: enabled)") }
        if let search = query.search?.lowercased().trimmingCharacters(in: .whitespaces), !search.isEmpty {
            let pattern = "%" + search.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "") + "%"
            conditions.append("(LOWER(m.id) LIKE \(bind: pattern) OR LOWER(m.display_name) LIKE \(bind: pattern))")
        }
        let filter: SQLQueryString = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let column = switch query.sort {
        case .name: "LOWER(m.display_name)"
        case .provider: "m.provider"
        case .tier: "m.tier"
        case .sortOrder: "m.sort_order"
        case .messagesToday: "messages_today"
        }
        let direction = query.descending ? "DESC" : "ASC"
        let prefixed = CatalogRepository.columns.split(separator: ",").map { "m." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
        return try await database.read { db in
            let rows = try await db.raw("""
                SELECT \(unsafeRaw: prefixed), COALESCE(u.messages, 0) AS messages_today
                FROM ai_models m LEFT JOIN (
                    SELECT model_id, SUM(message_count) AS messages FROM model_usage_daily WHERE day = \(bind: today) GROUP BY model_id
                ) u ON u.model_id = m.id
                \(filter) ORDER BY \(unsafeRaw: column) \(unsafeRaw: direction), m.id
                LIMIT \(bind: query.perPage) OFFSET \(bind: (query.page - 1) * query.perPage)
                """).all()
            let total = try await db.raw("SELECT COUNT(*) AS n FROM ai_models m \(filter)").first()?.decode(column: "n", as: Int.self) ?? 0
            return ModelListPage(
                models: try rows.map { (try CatalogRepository.decodeModel($0), try $0.decode(column: "messages_today", as: Int.self)) }, total: total)
        }
    }
}
