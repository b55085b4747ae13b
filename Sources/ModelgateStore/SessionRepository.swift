import Foundation
import ModelgateCore
import SQLKit

/// Who a page session or a sign-in code signs in, as the token it was made from said.
public struct SignedInUser: Sendable, Equatable {
    public let user: UserID
    public let email: String?
    public let claimsAdmin: Bool

    public init(user: UserID, email: String?, claimsAdmin: Bool) {
        self.user = user
        self.email = email
        self.claimsAdmin = claimsAdmin
    }
}

/// A stored page session: the user and when it ends.
public struct SessionRecord: Sendable {
    public let signedIn: SignedInUser
    public let expiresAt: Date
    public let lastSeenAt: Date
}

/// Page sessions and one-time sign-in codes. Both are stored only as the SHA-256 of their random
/// secret, so a copy of the database signs nobody in; each is found by that hash.
public struct SessionRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Stores a new session, and drops the user's expired ones.
    public func create(hash: String, for signedIn: SignedInUser, userAgent: String?, expiresAt: Date, at now: Date) async throws {
        try await database.transaction { db in
            try await db.raw("DELETE FROM sessions WHERE user_id = \(bind: signedIn.user.description) AND expires_at <= \(bind: now)").run()
            try await db.raw("""
                INSERT INTO sessions (id_hash, user_id, email, claims_admin, user_agent, created_at, last_seen_at, expires_at)
                VALUES (\(bind: hash), \(bind: signedIn.user.description), \(bind: signedIn.email), \(bind: signedIn.claimsAdmin),
                        \(bind: userAgent.map { String($0.prefix(256)) }), \(bind: now), \(bind: now), \(bind: expiresAt))
                """).run()
        }
    }

    /// The live session with this hash, or nil when it is unknown, deleted or expired.
    public func find(hash: String, at now: Date) async throws -> SessionRecord? {
        try await database.read { db in
            try await db.raw("""
                SELECT user_id, email, claims_admin, expires_at, last_seen_at FROM sessions
                WHERE id_hash = \(bind: hash) AND expires_at > \(bind: now)
                """).first().map { row in
                SessionRecord(
                    signedIn: try Self.signedIn(row), expiresAt: try row.decode(column: "expires_at", as: Date.self),
                    lastSeenAt: try row.decode(column: "last_seen_at", as: Date.self))
            }
        }
    }

    public func touch(hash: String, at now: Date) async throws {
        try await database.write { db in
            try await db.raw("UPDATE sessions SET last_seen_at = \(bind: now) WHERE id_hash = \(bind: hash)").run()
        }
    }

    public func delete(hash: String) async throws {
        try await database.write { db in try await db.raw("DELETE FROM sessions WHERE id_hash = \(bind: hash)").run() }
    }

    /// Ends every session of a user ("sign out everywhere"); the number ended.
    public func deleteAll(of user: UserID) async throws -> Int {
        try await database.write { db in
            try await db.raw("DELETE FROM sessions WHERE user_id = \(bind: user.description) RETURNING id_hash").all().count
        }
    }

    public func createCode(hash: String, for signedIn: SignedInUser, sessionExpiresAt: Date, expiresAt: Date) async throws {
        try await database.write { db in
            try await db.raw("""
                INSERT INTO sign_in_codes (code_hash, user_id, email, claims_admin, session_expires_at, expires_at)
                VALUES (\(bind: hash), \(bind: signedIn.user.description), \(bind: signedIn.email), \(bind: signedIn.claimsAdmin),
                        \(bind: sessionExpiresAt), \(bind: expiresAt))
                """).run()
        }
    }

    /// Whom an unused, unexpired code would sign in, without using it (the page shows it first).
    public func peekCode(hash: String, at now: Date) async throws -> SignedInUser? {
        try await database.read { db in
            try await db.raw("""
                SELECT user_id, email, claims_admin FROM sign_in_codes
                WHERE code_hash = \(bind: hash) AND used_at IS NULL AND expires_at > \(bind: now)
                """).first().map(Self.signedIn)
        }
    }

    /// Uses a code once: one conditional update, so two posts never both sign in.
    public func redeemCode(hash: String, at now: Date) async throws -> (SignedInUser, sessionExpiresAt: Date)? {
        try await database.write { db in
            try await db.raw("""
                UPDATE sign_in_codes SET used_at = \(bind: now)
                WHERE code_hash = \(bind: hash) AND used_at IS NULL AND expires_at > \(bind: now)
                RETURNING user_id, email, claims_admin, session_expires_at
                """).first().map { (try Self.signedIn($0), try $0.decode(column: "session_expires_at", as: Date.self)) }
        }
    }

    private static func signedIn(_ row: any SQLRow) throws -> SignedInUser {
        SignedInUser(
            user: try row.decodeUserID(column: "user_id"), email: try row.decode(column: "email", as: String?.self),
            claimsAdmin: try row.decode(column: "claims_admin", as: Bool.self))
    }
}
