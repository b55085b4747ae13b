import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateMetrics
import ModelgateStore
import NIOCore

/// A key as created: the stored key plus `key`, the whole key with its secret, shown this once.
public struct CreatedApiKey: Encodable, Sendable {
    public let key: String
    public let apiKey: ApiKey

    enum CodingKeys: CodingKey { case key }

    public func encode(to encoder: any Encoder) throws {
        try apiKey.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
    }
}

/// What an admin asks for when creating a key.
public struct ApiKeyRequest: Decodable, Sendable {
    public let name: String
    public let kind: ApiKeyKind
    /// The app the key belongs to (its end users are the app's); created on first use.
    public let app: String?
    /// A user key's user: an id or an email of a profile.
    public let user: String?
    /// Per-minute and open-call limits, and the task model and budget for background calls.
    public let limits: ApiKeyLimits?
    /// ISO 8601, e.g. `2027-01-01T00:00:00Z`.
    public let expiresAt: String?
    public let forwardedUserHeaders: Bool?
    /// `live` (default) or `test`: only the key's prefix differs, so logs tell them apart.
    public let environment: String?

    public init(name: String, kind: ApiKeyKind, app: String?, user: String?, limits: ApiKeyLimits?, expiresAt: String?,
                forwardedUserHeaders: Bool?, environment: String?) {
        self.name = name
        self.kind = kind
        self.app = app
        self.user = user
        self.limits = limits
        self.expiresAt = expiresAt
        self.forwardedUserHeaders = forwardedUserHeaders
        self.environment = environment
    }
}

/// Issues and verifies API keys (`mg_live_…`/`mg_test_…`: a 12-character id and a 256-bit secret;
/// only the SHA-256 of the whole key is stored, compared in constant time), and turns a key into
/// the caller: its user, or for a service key the end user it names.
public struct ApiKeyAuthority: Sendable {
    let keys: ApiKeyRepository
    let profiles: ProfileRepository
    public let clock: any WallClock
    let makeID: @Sendable () -> UUID
    let metrics: ModelgateMetrics
    /// What a new key gets for each limit its creator leaves unset.
    let defaults: ApiKeyLimits
    /// This instance's open calls: a key (or end user) already at its limit here is refused without the database.
    let gate: OpenCallGate

    public init(database: Database, clock: any WallClock, makeID: @escaping @Sendable () -> UUID, metrics: ModelgateMetrics = ModelgateMetrics(),
                defaults: ApiKeyLimits = ApiKeyLimits()) {
        self.init(database: database, clock: clock, makeID: makeID, metrics: metrics, defaults: defaults, gate: OpenCallGate())
    }

    /// With the open-call gate this instance's user limits share.
    public init(database: Database, clock: any WallClock, makeID: @escaping @Sendable () -> UUID, metrics: ModelgateMetrics, defaults: ApiKeyLimits,
                gate: OpenCallGate) {
        self.gate = gate
        keys = ApiKeyRepository(database: database)
        self.defaults = defaults
        profiles = ProfileRepository(database: database)
        self.metrics = metrics
        self.clock = clock
        self.makeID = makeID
    }

    static let userHeader = HTTPField.Name("X-Modelgate-User")!
    static let timeZoneHeader = HTTPField.Name("X-Modelgate-User-Timezone")!
    /// Open WebUI's forwarded user headers (ENABLE_FORWARD_USER_INFO_HEADERS).
    static let openWebUIUserHeader = HTTPField.Name("X-OpenWebUI-User-Id")!

    public static func isKey(_ token: String) -> Bool { token.hasPrefix("mg_live_") || token.hasPrefix("mg_test_") }

    /// Routes whose JSON body may name the end user: OpenAI's `user` (and the sign-in link request's),
    /// Anthropic's `metadata.user_id`.
    static let bodyNamesTheUser: Set<String> = ["/v1/chat/completions", "/v1/responses", "/v1/messages", "/v1/messages/count_tokens", "/v1/embeddings",
                                                   "/api/keys/self/sign-in-links"]

    static let signInLinkLifetime: TimeInterval = 600

    /// A single-use link that signs the key's end user in to the settings page for 10 minutes.
    public func signInLink(for user: UserID, key: ApiKey, publicURL: String) async throws -> (url: String, expiresAt: Date) {
        guard key.kind == .service else { throw ModelgateError.forbidden(reason: "sign-in links are made with a service key for its end users") }
        let token = Self.randomSecret()
        let expiresAt = clock.now().addingTimeInterval(Self.signInLinkLifetime)
        try await keys.createSignInLink(tokenHash: Self.hash(token), user: user, key: key.id, expiresAt: expiresAt, at: clock.now())
        return ("\(publicURL)/login?link=\(token)", expiresAt)
    }

    /// The end user a sign-in link signs in, once; nil when it is unknown, used, expired or its key revoked.
    public func redeemSignInLink(_ token: String) async throws -> UserID? {
        try await keys.redeemSignInLink(tokenHash: Self.hash(token), at: clock.now())
    }

    public func peekSignInLink(_ token: String) async throws -> UserID? {
        try await keys.peekSignInLink(tokenHash: Self.hash(token), at: clock.now())
    }

    /// 256 random bits, base64url without padding.
    public static func randomSecret() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// For the CLI: a key as `POST /api/admin/keys` makes it.
    public func createKey(name: String, kind: ApiKeyKind, app: String, user: UserID?, limits: ApiKeyLimits, expiresAt: String?,
                          forwardedUserHeaders: Bool, environment: String, by actor: Actor) async throws -> (key: String, id: String, kind: ApiKeyKind, app: String) {
        let created = try await create(ApiKeyRequest(name: name, kind: kind, app: app, user: nil, limits: limits, expiresAt: expiresAt,
                                                     forwardedUserHeaders: forwardedUserHeaders, environment: environment), user: user, by: actor)
        return (created.key, created.apiKey.id, created.apiKey.kind, created.apiKey.appName)
    }

    public func listKeys() async throws -> [ApiKey] { try await keys.list() }

    public func revokeKey(_ id: String, by actor: Actor) async throws -> Bool {
        guard try await keys.find(id) != nil else { throw ModelgateError.notFound(what: "api key", id: id) }
        return try await keys.revoke(id, by: actor, at: clock.now())
    }

    /// A key as an admin asks for it (API or console), its user key's user found by id or email.
    public func create(_ request: ApiKeyRequest, users: ProfileRepository, by actor: Actor) async throws -> CreatedApiKey {
        var user: UserID?
        if let reference = request.user {
            guard let found = try await users.findUser(reference) else { throw ModelgateError.notFound(what: "user", id: reference) }
            user = found.id
        }
        return try await create(request, user: user, by: actor)
    }

    func create(_ request: ApiKeyRequest, user: UserID?, by actor: Actor) async throws -> CreatedApiKey {
        let environment = request.environment ?? "live"
        guard environment == "live" || environment == "test" else { throw ModelgateError.invalidField(field: "environment", reason: "must be live or test") }
        guard !request.name.trimmingCharacters(in: .whitespaces).isEmpty, request.name.count <= 100 else {
            throw ModelgateError.invalidField(field: "name", reason: "is required (at most 100 characters)")
        }
        let limits = (request.limits ?? ApiKeyLimits()).filled(from: defaults, forEndUsers: request.kind == .service)
        for (field, value) in [("limits.rpm", limits.rpm), ("limits.rpmPerEndUser", limits.rpmPerEndUser), ("limits.maxStreams", limits.maxStreams),
                               ("limits.maxStreamsPerEndUser", limits.maxStreamsPerEndUser)] where (value ?? 1) < 1 {
            throw ModelgateError.invalidField(field: field, reason: "must be at least 1")
        }
        if request.kind == .user, limits.rpmPerEndUser != nil || limits.maxStreamsPerEndUser != nil {
            throw ModelgateError.invalidField(field: "limits", reason: "per-end-user limits are for service keys")
        }
        guard (limits.taskModel == nil) == (limits.taskDailyBudget == nil), (limits.taskDailyBudget ?? 1) >= 1 else {
            throw ModelgateError.invalidField(field: "limits.taskDailyBudget", reason: "a task model needs a daily budget of at least 1, and a budget a task model")
        }
        let expiresAt = try request.expiresAt.map { text throws(ModelgateError) -> Date in
            guard let date = try? Date(text, strategy: .iso8601) else {
                throw .invalidField(field: "expiresAt", reason: "must be an ISO 8601 time such as 2027-01-01T00:00:00Z")
            }
            return date
        }
        if request.kind == .user, user == nil { throw ModelgateError.invalidField(field: "user", reason: "is required for a user key") }
        if request.kind == .service, user != nil { throw ModelgateError.invalidField(field: "user", reason: "a service key names its end users per request") }
        let id = Self.randomText(12, alphabet: "abcdefghijklmnopqrstuvwxyz0123456789")
        let prefix = "mg_\(environment)_\(id)"
        let key = "\(prefix)_\(Self.randomSecret())"
        let stored = try await keys.create(NewApiKey(
            id: id, app: request.app ?? "default", name: request.name, kind: request.kind, prefix: prefix, secretHash: Self.hash(key),
            userID: user, limits: limits, acceptsForwardedUserHeaders: request.forwardedUserHeaders ?? false, expiresAt: expiresAt),
            by: actor, makeAppID: { [makeID] in makeID().uuidString.lowercased() }, at: clock.now())
        return CreatedApiKey(key: key, apiKey: stored)
    }

    /// The key a bearer token names, if it is live: unknown, altered, revoked and expired keys are all a 401.
    public func verify(_ token: String) async throws -> ApiKey {
        let parts = token.split(separator: "_", maxSplits: 3)
        guard parts.count == 4, let key = try await keys.find(String(parts[2])),
              Self.constantTimeEquals(Self.hash(token), key.secretHash) else {
            throw ModelgateError.unauthenticated(reason: "the API key is not valid")
        }
        if key.revokedAt != nil { throw ModelgateError.unauthenticated(reason: "the API key was revoked") }
        if let expiry = key.expiresAt, expiry <= clock.now() { throw ModelgateError.unauthenticated(reason: "the API key has expired") }
        return key
    }

    /// The caller a key acts for, after its rate limit. A service key's end user comes from
    /// `X-Modelgate-User`, else OpenAI's `user` field of the body, else (when the key allows it)
    /// Open WebUI's forwarded user id. Returns the request with its body intact.
    public func caller(_ key: ApiKey, request: Request, bodyLimit: Int) async throws -> (Profile, Request) {
        if let limit = key.limits.rpm { try await takeRequest(key, subject: "", limit: limit, refused: .rateLimited) }
        try await keys.touch(key, at: clock.now())
        var request = request
        let userID: UserID
        switch key.kind {
        case .user:
            guard let id = key.userID else { throw ModelgateError.unauthenticated(reason: "the API key has no user") }
            userID = id
        case .service:
            var external = request.headers[Self.userHeader]
            if external == nil, request.method == .post, Self.bodyNamesTheUser.contains(request.uri.path) {
                let body = try await request.collectBody(limit: bodyLimit)
                request.body = .init(buffer: body)
                struct UserField: Decodable {
                    struct Metadata: Decodable { let user_id: String? }
                    let user: String?
                    let metadata: Metadata?
                }
                let fields = try? JSONDecoder().decode(UserField.self, from: Data(buffer: body))
                external = fields?.user ?? fields?.metadata?.user_id
            }
            if external == nil, key.acceptsForwardedUserHeaders { external = request.headers[Self.openWebUIUserHeader] }
            guard let external, !external.isEmpty else {
                throw ModelgateError.endUserRequired
            }
            guard external.count <= 128, !external.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw ModelgateError.invalidField(field: "user", reason: "an end user id is 1–128 characters without control characters")
            }
            userID = try await keys.endUser(app: key.appID, externalID: external, newUser: UserID(makeID()), at: clock.now())
            if let perUser = key.limits.rpmPerEndUser { try await takeRequest(key, subject: userID.description, limit: perUser, refused: .endUserRateLimited) }
        }
        metrics.keyRequest(key: key.id, outcome: .allowed)
        var profile = try await profiles.findOrCreate(userID, email: nil, at: clock.now())
        if key.kind == .service, let zone = request.headers[Self.timeZoneHeader], zone != profile.timeZone.effective(at: clock.now()),
           zone != profile.timeZone.pending {
            profile.timeZone = try profile.timeZone.changing(to: zone, at: clock.now())
            try await profiles.setTimeZone(profile.timeZone, for: userID, at: clock.now())
        }
        return (profile, request)
    }

    /// How long an open-call slot outlives an instance that died holding it.

    /// Opens a chat-call slot when the key limits them; the returned closure closes it (nil: no limit).
    public func openStream(_ key: ApiKey, for user: UserID) async throws -> (@Sendable () async -> Void)? {
        guard key.limits.maxStreams != nil || key.limits.maxStreamsPerEndUser != nil else { return nil }
        let refusal = ModelgateError.tooManyStreams(limit: key.limits.maxStreams ?? key.limits.maxStreamsPerEndUser ?? 0)
        let places = [key.limits.maxStreams.map { OpenCallGate.Place(subject: "key:\(key.id)", limit: $0) },
                      key.limits.maxStreamsPerEndUser.map { OpenCallGate.Place(subject: "key:\(key.id):\(user)", limit: $0) }]
        let now = clock.now()
        guard let pass = gate.enter(places.compactMap { $0 }, expiresAt: now.addingTimeInterval(OpenCallGate.callLifetime), at: now) else {
            throw refusal
        }
        let id = makeID().uuidString.lowercased()
        do {
            guard try await keys.openStream(
                id: id, key: key, subject: user.description, expiresAt: now.addingTimeInterval(OpenCallGate.callLifetime), at: now)
            else { throw refusal }
        } catch {
            pass.leave()
            throw error
        }
        return { [keys] in
            try? await keys.closeStream(id: id)
            pass.leave()
        }
    }

    /// One request of a per-minute allowance (the key's, or one end user's), exact across instances;
    /// a refusal costs nothing.
    private func takeRequest(_ key: ApiKey, subject: String, limit: Int, refused: ModelgateMetrics.KeyOutcome) async throws {
        let now = clock.now()
        let minute = floor(now.timeIntervalSince1970 / 60) * 60
        guard try await keys.takeRequest(key: key.id, subject: subject, window: String(Int(minute)), limit: limit) else {
            metrics.keyRequest(key: key.id, outcome: refused)
            throw ModelgateError.keyRateLimited(limit: limit, retryAfterSeconds: max(1, Int((minute + 60 - now.timeIntervalSince1970).rounded(.up))))
        }
    }

    public static func hash(_ key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8), right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func randomText(_ count: Int, alphabet: String) -> String {
        let letters = Array(alphabet)
        return String((0..<count).compactMap { _ in letters.randomElement() })
    }

    /// An app's end user by the app's own id for them, created on first sight (an app's backend
    /// reports store purchases this way).
    public func endUser(app: String, externalID: String) async throws -> UserID {
        try await keys.endUser(app: app, externalID: externalID, newUser: UserID(makeID()), at: clock.now())
    }
}
