import ArgumentParser
import Foundation
import Hummingbird
import ModelgateBilling
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders
import ModelgateServer
import ModelgateStore

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the HTTP service.")

    @OptionGroup var options: CommonOptions
    @Option(help: "Address to listen on (env MODELGATE_HOST, default 127.0.0.1)") var host: String?
    @Option(help: "Port to listen on (env MODELGATE_PORT, default 8080)") var port: Int?
    @Flag(help: "Answer providers that have no API key from a built-in demo responder (env MODELGATE_DEMO).") var demo = false

    func run() async throws {
        var configuration = try options.configuration()
        if let host { configuration.host = host }
        if let port { configuration.port = try ServerConfiguration.parsePort(String(port), variable: "--port") }
        if demo { configuration.providers.demo = true }
        try configuration.checkExposure()
        let logger = makeLogger()
        let clock = SystemClock()
        let secret = try configuration.resolveJWTSecret { logger.warning("\($0)") }
        let database = try await openMigratedDatabase(configuration, logger: logger, clock: clock)
        let tokens = await TokenAuthority(secret: secret, clock: clock, rules: configuration.tokenRules)
        let httpClient = ProviderRouter.makeHTTPClient(configuration.providers.timeouts)
        let providers = ProviderRouter(configuration: configuration.providers, httpClient: httpClient)
        let stripe = configuration.billing.secretKey.map { StripeClient(http: httpClient, baseURL: configuration.billing.apiBase, key: $0) }
        var dependencies = Dependencies(database: database, providers: providers, stripe: stripe, clock: clock, logger: logger)
        dependencies.features = configuration.features
        dependencies.keyDefaults = configuration.keyDefaults
        dependencies.userLimits = configuration.userLimits
        dependencies.shutdown = ShutdownState(grace: configuration.shutdownGrace)
        dependencies.responseRetention = configuration.responseRetention
        let services = try await Services(dependencies: dependencies, billing: configuration.billing)
        let app = buildApplication(configuration: configuration, dependencies: dependencies, services: services, tokens: tokens)
        let reachable = Provider.allCases.filter(providers.isAvailable).map(\.rawValue)
        logger.info("modelgate on http://\(configuration.host):\(configuration.port) with \(configuration.databaseURL)")
        logger.info("providers answering: \(reachable.isEmpty ? "none (set MODELGATE_*_API_KEY or use --demo)" : reachable.joined(separator: ", "))\(configuration.providers.demo ? " (demo responder for those without a key)" : "")")
        // Only for a person at a terminal trying the demo: never in a log that is shipped somewhere.
        if configuration.providers.demo, isatty(STDOUT_FILENO) == 1 {
            let url = try await services.demoSignInURL(email: "demo@example.com", base: "http://\(configuration.host):\(configuration.port)")
            print("settings page for demo@example.com (one-time link, 15 minutes): \(url)")
        }
        var failure: (any Error)?
        do { try await runUntilStopped(app, shutdown: dependencies.shutdown, logger: logger) } catch { failure = error }
        try? await httpClient.shutdown()
        // A connection a stuck request still leases must not keep the process from exiting.
        _ = await firstToEnd({ await database.shutdown() }, or: { try? await Task.sleep(for: .seconds(5)) })
        logger.info("stopped")
        if let failure { throw failure }
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending schema migrations.")
    @OptionGroup var options: CommonOptions

    func run() async throws {
        let configuration = try options.configuration()
        let database = try await Database.open(configuration.databaseURL, logger: makeLogger())
        let report = try await Migrator.migrate(database, at: SystemClock().now())
        await database.shutdown()
        print(report.applied.isEmpty ? "schema is up to date" : report.applied.map { "applied \($0)" }.joined(separator: "\n"))
    }
}

struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed", abstract: "Insert the default catalog and coaches; never overwrites existing rows.")
    @OptionGroup var options: CommonOptions

    func run() async throws {
        let configuration = try options.configuration()
        let database = try await Database.open(configuration.databaseURL, logger: makeLogger())
        let clock = SystemClock()
        try await Migrator.migrate(database, at: clock.now())
        let inserted = try await Seed.apply(database, at: clock.now())
        await database.shutdown()
        print("seeded: \(inserted) new rows")
    }
}
