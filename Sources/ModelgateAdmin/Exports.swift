import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// The CSV exports, read in keyset pages so a large export never sits in memory at once.
public enum ExportKind: String, Sendable, CaseIterable {
    case usage, purchases, audit
    /// Per day and model: tokens, provider cost, booked revenue and margin (the margin report's rows).
    case margin

    public var header: [String] {
        switch self {
        case .margin:
            ["day", "model_id", "messages", "calls", "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
             "estimated_calls", "cost_micros", "revenue_cents", "margin_micros"]
        case .usage: ["day", "model_id", "messages", "active_users"]
        case .purchases: ["id", "created_at", "user_id", "email", "model_id", "amount_cents", "currency", "status", "stripe_checkout_session_id"]
        case .audit: ["id", "created_at", "actor_id", "action", "target_type", "target_id", "before", "after"]
        }
    }
}

public struct ExportReader: Sendable {
    let database: Database
    public static let pageSize = 1_000

    public init(database: Database) { self.database = database }

    /// Where the next page starts: the last row's sort key (a day and a model for usage, an id otherwise).
    public struct Cursor: Sendable {
        let key: String
        let model: String
    }

    /// One page of rows after `cursor` (nil: from the start); the next cursor is nil at the end.
    public func page(_ kind: ExportKind, range: DayRange, after cursor: Cursor?) async throws -> (rows: [[String]], next: Cursor?) {
        let rows: [[String]] = try await database.read(.long) { db in
            switch kind {
            case .margin:
                // Read whole from the margin report (a row per day and model), never paged here.
                return []
            case .usage:
                let after: SQLQueryString = cursor.map { "AND (day > \(bind: $0.key) OR (day = \(bind: $0.key) AND model_id > \(bind: $0.model)))" } ?? ""
                return try await db.raw("""
                    SELECT day, model_id, SUM(message_count) AS messages, COUNT(DISTINCT user_id) AS users FROM model_usage_daily
                    WHERE day >= \(bind: range.from) AND day <= \(bind: range.to) \(after)
                    GROUP BY day, model_id ORDER BY day, model_id LIMIT \(bind: Self.pageSize)
                    """).all().map { row in
                    [try row.decode(column: "day", as: String.self), try row.decode(column: "model_id", as: String.self),
                     String(try row.decode(column: "messages", as: Int.self)), String(try row.decode(column: "users", as: Int.self))]
                }
            case .purchases:
                return try await db.raw("""
                    SELECT pu.id, pu.created_at, pu.user_id, p.email, pr.model_id, pu.amount_cents, pu.currency, pu.status,
                        pu.stripe_checkout_session_id
                    FROM purchases pu JOIN products pr ON pr.id = pu.product_id LEFT JOIN profiles p ON p.id = pu.user_id
                    WHERE pu.created_at >= \(bind: range.start) AND pu.created_at < \(bind: range.end) AND pu.id > \(bind: Int(cursor?.key ?? "0") ?? 0)
                    ORDER BY pu.id LIMIT \(bind: Self.pageSize)
                    """).all().map { row -> [String] in
                    [String(try row.decode(column: "id", as: Int.self)), ISO8601Format.string(try row.decode(column: "created_at", as: Date.self)),
                     try row.decode(column: "user_id", as: String.self), try row.decode(column: "email", as: String?.self) ?? "",
                     try row.decode(column: "model_id", as: String.self), String(try row.decode(column: "amount_cents", as: Int.self)),
                     try row.decode(column: "currency", as: String.self), try row.decode(column: "status", as: String.self),
                     try row.decode(column: "stripe_checkout_session_id", as: String?.self) ?? ""]
                }
            case .audit:
                return try await db.raw("""
                    SELECT id, actor_id, action, target_type, target_id, before_value, after_value, created_at FROM audit_log
                    WHERE created_at >= \(bind: range.start) AND created_at < \(bind: range.end) AND id > \(bind: Int(cursor?.key ?? "0") ?? 0)
                    ORDER BY id LIMIT \(bind: Self.pageSize)
                    """).all().map { row in
                    let entry = try AuditTrail.entry(row)
                    return [String(entry.id), ISO8601Format.string(entry.createdAt), entry.actorId ?? "", entry.action.rawValue, entry.targetType,
                            entry.targetId, entry.before?.jsonText ?? "", entry.after?.jsonText ?? ""]
                }
            }
        }
        guard rows.count == Self.pageSize, let last = rows.last, let key = last.first else { return (rows, nil) }
        return (rows, Cursor(key: key, model: kind == .usage ? last.dropFirst().first ?? "" : ""))
    }
}

enum ISO8601Format {
    static func string(_ date: Date) -> String { date.formatted(.iso8601) }
}

extension MarginReport {
    /// The report's rows as the margin export writes them (`ExportKind.margin.header`).
    public var csvRows: [[String]] {
        days.map { row in
            let f = row.figures
            return [row.day, row.modelId.rawValue] + [f.messages, f.calls, f.inputTokens, f.outputTokens, f.cachedInputTokens, f.cacheWriteTokens,
                                                      f.estimatedCalls, f.costMicros, f.revenueCents, f.marginMicros].map(String.init)
        }
    }
}

/// RFC 4180 CSV: fields with a comma, quote or line break are quoted, quotes doubled; CRLF lines.
/// A text cell a spreadsheet would run as a formula (it begins with `= + - @`, a tab or a carriage
/// return, e.g. an email claim `=HYPERLINK(…)`) gets a leading `'`, as OWASP advises; numbers stay numbers.
public enum CSV {
    public static func line(_ fields: [String]) -> String {
        fields.map { field in
            let cell = inert(field)
            return cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
        }.joined(separator: ",") + "\r\n"
    }

    static let formulaStarts: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]

    static func inert(_ field: String) -> String {
        guard let first = field.first, formulaStarts.contains(first), Double(field) == nil else { return field }
        return "'" + field
    }
}

