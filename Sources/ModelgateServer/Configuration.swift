import Foundation
import ModelgateStore

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

    public init(host: String = "127.0.0.1", port: Int = 8080, databaseURL: DatabaseURL = .sqliteFile(path: "modelgate.sqlite"),
                jwtSecret: String? = nil, maxBodyBytes: Int = 64 * 1024) {
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.jwtSecret = jwtSecret
        self.maxBodyBytes = maxBodyBytes
    }

    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if let host = environment["MODELGATE_HOST"], !host.isEmpty { configuration.host = host }
        if let port = environment["MODELGATE_PORT"] { configuration.port = try parsePort(port, variable: "MODELGATE_PORT") }
        if let url = environment["MODELGATE_DATABASE_URL"], !url.isEmpty {
            configuration.databaseURL = try parseDatabaseURL(url)
        }
        if let secret = environment["MODELGATE_JWT_SECRET"], !secret.isEmpty { configuration.jwtSecret = secret }
        return configuration
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
            if let stored = try? String(contentsOfFile: file, encoding: .utf8) {
                return try JWTSecret(stored.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            let secret = Self.randomSecret()
            do {
                try secret.write(toFile: file, atomically: true, encoding: .utf8)
                _ = try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            } catch {
                throw ConfigurationError(variable: "MODELGATE_JWT_SECRET", reason: "not set, and \(file) cannot be written")
            }
            warn("MODELGATE_JWT_SECRET is not set: generated a development secret in \(file); set one for production")
            return try JWTSecret(secret)
        }
    }

    static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<48).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
