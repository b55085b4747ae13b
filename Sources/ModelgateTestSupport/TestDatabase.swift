import Foundation
import Logging
import ModelgateCore
import ModelgateStore
import SQLKit

/// Fresh, private databases for tests on the backend `scripts/test` chose:
/// `MODELGATE_TEST_BACKEND=postgres` with `MODELGATE_TEST_POSTGRES_URL` pointing at a server
/// whose user may create databases; SQLite files in a temp folder otherwise.
public enum TestDatabase {
    public static var backend: SQLBackend {
        let environment = ProcessInfo.processInfo.environment
        return environment["MODELGATE_TEST_BACKEND"] == "postgres" && environment["MODELGATE_TEST_POSTGRES_URL"] != nil ? .postgres : .sqlite
    }

    public static let logger: Logger = {
        var logger = Logger(label: "modelgate-test")
        logger.logLevel = .error
        return logger
    }()

    /// A URL for a new, empty database.
    public static func makeURL() async throws -> DatabaseURL {
        switch backend {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("modelgate-tests")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            return .sqliteFile(path: folder.appendingPathComponent("\(UUID().uuidString).sqlite").path)
        case .postgres:
            let base = ProcessInfo.processInfo.environment["MODELGATE_TEST_POSTGRES_URL"]!
            let name = "mg_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased()
            let admin = try await Database.open(.postgres(url: base), logger: logger, poolSize: 1)
            try await admin.write { try await $0.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
            await admin.shutdown()
            var components = URLComponents(string: base)!
            components.path = "/" + name
            return .postgres(url: components.string!)
        }
    }

    /// Runs `body` with a migrated (and by default seeded) database of its own, closed afterwards.
    public static func with<T: Sendable>(
        seeded: Bool = true, at now: Date = Date(), _ body: (Database, DatabaseURL) async throws -> T
    ) async throws -> T {
        let url = try await makeURL()
        let database = try await Database.open(url, logger: logger)
        do {
            try await Migrator.migrate(database, at: now)
            if seeded { try await Seed.apply(database, at: now) }
            let result = try await body(database, url)
            await database.shutdown()
            return result
        } catch {
            await database.shutdown()
            throw error
        }
    }
}

/// Sequential user ids, so test output names users predictably.
public func testUser(_ number: Int) -> UserID {
    UserID(String(format: "00000000-0000-4000-8000-%012d", number))!
}
