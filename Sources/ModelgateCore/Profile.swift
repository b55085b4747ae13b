import Foundation

public enum Role: String, Sendable, Codable {
    case user, admin
}

/// A user as Modelgate knows them: created on their first authenticated request.
public struct Profile: Sendable, Equatable {
    public let id: UserID
    public var email: String?
    public var role: Role
    public var preferences: ModelPreferences
    public var timeZone: UserTimeZone
    public let createdAt: Date

    public init(id: UserID, email: String?, role: Role, preferences: ModelPreferences, timeZone: UserTimeZone, createdAt: Date) {
        self.id = id
        self.email = email
        self.role = role
        self.preferences = preferences
        self.timeZone = timeZone
        self.createdAt = createdAt
    }
}

/// A coach the user talks to.
public struct Persona: Sendable, Equatable, Codable {
    public let id: PersonaID
    public let name: String
    public let description: String
    public let systemPrompt: String
    public let sortOrder: Int

    public init(id: PersonaID, name: String, description: String, systemPrompt: String, sortOrder: Int) {
        self.id = id
        self.name = name
        self.description = description
        self.systemPrompt = systemPrompt
        self.sortOrder = sortOrder
    }
}
