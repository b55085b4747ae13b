import ArgumentParser
import Foundation
import ModelgateCore
import ModelgateKeys
import ModelgateServer
import ModelgateStore

/// `modelgate keys create|list|revoke`: API keys for apps, services and scripts.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke API keys.",
        subcommands: [CreateKeyCommand.self, ListKeysCommand.self, RevokeKeyCommand.self])
}

/// Opens the migrated database for `body` and closes it, whatever happens.
func withKeys(_ options: CommonOptions, _ body: (ApiKeyAuthority, Database) async throws -> Void) async throws {
    let configuration = try options.configuration()
    let clock = SystemClock()
    let database = try await openMigratedDatabase(configuration, logger: makeLogger(), clock: clock)
    var failure: (any Error)?
    do {
        try await body(ApiKeyAuthority(database: database, clock: clock, makeID: { UUID() }, defaults: configuration.keyDefaults), database)
    } catch {
        failure = error
    }
    await database.shutdown()
    if let failure { throw failure }
}

struct CreateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a key and print it (shown once).")
    @OptionGroup var options: CommonOptions
    @Option(help: "A name for the key.") var name: String
    @Option(help: "service (acts for the end users it names) or user (acts as one user).") var kind: ApiKeyKind
    @Option(help: "The user of a user key: an email (a profile is made for it) or a user id.") var user: String?
    @Option(help: "The app the key belongs to; its end users are the app's.") var app = "default"
    @Option(help: "Requests a minute the key may send.") var rpm: Int?
    @Option(help: "Requests a minute each end user of a service key may send.") var rpmPerEndUser: Int?
    @Option(help: "Chat calls the key may have open at once.") var maxStreams: Int?
    @Option(help: "Chat calls each end user of a service key may have open at once.") var maxStreamsPerEndUser: Int?
    @Option(help: "The model that answers background calls (X-Modelgate-Purpose: task).") var taskModel: String?
    @Option(help: "Background calls a UTC day, charged to the key, never to an end user.") var taskDailyBudget: Int?
    @Option(help: "When the key stops working, ISO 8601.") var expiresAt: String?
    @Flag(help: "Take the end user from Open WebUI's forwarded user headers.") var forwardedUserHeaders = false
    @Flag(help: "An mg_test_ key instead of mg_live_.") var test = false

    func run() async throws {
        try await withKeys(options) { keys, database in
            var userID: UserID?
            if let user {
                userID = UserID(user) ?? TokenAuthority.userID(forEmail: user)
                if let userID { _ = try await ProfileRepository(database: database).findOrCreate(userID, email: UserID(user) == nil ? user : nil, at: keys.clock.now()) }
            }
            let created = try await keys.createKey(
                name: name, kind: kind, app: app, user: userID, limits: ApiKeyLimits(rpm: rpm, rpmPerEndUser: rpmPerEndUser, maxStreams: maxStreams, maxStreamsPerEndUser: maxStreamsPerEndUser,
                                    taskModel: taskModel.map(ModelID.init(rawValue:)), taskDailyBudget: taskDailyBudget), expiresAt: expiresAt, forwardedUserHeaders: forwardedUserHeaders,
                environment: test ? "test" : "live", by: Actor(command: "cli:keys"))
            print(created.key)
            FileHandle.standardError.write(Data("key \(created.id) (\(created.kind.rawValue), app \(created.app)): store it now, it is not shown again\n".utf8))
        }
    }
}

struct ListKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys (never their secrets).")
    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await withKeys(options) { keys, _ in
            print("id\tprefix\tkind\tapp\tname\trpm\tlast used\texpires\trevoked")
            for key in try await keys.listKeys() {
                let dates = [key.lastUsedAt, key.expiresAt, key.revokedAt].map { $0.map(ISO8601.string) ?? "-" }
                print(([key.id, key.prefix, key.kind.rawValue, key.appName, key.name, key.limits.rpm.map(String.init) ?? "-"] + dates).joined(separator: "\t"))
            }
        }
    }
}

struct RevokeKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a key on every instance.")
    @OptionGroup var options: CommonOptions
    @Argument(help: "The key's id (the part after mg_live_).") var id: String

    func run() async throws {
        try await withKeys(options) { keys, _ in
            print(try await keys.revokeKey(id, by: Actor(command: "cli:keys")) ? "revoked \(id)" : "\(id) was already revoked")
        }
    }
}

extension ApiKeyKind: ExpressibleByArgument {}
