import Foundation
import ModelgateCore
import SQLKit

/// Writes product analytics events to `analytics_outbox`, in the transaction of the change they
/// describe; the sender delivers them later. Each row's id is the event's PostHog `uuid`.
public struct AnalyticsOutbox: Sendable {
    let makeID: @Sendable () -> UUID

    public init(makeID: @escaping @Sendable () -> UUID) { self.makeID = makeID }

    /// Adds `events` of `user` (their `distinct_id`) with one statement on `db`, the caller's
    /// transaction; returns the rows' ids.
    @discardableResult
    public func enqueue(_ events: [AnalyticsEvent], for user: UserID, at now: Date, in db: any SQLDatabase) async throws -> [String] {
        guard let rows = rows(events, for: user, at: now) else { return [] }
        try await db.raw("INSERT INTO analytics_outbox (\(unsafeRaw: Self.columns)) VALUES " + rows.values).run()
        return rows.ids
    }

    public static let columns = "id, event, distinct_id, properties, created_at"

    /// The rows of `events` as a `VALUES` list in `columns` order, and their ids; `nil` for none.
    public func rows(_ events: [AnalyticsEvent], for user: UserID, at now: Date) -> (ids: [String], values: SQLQueryString)? {
        guard !events.isEmpty else { return nil }
        let ids = events.map { _ in makeID().uuidString.lowercased() }
        let rows: [SQLQueryString] = zip(ids, events).map { id, event in
            let properties = JSONValue.object(event.properties).jsonText
            return "(\(bind: id), \(bind: event.name.rawValue), \(bind: user.description), \(bind: properties), \(bind: now))"
        }
        return (ids, rows.joined(separator: ", "))
    }

    /// Takes back undelivered events whose change was undone (a charge given back), in that transaction.
    public static func withdraw(_ ids: [String], in db: any SQLDatabase) async throws {
        guard !ids.isEmpty else { return }
        try await db.raw("DELETE FROM analytics_outbox WHERE delivered_at IS NULL AND id IN (\(binds: ids))").run()
    }

    /// Records events that go with no change of data (a refused message): one statement, atomic on its own.
    public func record(_ events: [AnalyticsEvent], for user: UserID, at now: Date, in database: Database) async throws {
        _ = try await database.write { try await enqueue(events, for: user, at: now, in: $0) }
    }
}

/// One outbox row as the sender and `modelgate analytics tail` read it.
public struct OutboxRow: Sendable, Equatable {
    public let id: String
    public let event: String
    public let distinctID: String
    public let properties: JSONValue
    public let createdAt: Date
    public let deliveredAt: Date?
    public let attempts: Int
    public let lastError: String?
}

/// The sender's queries: claim pending rows, settle them, prune, count.
public struct OutboxRepository: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    static let columns: SQLQueryString = "id, event, distinct_id, properties, created_at, delivered_at, attempts, last_error"

    /// The oldest undelivered rows. With `lock` (PostgreSQL, inside a transaction) they are locked
    /// with `FOR UPDATE SKIP LOCKED`, so other instances take other rows meanwhile.
    public static func pending(limit: Int, lock: Bool, in db: any SQLDatabase) async throws -> [OutboxRow] {
        let locking: SQLQueryString = lock ? " FOR UPDATE SKIP LOCKED" : ""
        return try await db.raw("""
            SELECT \(columns) FROM analytics_outbox WHERE delivered_at IS NULL
            ORDER BY created_at, id LIMIT \(literal: limit)
            """ + locking).all().map(Self.row)
    }

    public static func markDelivered(_ ids: [String], at now: Date, in db: any SQLDatabase) async throws {
        guard !ids.isEmpty else { return }
        try await db.raw("""
            UPDATE analytics_outbox SET delivered_at = \(bind: now), attempts = attempts + 1, last_error = NULL
            WHERE id IN (\(binds: ids))
            """).run()
    }

    public static func markFailed(_ ids: [String], error: String, in db: any SQLDatabase) async throws {
        guard !ids.isEmpty else { return }
        try await db.raw("""
            UPDATE analytics_outbox SET attempts = attempts + 1, last_error = \(bind: String(error.prefix(500)))
            WHERE id IN (\(binds: ids))
            """).run()
    }

    /// Deletes delivered rows delivered before `deliveredBefore` and undelivered rows created
    /// before `undeliveredBefore`; returns how many of each.
    public func purge(deliveredBefore: Date, undeliveredBefore: Date) async throws -> (delivered: Int, dropped: Int) {
        try await database.write { db in
            let delivered = try await db.raw("""
                DELETE FROM analytics_outbox WHERE delivered_at IS NOT NULL AND delivered_at < \(bind: deliveredBefore) RETURNING id
                """).all().count
            let dropped = try await db.raw("""
                DELETE FROM analytics_outbox WHERE delivered_at IS NULL AND created_at < \(bind: undeliveredBefore) RETURNING id
                """).all().count
            return (delivered, dropped)
        }
    }

    /// Undelivered rows.
    public func depth() async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM analytics_outbox WHERE delivered_at IS NULL").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// The newest `limit` rows, oldest first.
    public func recent(limit: Int) async throws -> [OutboxRow] {
        try await database.read { db in
            try await db.raw("""
                SELECT \(Self.columns) FROM analytics_outbox ORDER BY created_at DESC, id DESC LIMIT \(literal: limit)
                """).all().map(Self.row).reversed()
        }
    }

    /// Rows written after `cursor` (created later, or at the same time with a greater id), oldest first.
    public func after(_ cursor: OutboxRow, limit: Int) async throws -> [OutboxRow] {
        try await database.read { db in
            try await db.raw("""
                SELECT \(Self.columns) FROM analytics_outbox
                WHERE created_at > \(bind: cursor.createdAt) OR (created_at = \(bind: cursor.createdAt) AND id > \(bind: cursor.id))
                ORDER BY created_at, id LIMIT \(literal: limit)
                """).all().map(Self.row)
        }
    }

    static func row(_ row: any SQLRow) throws -> OutboxRow {
        let properties = try row.decode(column: "properties", as: String.self)
        return OutboxRow(
            id: try row.decode(column: "id", as: String.self), event: try row.decode(column: "event", as: String.self),
            distinctID: try row.decode(column: "distinct_id", as: String.self),
            properties: try JSONDecoder().decode(JSONValue.self, from: Data(properties.utf8)),
            createdAt: try row.decode(column: "created_at", as: Date.self), deliveredAt: try row.decode(column: "delivered_at", as: Date?.self),
            attempts: try row.decode(column: "attempts", as: Int.self), lastError: try row.decode(column: "last_error", as: String?.self))
    }
}
