import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// Apps, their keys, their end users, and the per-key request windows. Nothing is cached: a key
/// revoked on one instance is refused by every instance on its next request.
public struct ApiKeyRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Creates the key (and its app on first use) with its `key.created` audit row, in one transaction.
    public func create(_ key: NewApiKey, by actor: Actor, makeAppID: @Sendable () -> String, at now: Date) async throws -> ApiKey {
        let appID = makeAppID()
        return try await database.transaction { db in
            try await db.raw("""
                INSERT INTO apps (id, name, created_at) VALUES (\(bind: appID), \(bind: key.app), \(bind: now))
                ON CONFLICT (name) DO NOTHING
                """).run()
            try await db.raw("""
                INSERT INTO api_keys (id, app_id, name, kind, prefix, secret_hash, user_id, rpm_limit, rpm_per_end_user, max_streams,
                                      max_streams_per_end_user, task_model_id, task_daily_budget, forwarded_user_headers, created_at, expires_at)
                SELECT \(bind: key.id), id, \(bind: key.name), \(bind: key.kind.rawValue), \(bind: key.prefix), \(bind: key.secretHash),
                       \(bind: key.userID?.description), \(bind: key.limits.rpm), \(bind: key.limits.rpmPerEndUser), \(bind: key.limits.maxStreams),
                       \(bind: key.limits.maxStreamsPerEndUser), \(bind: key.limits.taskModel?.rawValue),
                       \(bind: key.limits.taskDailyBudget), \(bind: key.acceptsForwardedUserHeaders ? 1 : 0), \(bind: now), \(bind: key.expiresAt)
                FROM apps WHERE name = \(bind: key.app)
                """).run()
            guard let created = try await Self.select("k.id = \(bind: key.id)", in: db).first else {
                throw ModelgateError.notFound(what: "api key", id: key.id)
            }
            try await AuditLog.record(actor: actor.id, action: .keyCreated, targetType: "api_key", targetID: created.id, before: nil,
                                      after: try JSONValue(encoding: created), at: now, in: db)
            return created
        }
    }

    public func find(_ id: String) async throws -> ApiKey? {
        try await database.read { db in try await Self.select("k.id = \(bind: id)", in: db).first }
    }

    public func list() async throws -> [ApiKey] {
        try await database.read { db in try await Self.select("1 = 1", in: db) }
    }

    /// Revokes the key; false when it was already revoked (or does not exist).
    /// Revokes a live key with its `key.revoked` audit row; false when it was already revoked.
    public func revoke(_ id: String, by actor: Actor, at now: Date) async throws -> Bool {
        try await database.transaction { db in
            let rows = try await db.raw("UPDATE api_keys SET revoked_at = \(bind: now) WHERE id = \(bind: id) AND revoked_at IS NULL RETURNING id").all()
            guard !rows.isEmpty else { return false }
            try await AuditLog.record(actor: actor.id, action: .keyRevoked, targetType: "api_key", targetID: id, before: nil, after: nil, at: now, in: db)
            return true
        }
    }

    /// Records use at most once a minute per key, so a busy key does not write on every request.
    public func touch(_ key: ApiKey, at now: Date) async throws {
        if let last = key.lastUsedAt, now.timeIntervalSince(last) < 60 { return }
        try await database.write { db in
            try await db.raw("UPDATE api_keys SET last_used_at = \(bind: now) WHERE id = \(bind: key.id)").run()
        }
    }

    /// The profile of an app's end user, created on first sight. Two instances racing on a new
    /// end user agree on one: the insert is a no-op when the other won.
    public func endUser(app: String, externalID: String, newUser: UserID, at now: Date) async throws -> UserID {
        guard (1...128).contains(externalID.count) else {
            throw ModelgateError.invalidField(field: "externalId", reason: "must be 1–128 characters")
        }
        return try await database.transaction { db in
            // An app by its id or, as the keys list shows it, its name.
            guard let app = try await db.raw("SELECT id FROM apps WHERE id = \(bind: app) OR name = \(bind: app)").first()?
                .decode(column: "id", as: String.self) else {
                throw ModelgateError.notFound(what: "app", id: app)
            }
            if let row = try await db.raw("""
                SELECT user_id FROM end_users WHERE app_id = \(bind: app) AND external_id = \(bind: externalID)
                """).first() {
                return try row.decodeUserID(column: "user_id")
            }
            try await db.raw("""
                INSERT INTO profiles (id, email, role, timezone, created_at, updated_at)
                VALUES (\(bind: newUser.description), NULL, 'user', 'UTC', \(bind: now), \(bind: now))
                """).run()
            let inserted = try await db.raw("""
                INSERT INTO end_users (app_id, external_id, user_id, created_at)
                VALUES (\(bind: app), \(bind: externalID), \(bind: newUser.description), \(bind: now))
                ON CONFLICT (app_id, external_id) DO NOTHING RETURNING user_id
                """).all()
            if inserted.isEmpty {
                try await db.raw("DELETE FROM profiles WHERE id = \(bind: newUser.description)").run()
                guard let row = try await db.raw("""
                    SELECT user_id FROM end_users WHERE app_id = \(bind: app) AND external_id = \(bind: externalID)
                    """).first() else { throw ModelgateError.notFound(what: "end user", id: externalID) }
                return try row.decodeUserID(column: "user_id")
            }
            return newUser
        }
    }

    /// Counts one request in a minute window of the key (`subject` "" for the whole key, or an end
    /// user's id), unless the window is full: one conditional upsert, so any number of instances can
    /// never let more than `limit` through.
    public func takeRequest(key: String, subject: String = "", window: String, limit: Int) async throws -> Bool {
        try await database.write(.crashSafe) { db in
            try await db.raw("""
                INSERT INTO key_request_windows (key_id, subject, window_start, requests) VALUES (\(bind: key), \(bind: subject), \(bind: window), 1)
                ON CONFLICT (key_id, subject, window_start) DO UPDATE SET requests = key_request_windows.requests + 1
                WHERE key_request_windows.requests < \(bind: limit)
                RETURNING requests
                """).all().count == 1
        }
    }

    /// Opens a chat call slot for the key (and its end user `subject`) unless either is at its limit.
    /// Acquisitions of one key are serialized (a row lock on PostgreSQL, the one writer on SQLite),
    /// so the count is exact across instances; slots of a crashed instance expire at `expiresAt`.
    public func openStream(id: String, key: ApiKey, subject: String, expiresAt: Date, at now: Date) async throws -> Bool {
        let backend = database.backend
        return try await database.transaction(.crashSafe) { db in
            if backend == .postgres { try await db.raw("SELECT id FROM api_keys WHERE id = \(bind: key.id) FOR UPDATE").run() }
            try await db.raw("DELETE FROM key_streams WHERE key_id = \(bind: key.id) AND expires_at <= \(bind: now)").run()
            let counts = try await db.raw("""
                SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN subject = \(bind: subject) THEN 1 ELSE 0 END), 0) AS mine
                FROM key_streams WHERE key_id = \(bind: key.id)
                """).first()
            let total = try counts?.decode(column: "total", as: Int.self) ?? 0
            let mine = try counts?.decode(column: "mine", as: Int.self) ?? 0
            if let limit = key.limits.maxStreams, total >= limit { return false }
            if let limit = key.limits.maxStreamsPerEndUser, mine >= limit { return false }
            try await db.raw("""
                INSERT INTO key_streams (id, key_id, subject, expires_at) VALUES (\(bind: id), \(bind: key.id), \(bind: subject), \(bind: expiresAt))
                """).run()
            return true
        }
    }

    public func closeStream(id: String) async throws {
        try await database.write(.crashSafe) { db in try await db.raw("DELETE FROM key_streams WHERE id = \(bind: id)").run() }
    }

    /// Deletes every key's slots that expired by `now` (they count for nothing already).
    public func sweepSlots(at now: Date) async throws {
        try await database.write { db in try await db.raw("DELETE FROM key_streams WHERE expires_at <= \(bind: now)").run() }
    }

    /// Stores a sign-in link (only its token's hash) for an end user.
    public func createSignInLink(tokenHash: String, user: UserID, key: String, expiresAt: Date, at now: Date) async throws {
        try await database.write { db in
            try await db.raw("""
                INSERT INTO sign_in_links (token_hash, user_id, key_id, expires_at, created_at)
                VALUES (\(bind: tokenHash), \(bind: user.description), \(bind: key), \(bind: expiresAt), \(bind: now))
                """).run()
        }
    }

    /// The end user an unused, unexpired link would sign in, without using it (the page asks first).
    public func peekSignInLink(tokenHash: String, at now: Date) async throws -> UserID? {
        try await database.read { db in
            try await db.raw("""
                SELECT user_id FROM sign_in_links
                WHERE token_hash = \(bind: tokenHash) AND used_at IS NULL AND expires_at > \(bind: now)
                  AND key_id IN (SELECT id FROM api_keys WHERE revoked_at IS NULL)
                """).first().map { try $0.decodeUserID(column: "user_id") }
        }
    }

    /// Uses a sign-in link once: the user it signs in, or nil when it is unknown, used, expired, or
    /// its key was revoked since. One conditional update, so two clicks never both sign in.
    public func redeemSignInLink(tokenHash: String, at now: Date) async throws -> UserID? {
        try await database.write { db in
            try await db.raw("""
                UPDATE sign_in_links SET used_at = \(bind: now)
                WHERE token_hash = \(bind: tokenHash) AND used_at IS NULL AND expires_at > \(bind: now)
                  AND key_id IN (SELECT id FROM api_keys WHERE revoked_at IS NULL)
                RETURNING user_id
                """).first().map { try $0.decodeUserID(column: "user_id") }
        }
    }

    private static func select(_ condition: SQLQueryString, in db: any SQLDatabase) async throws -> [ApiKey] {
        try await db.raw("""
            SELECT k.id, k.app_id, a.name AS app_name, k.name, k.kind, k.prefix, k.secret_hash, k.user_id, k.rpm_limit, k.rpm_per_end_user,
                   k.max_streams, k.max_streams_per_end_user, k.task_model_id, k.task_daily_budget,
                   k.forwarded_user_headers, k.created_at, k.last_used_at, k.expires_at, k.revoked_at
            FROM api_keys k JOIN apps a ON a.id = k.app_id WHERE \(condition) ORDER BY k.created_at, k.id
            """).all().map { row in
            ApiKey(
                id: try row.decode(column: "id", as: String.self), appID: try row.decode(column: "app_id", as: String.self),
                appName: try row.decode(column: "app_name", as: String.self), name: try row.decode(column: "name", as: String.self),
                kind: try row.decodeEnum(column: "kind", as: ApiKeyKind.self), prefix: try row.decode(column: "prefix", as: String.self),
                secretHash: try row.decode(column: "secret_hash", as: String.self),
                userID: try row.decode(column: "user_id", as: String?.self).flatMap(UserID.init),
                limits: ApiKeyLimits(
                    rpm: try row.decode(column: "rpm_limit", as: Int?.self), rpmPerEndUser: try row.decode(column: "rpm_per_end_user", as: Int?.self),
                    maxStreams: try row.decode(column: "max_streams", as: Int?.self),
                    maxStreamsPerEndUser: try row.decode(column: "max_streams_per_end_user", as: Int?.self),
                    taskModel: try row.decode(column: "task_model_id", as: String?.self).map(ModelID.init(rawValue:)),
                    taskDailyBudget: try row.decode(column: "task_daily_budget", as: Int?.self)),
                acceptsForwardedUserHeaders: try row.decode(column: "forwarded_user_headers", as: Int.self) != 0,
                createdAt: try row.decode(column: "created_at", as: Date.self), lastUsedAt: try row.decode(column: "last_used_at", as: Date?.self),
                expiresAt: try row.decode(column: "expires_at", as: Date?.self), revokedAt: try row.decode(column: "revoked_at", as: Date?.self))
        }
    }
}
