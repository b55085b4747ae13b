import AsyncHTTPClient
import Foundation
import Logging
import ModelgateCore
import ModelgateProviders
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import SQLKit

enum Bench {
    /// Errors only, so logging never dominates a measurement.
    static let logger: Logger = {
        var logger = Logger(label: "modelgate-bench")
        logger.logLevel = .error
        return logger
    }()

    static let jwtSecret = "modelgate-bench-secret-never-use-in-production"

    static func tokenAuthority() async throws -> TokenAuthority {
        await TokenAuthority(secret: try JWTSecret(jwtSecret))
    }
}

extension TokenAuthority {
    /// Bearer tokens for `count` new users, e.g. one per load worker.
    func issue(users count: Int) async throws -> [String] {
        var tokens: [String] = []
        for index in 0..<count {
            tokens.append(try await issue(user: UserID(UUID()), email: "bench-\(index)@example.com", admin: false, ttl: 3600, now: Date()))
        }
        return tokens
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`, then `cleanup` whether `body` threw or not.
func withCleanup<T>(_ body: () async throws -> T, cleanup: () async -> Void) async throws -> T {
    do {
        let result = try await body()
        await cleanup()
        return result
    } catch {
        await cleanup()
        throw error
    }
}

/// Where a benchmark's database lives: a temp SQLite file, or a new database on a PostgreSQL server.
enum DatabaseTarget: Sendable {
    case sqlite
    case postgres(serverURL: String)

    var name: String {
        switch self {
        case .sqlite: "SQLite"
        case .postgres: "PostgreSQL"
        }
    }

    /// Runs `body` on a new, migrated and seeded database that is removed afterwards.
    func withFreshDatabase<T>(_ body: (Database) async throws -> T) async throws -> T {
        switch self {
        case .sqlite: try await Self.withSQLiteFile(body)
        case .postgres(let serverURL): try await Self.withPostgresDatabase(on: serverURL, body)
        }
    }

    /// How the backend is set up, for the report.
    func describe() async throws -> String {
        switch self {
        case .sqlite:
            return "SQLite: temp file, WAL, synchronous=FULL with group commit (as Modelgate opens it)"
        case .postgres(let serverURL):
            let settings = try await Self.withAdminConnection(serverURL) { admin in
                try await admin.read { db -> String in
                    let row = try await db.raw("SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync")
                        .first()
                    guard let row else { return "?" }
                    let version = try row.decode(column: "version", as: String.self)
                    return "\(version), fsync=\(try row.decode(column: "fsync", as: String.self))"
                }
            }
            return "PostgreSQL \(settings) on loopback, Modelgate's default pool (4 connections per event loop)"
        }
    }

    private static func withSQLiteFile<T>(_ body: (Database) async throws -> T) async throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("modelgate-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return try await withCleanup {
            try await withOpenDatabase(.sqliteFile(path: folder.appendingPathComponent("bench.sqlite").path), body)
        } cleanup: {
            try? FileManager.default.removeItem(at: folder)
        }
    }

    private static func withPostgresDatabase<T>(on serverURL: String, _ body: (Database) async throws -> T) async throws -> T {
        let name = "mgbench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await withAdminConnection(serverURL) { admin in
            try await admin.write { try await $0.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
        }
        guard var components = URLComponents(string: serverURL) else { throw BenchError("bad PostgreSQL URL") }
        components.path = "/" + name
        return try await withCleanup {
            try await withOpenDatabase(.postgres(url: components.string ?? serverURL), body)
        } cleanup: {
            _ = try? await withAdminConnection(serverURL) { admin in
                try await admin.write { try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
            }
        }
    }

    private static func withAdminConnection<T: Sendable>(_ serverURL: String, _ body: (Database) async throws -> T) async throws -> T {
        let admin = try await Database.open(.postgres(url: serverURL), logger: Bench.logger, poolSize: 1)
        return try await withCleanup { try await body(admin) } cleanup: { await admin.shutdown() }
    }

    private static func withOpenDatabase<T>(_ url: DatabaseURL, _ body: (Database) async throws -> T) async throws -> T {
        let database = try await Database.open(url, logger: Bench.logger)
        return try await withCleanup {
            try await Migrator.migrate(database, at: Date())
            try await Seed.apply(database, at: Date())
            return try await body(database)
        } cleanup: {
            await database.shutdown()
        }
    }
}

/// Modelgate's real router (`buildRouter`, as `serve` wires it) on a free loopback port and a
/// fresh database, optionally with every provider pointed at a fake.
struct RunningModelgate: Sendable {
    let baseURL: String
    let tokens: TokenAuthority
    let database: Database

    static func with<T>(
        _ target: DatabaseTarget, fake: FakeProviderServer? = nil, _ body: (RunningModelgate) async throws -> T
    ) async throws -> T {
        let configuration = ServerConfiguration(providers: providers(fake: fake))
        let providerClient = ProviderRouter.makeHTTPClient(configuration.providers.timeouts)
        return try await withCleanup {
            try await target.withFreshDatabase { database in
                var dependencies = Dependencies(
                    database: database, providers: ProviderRouter(configuration: configuration.providers, httpClient: providerClient),
                    logger: Bench.logger)
                // Load from a few hundred users would trip the per-user abuse limits (60 a minute by default).
                dependencies.userLimits = .off
                let services = try await Services(dependencies: dependencies)
                let tokens = try await Bench.tokenAuthority()
                let server = try await LoopbackServer.start(
                    buildRouter(configuration: configuration, dependencies: dependencies, services: services, tokens: tokens))
                return try await withCleanup {
                    try await body(RunningModelgate(baseURL: server.baseURL, tokens: tokens, database: database))
                } cleanup: {
                    await server.stop()
                }
            }
        } cleanup: {
            try? await providerClient.shutdown()
        }
    }

    /// Every provider sent to `fake` with a key, production timeouts and retries.
    static func providers(fake: FakeProviderServer?) -> ProvidersConfiguration {
        var configuration = ProvidersConfiguration()
        if let fake {
            for provider in Provider.allCases {
                configuration[provider] = ProviderEndpoint(
                    apiKey: "key-\(provider.rawValue)", baseURL: fake.baseURL(for: provider.rawValue))
            }
        }
        return configuration
    }
}
