import Foundation
import ModelgateCore
import SQLKit

/// A change to a user's preferences: `nil` leaves a value alone, `.some(nil)` clears it.
public struct PreferencesChange: Sendable, Equatable {
    public var defaultModelId: ModelID??
    public var personaOverrides: [PersonaID: ModelID?]

    public init(defaultModelId: ModelID?? = nil, personaOverrides: [PersonaID: ModelID?] = [:]) {
        self.defaultModelId = defaultModelId
        self.personaOverrides = personaOverrides
    }
}

public struct ProfileRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// The user's profile, created on first sight. One read when the profile exists.
    public func findOrCreate(_ id: UserID, email: String?, at now: Date) async throws -> Profile {
        if let profile = try await find(id) {
            if let email, profile.email != email {
                try await database.write { db in
                    try await db.raw("UPDATE profiles SET email = \(bind: email), updated_at = \(bind: now) WHERE id = \(bind: id.description)").run()
                }
                var updated = profile
                updated.email = email
                return updated
            }
            return profile
        }
        try await database.write { db in
            try await db.raw("""
                INSERT INTO profiles (id, email, role, timezone, created_at, updated_at)
                VALUES (\(bind: id.description), \(bind: email), 'user', 'UTC', \(bind: now), \(bind: now))
                ON CONFLICT (id) DO NOTHING
                """).run()
        }
        guard let created = try await find(id) else { throw ModelgateError.notFound(what: "profile", id: id.description) }
        return created
    }

    public func find(_ id: UserID) async throws -> Profile? {
        try await database.read { db in
            guard let row = try await db.raw("""
                SELECT id, email, role, default_model_id, timezone, pending_timezone, pending_timezone_from, created_at
                FROM profiles WHERE id = \(bind: id.description)
                """).first()
            else { return nil }
            let overrides = try await db.raw("""
                SELECT persona_id, model_id FROM persona_model_overrides WHERE user_id = \(bind: id.description)
                """).all()
            var byPersona: [PersonaID: ModelID] = [:]
            for override in overrides {
                byPersona[PersonaID(try override.decode(column: "persona_id", as: String.self))] =
                    ModelID(try override.decode(column: "model_id", as: String.self))
            }
            return Profile(
                id: id,
                email: try row.decode(column: "email", as: String?.self),
                role: try row.decodeEnum(column: "role", as: Role.self),
                preferences: ModelPreferences(
                    defaultModelId: try row.decode(column: "default_model_id", as: String?.self).map(ModelID.init(rawValue:)),
                    personaOverrides: byPersona),
                timeZone: UserTimeZone(
                    current: try row.decode(column: "timezone", as: String.self),
                    pending: try row.decode(column: "pending_timezone", as: String?.self),
                    pendingFrom: try row.decode(column: "pending_timezone_from", as: Date?.self)),
                createdAt: try row.decode(column: "created_at", as: Date.self))
        }
    }

    /// Applies a change that the caller has already validated, all of it in one transaction.
    /// Writes the change in one transaction, with `model_preference_saved` (the state after it) when `outbox` is given.
    public func apply(_ change: PreferencesChange, to id: UserID, at now: Date, outbox: AnalyticsOutbox? = nil) async throws {
        try await database.transaction { db in
            let user = id.description
            if let newDefault = change.defaultModelId {
                try await db.raw("""
                    UPDATE profiles SET default_model_id = \(bind: newDefault?.rawValue), updated_at = \(bind: now) WHERE id = \(bind: user)
                    """).run()
            }
            for (persona, model) in change.personaOverrides.sorted(by: { $0.key < $1.key }) {
                if let model {
                    try await db.raw("""
                        INSERT INTO persona_model_overrides (user_id, persona_id, model_id, updated_at)
                        VALUES (\(bind: user), \(bind: persona.rawValue), \(bind: model.rawValue), \(bind: now))
                        ON CONFLICT (user_id, persona_id) DO UPDATE SET model_id = excluded.model_id, updated_at = excluded.updated_at
                        """).run()
                } else {
                    try await db.raw("""
                        DELETE FROM persona_model_overrides WHERE user_id = \(bind: user) AND persona_id = \(bind: persona.rawValue)
                        """).run()
                }
            }
            guard let outbox else { return }
            let saved = try await db.raw("""
                SELECT default_model_id, (SELECT COUNT(*) FROM persona_model_overrides WHERE user_id = \(bind: user)) AS overrides
                FROM profiles WHERE id = \(bind: user)
                """).first()
            let event = AnalyticsEvent.modelPreferenceSaved(
                defaultModel: try saved?.decode(column: "default_model_id", as: String?.self).map(ModelID.init(rawValue:)),
                hasOverrides: try (saved?.decode(column: "overrides", as: Int.self) ?? 0) > 0)
            try await outbox.enqueue([event], for: id, at: now, in: db)
        }
    }

    public func setTimeZone(_ zone: UserTimeZone, for id: UserID, at now: Date) async throws {
        try await database.write { db in
            try await db.raw("""
                UPDATE profiles SET timezone = \(bind: zone.current), pending_timezone = \(bind: zone.pending),
                    pending_timezone_from = \(bind: zone.pendingFrom), updated_at = \(bind: now)
                WHERE id = \(bind: id.description)
                """).run()
        }
    }
}
