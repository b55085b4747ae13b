import ArgumentParser
import Foundation
import ModelgateStore

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Copy the SQLite database, consistent at one moment, while the service runs.")

    @OptionGroup var options: CommonOptions
    @Argument(help: "The backup file to create (must not exist).") var path: String

    func run() async throws {
        let configuration = try options.configuration()
        let database = try await Database.open(configuration.databaseURL, logger: makeLogger())
        do {
            try await Backup.take(of: database, to: path)
            await database.shutdown()
        } catch {
            await database.shutdown()
            throw ValidationError("\(error)")
        }
        try await Backup.check(path)
        print("backed up to \(path) (integrity check ok)")
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Put a checked backup in place of the SQLite database (stop the service first).")

    @OptionGroup var options: CommonOptions
    @Argument(help: "The backup file.") var path: String
    @Flag(help: "Replace an existing database file.") var force = false

    func run() async throws {
        let configuration = try options.configuration()
        guard case .sqliteFile(let target) = configuration.databaseURL else { throw ValidationError("\(Backup.Failure.notSQLite)") }
        do {
            try await Backup.restore(from: path, to: target, replacing: force)
        } catch {
            throw ValidationError("\(error)")
        }
        print("restored \(path) to \(target); start the service")
    }
}
