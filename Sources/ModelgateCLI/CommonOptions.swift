import ArgumentParser
import Foundation
import Logging
import ModelgateCore
import ModelgateServer
import ModelgateStore

/// Flags every command shares. A flag overrides its environment variable.
public struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "sqlite:PATH, sqlite::memory: or postgres://… (env MODELGATE_DATABASE_URL)")
    var databaseURL: String?

    public init() {}

    func configuration(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> ServerConfiguration {
        var configuration = try ServerConfiguration.fromEnvironment(environment)
        if let databaseURL { configuration.databaseURL = try ServerConfiguration.parseDatabaseURL(databaseURL) }
        return configuration
    }
}

func makeLogger(_ label: String = "modelgate") -> Logger {
    var logger = Logger(label: label)
    let level = ProcessInfo.processInfo.environment["MODELGATE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
    logger.logLevel = level ?? .info
    return logger
}

/// Opens the database and brings its schema and seed up to date.
func openMigratedDatabase(_ configuration: ServerConfiguration, logger: Logger, clock: any WallClock) async throws -> Database {
    let database: Database
    do {
        database = try await Database.open(configuration.databaseURL, logger: logger)
        try await Migrator.migrate(database, at: clock.now())
    } catch {
        throw ConfigurationError(
            variable: "MODELGATE_DATABASE_URL",
            reason: "cannot open \(configuration.databaseURL): \(String(describing: error).prefix(300))")
    }
    try await Seed.apply(database, at: clock.now())
    return database
}
