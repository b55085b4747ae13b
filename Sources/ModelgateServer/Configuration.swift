import Foundation
import ModelgateAccess
import ModelgateAnalytics
import ModelgateBilling
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders
import ModelgateStore
import NIOCore

/// A setting that cannot be used; printed as one line naming the variable.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let variable: String
    public let reason: String
    public init(variable: String, reason: String) {
        self.variable = variable
        self.reason = reason
    }
    public var description: String { "\(variable): \(reason)" }
}

/// Everything the service reads from its environment, parsed and checked once at start-up.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var databaseURL: DatabaseURL
    /// `nil` means: use the development secret stored beside the SQLite file.
    public var jwtSecret: String?
    public var maxBodyBytes: Int
    /// The body limit of the chat routes (`/v1/chat/completions`, `/api/chat`), which carry images.
    public var maxChatBodyBytes = 20 * 1024 * 1024
    public var providers: ProvidersConfiguration
    public var billing: BillingConfiguration
    public var analytics: AnalyticsConfiguration
    /// When set, `GET /metrics` needs `Authorization: Bearer <token>`.
    public var metricsToken: String?
    public var features = FeatureFlags()
    /// Limits a new API key gets where its creator sets none (`MODELGATE_KEY_*`).
    public var keyDefaults = ApiKeyLimits()
    /// Audience, issuer and admin claim of tokens (`MODELGATE_JWT_AUDIENCE`, `_ISSUER`, `_ADMIN_CLAIM`).
    public var tokenRules = TokenRules()
    /// Per-user abuse limits (`MODELGATE_USER_RPM`, `_USER_MAX_STREAMS`, `_CHECKOUTS_PER_HOUR`, `_MAX_PROMPT_BYTES`).
    public var userLimits = UserLimits()
    /// An idle connection (or one that sends its request too slowly) is closed after this.
    public var idleTimeout: Duration = .seconds(60)
    /// Connections open at once; more wait to be accepted.
    public var maxConnections = 4096
    /// How long open streams may run on after the shutdown signal (`MODELGATE_SHUTDOWN_GRACE`, seconds).
    public var shutdownGrace: Duration = .seconds(30)
    /// How long stored Responses API answers are kept (`MODELGATE_RESPONSE_RETENTION_DAYS`, days).
    public var responseRetention: TimeInterval = 30 * 86_400

    public init(host: String = "127.0.0.1", port: Int = 8080, databaseURL: DatabaseURL = .sqliteFile(path: "modelgate.sqlite"),
                jwtSecret: String? = nil, maxBodyBytes: Int = 64 * 1024, providers: ProvidersConfiguration = .init(),
                billing: BillingConfiguration = .init(), analytics: AnalyticsConfiguration = .init(), metricsToken: String? = nil) {
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.jwtSecret = jwtSecret
        self.maxBodyBytes = maxBodyBytes
        self.providers = providers
        self.billing = billing
        self.analytics = analytics
        self.metricsToken = metricsToken
    }

    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if let host = environment["MODELGATE_HOST"], !host.isEmpty { configuration.host = host }
        if let port = environment["MODELGATE_PORT"] { configuration.port = try parsePort(port, variable: "MODELGATE_PORT") }
        if let url = environment["MODELGATE_DATABASE_URL"], !url.isEmpty {
            configuration.databaseURL = try parseDatabaseURL(url)
        }
        if let secret = environment["MODELGATE_JWT_SECRET"], !secret.isEmpty { configuration.jwtSecret = secret }
        if let limit = environment["MODELGATE_MAX_BODY_BYTES"], !limit.isEmpty {
            guard let bytes = Int(limit), (1024...(512 * 1024 * 1024)).contains(bytes) else {
                throw ConfigurationError(variable: "MODELGATE_MAX_BODY_BYTES", reason: "'\(limit)' is not a byte count from 1024 to 536870912")
            }
            configuration.maxChatBodyBytes = bytes
        }
        configuration.providers = try parseProviders(environment)
        configuration.billing = try parseBilling(environment)
        configuration.analytics = try parseAnalytics(environment)
        if let token = environment["MODELGATE_METRICS_TOKEN"], !token.isEmpty { configuration.metricsToken = token }
        configuration.keyDefaults = try parseKeyDefaults(environment)
        configuration.userLimits = try parseUserLimits(environment, defaults: configuration.userLimits)
        func text(_ variable: String) -> String? { environment[variable].flatMap { $0.isEmpty ? nil : $0 } }
        configuration.tokenRules = TokenRules(
            audience: text("MODELGATE_JWT_AUDIENCE"), issuer: text("MODELGATE_JWT_ISSUER"), adminClaim: text("MODELGATE_JWT_ADMIN_CLAIM") ?? "modelgate_role")
        if let seconds = try parseCount("MODELGATE_IDLE_TIMEOUT", environment) { configuration.idleTimeout = .seconds(seconds) }
        if let count = try parseCount("MODELGATE_MAX_CONNECTIONS", environment) { configuration.maxConnections = count }
        if let seconds = try parseCount("MODELGATE_SHUTDOWN_GRACE", environment) { configuration.shutdownGrace = .seconds(seconds) }
        if let days = try parseCount("MODELGATE_RESPONSE_RETENTION_DAYS", environment) { configuration.responseRetention = TimeInterval(days) * 86_400 }
        if let flag = environment["MODELGATE_FEATURE_MODEL_SELECTION"], !flag.isEmpty {
            configuration.features.modelSelection = try parseSwitch(flag, variable: "MODELGATE_FEATURE_MODEL_SELECTION")
        }
        return configuration
    }

    /// The one boolean reader: on/off, true/false, 1/0, yes/no (empty is off).
    static func parseSwitch(_ value: String, variable: String) throws(ConfigurationError) -> Bool {
        switch value.lowercased() {
        case "on", "true", "1", "yes": return true
        case "off", "false", "0", "no", "": return false
        default: throw ConfigurationError(variable: variable, reason: "'\(value)' is not on or off")
        }
    }

    /// The one URL check: an absolute http(s) URL, returned without a trailing slash.
    static func parseHTTPURL(_ value: String, variable: String) throws(ConfigurationError) -> String {
        guard let parsed = URL(string: value), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil else {
            throw ConfigurationError(variable: variable, reason: "'\(value)' is not an http(s) URL")
        }
        return value.hasSuffix("/") ? String(value.dropLast()) : value
    }

    static func parseAnalytics(_ environment: [String: String]) throws(ConfigurationError) -> AnalyticsConfiguration {
        var analytics = AnalyticsConfiguration()
        if let key = environment["MODELGATE_POSTHOG_API_KEY"], !key.isEmpty {
            guard key.hasPrefix("phc_") else {
                throw ConfigurationError(variable: "MODELGATE_POSTHOG_API_KEY", reason: "must be a project API key (phc_…)")
            }
            analytics.apiKey = PostHogAPIKey(key)
        }
        if let url = environment["MODELGATE_POSTHOG_HOST"], !url.isEmpty {
            analytics.host = try parseHTTPURL(url, variable: "MODELGATE_POSTHOG_HOST")
        }
        return analytics
    }

    static func parseProviders(_ environment: [String: String]) throws(ConfigurationError) -> ProvidersConfiguration {
        var providers = ProvidersConfiguration()
        for (provider, prefix) in [(Provider.openai, "OPENAI"), (.together, "TOGETHER"), (.anthropic, "ANTHROPIC"), (.google, "GOOGLE")] {
            let key = environment["MODELGATE_\(prefix)_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
            var base = providers[provider].baseURL
            if let url = environment["MODELGATE_\(prefix)_BASE_URL"], !url.isEmpty {
                base = try parseHTTPURL(url, variable: "MODELGATE_\(prefix)_BASE_URL")
            }
            providers[provider] = ProviderEndpoint(apiKey: key, baseURL: base)
        }
        if let demo = environment["MODELGATE_DEMO"] { providers.demo = try parseSwitch(demo, variable: "MODELGATE_DEMO") }
        for (variable, keyPath) in [
            ("MODELGATE_PROVIDER_CONNECT_TIMEOUT", \ProviderTimeouts.connect), ("MODELGATE_PROVIDER_FIRST_BYTE_TIMEOUT", \.firstByte),
            ("MODELGATE_PROVIDER_IDLE_TIMEOUT", \.idle),
        ] {
            guard let text = environment[variable] else { continue }
            guard let seconds = Double(text), seconds > 0, seconds <= 86_400 else {
                throw ConfigurationError(variable: variable, reason: "'\(text)' is not a number of seconds from 0 to 86400")
            }
            providers.timeouts[keyPath: keyPath] = .milliseconds(Int64(seconds * 1000))
        }
        return providers
    }

    static func parseBilling(_ environment: [String: String]) throws(ConfigurationError) -> BillingConfiguration {
        var billing = BillingConfiguration()
        if let key = environment["MODELGATE_STRIPE_SECRET_KEY"], !key.isEmpty {
            guard key.hasPrefix("sk_") || key.hasPrefix("rk_") else {
                throw ConfigurationError(variable: "MODELGATE_STRIPE_SECRET_KEY", reason: "must start with sk_ or rk_")
            }
            billing.secretKey = StripeSecretKey(key)
        }
        if let secret = environment["MODELGATE_STRIPE_WEBHOOK_SECRET"], !secret.isEmpty {
            guard secret.hasPrefix("whsec_") else {
                throw ConfigurationError(variable: "MODELGATE_STRIPE_WEBHOOK_SECRET", reason: "must start with whsec_")
            }
            billing.webhookSecret = WebhookSecret(secret)
        }
        for (variable, keyPath) in [("MODELGATE_STRIPE_API_BASE", \BillingConfiguration.apiBase), ("MODELGATE_PUBLIC_URL", \.publicURL)] {
            guard let url = environment[variable], !url.isEmpty else { continue }
            billing[keyPath: keyPath] = try parseHTTPURL(url, variable: variable)
        }
        return billing
    }

    /// Refuses to serve `/metrics` without a token on an address beyond loopback, where anyone
    /// could read it (call after `--host` is applied).
    public func checkExposure() throws(ConfigurationError) {
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(host.lowercased()) || host.hasPrefix("127.")
        guard loopback || metricsToken != nil else {
            throw ConfigurationError(
                variable: "MODELGATE_METRICS_TOKEN",
                reason: "is required when listening on \(host), beyond loopback: without it anyone could read /metrics")
        }
    }

    /// A whole number of at least 1, or nil when the variable is unset.
    static func parseCount(_ variable: String, _ environment: [String: String]) throws(ConfigurationError) -> Int? {
        guard let value = environment[variable], !value.isEmpty else { return nil }
        guard let number = Int(value), number >= 1 else { throw ConfigurationError(variable: variable, reason: "'\(value)' is not a whole number of at least 1") }
        return number
    }

    static func parseKeyDefaults(_ environment: [String: String]) throws(ConfigurationError) -> ApiKeyLimits {
        ApiKeyLimits(rpm: try parseCount("MODELGATE_KEY_RPM", environment), rpmPerEndUser: try parseCount("MODELGATE_KEY_RPM_PER_END_USER", environment),
                     maxStreams: try parseCount("MODELGATE_KEY_MAX_STREAMS", environment),
                     maxStreamsPerEndUser: try parseCount("MODELGATE_KEY_MAX_STREAMS_PER_END_USER", environment))
    }

    /// Each limit: unset keeps the default, `off` turns it off (only ever explicitly), else a count.
    static func parseUserLimits(_ environment: [String: String], defaults: UserLimits) throws(ConfigurationError) -> UserLimits {
        func limit(_ variable: String, _ fallback: Int?) throws(ConfigurationError) -> Int? {
            if environment[variable]?.lowercased() == "off" { return nil }
            return try parseCount(variable, environment) ?? fallback
        }
        return UserLimits(
            requestsPerMinute: try limit("MODELGATE_USER_RPM", defaults.requestsPerMinute),
            maxStreams: try limit("MODELGATE_USER_MAX_STREAMS", defaults.maxStreams),
            checkoutsPerHour: try limit("MODELGATE_CHECKOUTS_PER_HOUR", defaults.checkoutsPerHour),
            maxPromptBytes: try limit("MODELGATE_MAX_PROMPT_BYTES", defaults.maxPromptBytes))
    }

    public static func parsePort(_ value: String, variable: String) throws(ConfigurationError) -> Int {
        guard let port = Int(value), (1...65535).contains(port) else {
            throw ConfigurationError(variable: variable, reason: "'\(value)' is not a port number (1-65535)")
        }
        return port
    }

    public static func parseDatabaseURL(_ value: String) throws(ConfigurationError) -> DatabaseURL {
        do {
            return try DatabaseURL(parsing: value)
        } catch {
            throw ConfigurationError(variable: "MODELGATE_DATABASE_URL", reason: error.reason)
        }
    }

    /// The secret to sign tokens with. PostgreSQL deployments must set one; on SQLite a random one is
    /// generated once and kept in `<database file>.jwt-secret` so restarts keep tokens valid.
    public func resolveJWTSecret(warn: (String) -> Void) throws(ConfigurationError) -> JWTSecret {
        if let jwtSecret { return try JWTSecret(jwtSecret) }
        switch databaseURL {
        case .postgres:
            throw ConfigurationError(variable: "MODELGATE_JWT_SECRET", reason: "is required with a PostgreSQL database")
        case .sqliteMemory:
            warn("MODELGATE_JWT_SECRET is not set: using a random secret for this process only")
            return try JWTSecret(Self.randomSecret())
        case .sqliteFile(let path):
            let file = path + ".jwt-secret"
            if let stored = try Self.readPrivateSecret(file) { return try JWTSecret(stored) }
            let secret = Self.randomSecret()
            guard Self.createPrivateFile(file, containing: secret) else {
                // Another process made it first: use theirs.
                if let stored = try Self.readPrivateSecret(file) { return try JWTSecret(stored) }
                throw ConfigurationError(variable: "MODELGATE_JWT_SECRET", reason: "not set, and \(file) cannot be written")
            }
            warn("MODELGATE_JWT_SECRET is not set: generated a development secret in \(file); set one for production")
            return try JWTSecret(secret)
        }
    }

    /// The development secret, if its file exists; a file other users may read is refused, not used.
    static func readPrivateSecret(_ file: String) throws(ConfigurationError) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file) else { return nil }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        guard mode & 0o077 == 0 else {
            throw ConfigurationError(variable: "MODELGATE_JWT_SECRET",
                                     reason: "\(file) is open to other users (mode \(String(mode, radix: 8))): run chmod 600 on it, or set the variable")
        }
        guard let stored = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        return stored.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Creates `file` readable by its owner only, failing if it already exists (`O_EXCL`), so the
    /// secret is never briefly readable by others and two processes never overwrite each other.
    static func createPrivateFile(_ file: String, containing text: String) -> Bool {
        let descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == bytes.count
    }

    static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<48).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// Switches for a launch that may need undoing without a deploy.
public struct FeatureFlags: Sendable {
    /// Off: every user gets the system default, checkout is closed, and the settings page says
    /// model choice is unavailable (`MODELGATE_FEATURE_MODEL_SELECTION`, on by default).
    public var modelSelection = true

    public init() {}
}
