import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// What a user may do per window of time or at once, counted in the database so every instance
/// shares one count: request windows (one conditional upsert each) and open chat calls.
public struct UserLimitRepository: Sendable {
    /// What a request window counts.
    public enum Scope: String, Sendable {
        case chat, checkout
    }

    let database: Database

    public init(database: Database) { self.database = database }

    /// Counts one request in the user's `window` of `scope` unless it is full; `false` when refused.
    public func take(_ scope: Scope, user: UserID, window: String, limit: Int) async throws -> Bool {
        try await database.write(.crashSafe) { db in try await Self.take(scope, user: user, window: window, limit: limit, in: db) }
    }

    private static func take(_ scope: Scope, user: UserID, window: String, limit: Int, in db: any SQLDatabase) async throws -> Bool {
        try await db.raw("""
            INSERT INTO user_request_windows (user_id, scope, window_start, requests)
            VALUES (\(bind: user.description), \(bind: scope.rawValue), \(bind: window), 1)
            ON CONFLICT (user_id, scope, window_start) DO UPDATE SET requests = user_request_windows.requests + 1
            WHERE user_request_windows.requests < \(bind: limit)
            RETURNING requests
            """).all().count == 1
    }

    /// A chat call's request of the minute (`window`), then its open slot (`stream`), in one
    /// transaction. A refused slot still counts its request, as a refused call is one.
    public enum ChatAdmission: Sendable, Equatable {
        case admitted, windowFull, tooManyStreams
    }

    public struct RequestWindow: Sendable {
        public let start: String
        public let limit: Int
        public init(start: String, limit: Int) {
            self.start = start
            self.limit = limit
        }
    }

    public struct StreamSlot: Sendable {
        public let id: String
        public let limit: Int
        public let expiresAt: Date
        public init(id: String, limit: Int, expiresAt: Date) {
            self.id = id
            self.limit = limit
            self.expiresAt = expiresAt
        }
    }

    /// Slot acquisitions of one user are serialized (a row lock on the profile on PostgreSQL, the
    /// one writer on SQLite), so the count is exact across instances; slots of a crashed instance
    /// expire at `expiresAt`.
    public func admitChat(_ user: UserID, window: RequestWindow?, stream: StreamSlot?, at now: Date) async throws -> ChatAdmission {
        let backend = database.backend
        return try await database.transaction(.crashSafe) { db in
            if let window, try await !Self.take(.chat, user: user, window: window.start, limit: window.limit, in: db) { return .windowFull }
            guard let stream else { return .admitted }
            if backend == .postgres { try await db.raw("SELECT id FROM profiles WHERE id = \(bind: user.description) FOR UPDATE").run() }
            // Counted after the lock, by a statement of its own (a new snapshot on PostgreSQL), so
            // it sees every slot committed before; expired slots do not count.
            let opened = try await db.raw("""
                INSERT INTO user_streams (id, user_id, expires_at)
                SELECT \(bind: stream.id), \(bind: user.description), \(bind: stream.expiresAt)
                WHERE (SELECT COUNT(*) FROM user_streams WHERE user_id = \(bind: user.description) AND expires_at > \(bind: now)) < \(bind: stream.limit)
                RETURNING id
                """).first()
            return opened == nil ? .tooManyStreams : .admitted
        }
    }

    /// Frees the slot, and sweeps the user's slots that expired (left by an instance that died).
    public func closeStream(id: String, user: UserID, at now: Date) async throws {
        try await database.write(.crashSafe) { db in
            try await db.raw("""
                DELETE FROM user_streams WHERE id = \(bind: id) OR (user_id = \(bind: user.description) AND expires_at <= \(bind: now))
                """).run()
        }
    }

    /// Deletes every user's slots that expired by `now` (they count for nothing already).
    public func sweepSlots(at now: Date) async throws {
        try await database.write { db in try await db.raw("DELETE FROM user_streams WHERE expires_at <= \(bind: now)").run() }
    }
}
