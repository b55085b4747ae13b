import ArgumentParser
import AsyncHTTPClient
import Foundation
import ModelgateBilling
import ModelgateCore
import ModelgateServer
import ModelgateStore

struct StripeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stripe", abstract: "Stripe operations.", subcommands: [StripeSyncCommand.self, StripeDeactivateCommand.self])
}

struct StripeSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Create or update a Stripe product and price for every premium model.")

    @OptionGroup var options: CommonOptions
    @Flag(help: "Print what would change; create nothing.") var dryRun = false
    @Flag(help: "Allow a live key (sk_live_…).") var live = false

    func run() async throws {
        let configuration = try options.configuration()
        let key = try stripeKey(configuration, live: live, command: "stripe sync")
        let clock = SystemClock()
        let database = try await openMigratedDatabase(configuration, logger: makeLogger(), clock: clock)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var failure: (any Error)?
        do {
            let sync = StripeSync(stripe: StripeClient(http: http, baseURL: configuration.billing.apiBase, key: key), database: database, clock: clock)
            print(Self.table(try await sync.run(dryRun: dryRun), dryRun: dryRun))
        } catch {
            failure = error
        }
        try? await http.shutdown()
        await database.shutdown()
        if let failure { throw failure }
    }

    static func table(_ report: StripeSyncReport, dryRun: Bool) -> String {
        let header = ["model", "product", "price", "action"]
        let rows = report.rows.map { [$0.model.rawValue, $0.productID, $0.priceID, $0.action] }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        let line = { (cells: [String]) in zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ") }
        let summary = dryRun ? "dry run: nothing was created" :
            "created \(report.productsCreated) products and \(report.pricesCreated) prices; deactivated \(report.pricesDeactivated) prices"
        return ([line(header)] + rows.map(line) + [summary]).joined(separator: "\n")
    }
}

/// The configured Stripe key, refusing a live one without `--live`.
func stripeKey(_ configuration: ServerConfiguration, live: Bool, command: String) throws -> StripeSecretKey {
    guard let key = configuration.billing.secretKey else {
        throw ConfigurationError(variable: "MODELGATE_STRIPE_SECRET_KEY", reason: "is required for \(command)")
    }
    guard !key.isLive || live else { throw ValidationError("refusing a live Stripe key without --live") }
    return key
}
