import Foundation

/// What a key acts as: one user (scripts, the `llm` CLI) or a service naming its end users.
public enum ApiKeyKind: String, Sendable, Codable {
    case user, service
}

/// What a key may do: limits per minute and on open calls, for the key and each end user, and the
/// task model and budget of its background calls. Nil means no limit (or no task model).
public struct ApiKeyLimits: Sendable, Equatable, Codable {
    public var rpm: Int?
    /// A service key's requests a minute for each of its end users.
    public var rpmPerEndUser: Int?
    /// Chat calls the key (and each of its end users) may have open at once.
    public var maxStreams: Int?
    public var maxStreamsPerEndUser: Int?
    /// The model that serves the key's background calls (`X-Modelgate-Purpose: task`), and how many a UTC day.
    public var taskModel: ModelID?
    public var taskDailyBudget: Int?

    public init(rpm: Int? = nil, rpmPerEndUser: Int? = nil, maxStreams: Int? = nil, maxStreamsPerEndUser: Int? = nil,
                taskModel: ModelID? = nil, taskDailyBudget: Int? = nil) {
        self.rpm = rpm
        self.rpmPerEndUser = rpmPerEndUser
        self.maxStreams = maxStreams
        self.maxStreamsPerEndUser = maxStreamsPerEndUser
        self.taskModel = taskModel
        self.taskDailyBudget = taskDailyBudget
    }
}

extension ApiKeyLimits {
    /// These limits with `defaults` where they are unset; the per-end-user ones only for a key that has end users.
    public func filled(from defaults: ApiKeyLimits, forEndUsers: Bool) -> ApiKeyLimits {
        ApiKeyLimits(rpm: rpm ?? defaults.rpm, rpmPerEndUser: rpmPerEndUser ?? (forEndUsers ? defaults.rpmPerEndUser : nil),
                     maxStreams: maxStreams ?? defaults.maxStreams,
                     maxStreamsPerEndUser: maxStreamsPerEndUser ?? (forEndUsers ? defaults.maxStreamsPerEndUser : nil),
                     taskModel: taskModel, taskDailyBudget: taskDailyBudget)
    }
}

/// A key to create; its secret hash is computed by the caller, who shows the secret once.
public struct NewApiKey: Sendable {
    public let id: String
    public let app: String
    public let name: String
    public let kind: ApiKeyKind
    public let prefix: String
    public let secretHash: String
    public let userID: UserID?
    public let limits: ApiKeyLimits
    /// A service key may take the end user from Open WebUI's forwarded user headers.
    public let acceptsForwardedUserHeaders: Bool
    public let expiresAt: Date?

    public init(id: String, app: String, name: String, kind: ApiKeyKind, prefix: String, secretHash: String, userID: UserID?,
                limits: ApiKeyLimits, acceptsForwardedUserHeaders: Bool, expiresAt: Date?) {
        self.id = id
        self.app = app
        self.name = name
        self.kind = kind
        self.prefix = prefix
        self.secretHash = secretHash
        self.userID = userID
        self.limits = limits
        self.acceptsForwardedUserHeaders = acceptsForwardedUserHeaders
        self.expiresAt = expiresAt
    }
}

/// A stored key: never its secret, only the secret's SHA-256 and the visible prefix. It encodes as
/// the API lists it (and the audit log keeps it): never its secret hash.
public struct ApiKey: Sendable, Equatable, Encodable {
    public let id: String
    public let appID: String
    public let appName: String
    public let name: String
    public let kind: ApiKeyKind
    public let prefix: String
    public let secretHash: String
    public let userID: UserID?
    public let limits: ApiKeyLimits
    public let acceptsForwardedUserHeaders: Bool
    public let createdAt: Date
    public let lastUsedAt: Date?
    public let expiresAt: Date?
    public let revokedAt: Date?

    public init(id: String, appID: String, appName: String, name: String, kind: ApiKeyKind, prefix: String, secretHash: String, userID: UserID?,
                limits: ApiKeyLimits, acceptsForwardedUserHeaders: Bool, createdAt: Date, lastUsedAt: Date?, expiresAt: Date?, revokedAt: Date?) {
        self.id = id
        self.appID = appID
        self.appName = appName
        self.name = name
        self.kind = kind
        self.prefix = prefix
        self.secretHash = secretHash
        self.userID = userID
        self.limits = limits
        self.acceptsForwardedUserHeaders = acceptsForwardedUserHeaders
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    private enum CodingKeys: String, CodingKey {
        case id, prefix, name, kind, app, userId, limits, forwardedUserHeaders, createdAt, lastUsedAt, expiresAt, revokedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(prefix, forKey: .prefix)
        try container.encode(name, forKey: .name)
        try container.encode(kind, forKey: .kind)
        try container.encode(appName, forKey: .app)
        try container.encodeIfPresent(userID, forKey: .userId)
        try container.encode(limits, forKey: .limits)
        try container.encode(acceptsForwardedUserHeaders, forKey: .forwardedUserHeaders)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(lastUsedAt, forKey: .lastUsedAt)
        try container.encodeIfPresent(expiresAt, forKey: .expiresAt)
        try container.encodeIfPresent(revokedAt, forKey: .revokedAt)
    }
}
