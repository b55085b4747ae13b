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
        try await withStripeClient(configuration, live: live, command: "stripe sync") { stripe in
            let clock = SystemClock()
            let database = try await openMigratedDatabase(configuration, logger: makeLogger(), clock: clock)
            do {
                print(Self.table(try await StripeSync(stripe: stripe, database: database, clock: clock).run(dryRun: dryRun), dryRun: dryRun))
            } catch {
                await database.shutdown()
                throw error
            }
            await database.shutdown()
        }
    }

    static func table(_ report: StripeSyncReport, dryRun: Bool) -> String {
        let header = ["model", "product", "price", "action"]
        let rows = report.rows.map { [$0.item, $0.productID, $0.priceID, $0.action] }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        let line = { (cells: [String]) in zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ") }
        let summary = dryRun ? "dry run: nothing was created" :
            "created \(report.productsCreated) products and \(report.pricesCreated) prices; deactivated \(report.pricesDeactivated) prices"
        return ([line(header)] + rows.map(line) + [summary]).joined(separator: "\n")
    }
}

/// Runs `body` with a client for the configured Stripe key (a live key needs `--live`), then
/// shuts the HTTP client down.
func withStripeClient(_ configuration: ServerConfiguration, live: Bool, command: String,
                      _ body: (StripeClient) async throws -> Void) async throws {
    guard let key = configuration.billing.secretKey else {
        throw ConfigurationError(variable: "MODELGATE_STRIPE_SECRET_KEY", reason: "is required for \(command)")
    }
    guard !key.isLive || live else { throw ValidationError("refusing a live Stripe key without --live") }
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        try await body(StripeClient(http: http, baseURL: configuration.billing.apiBase, key: key))
    } catch {
        try? await http.shutdown()
        throw error
    }
    try await http.shutdown()
}
