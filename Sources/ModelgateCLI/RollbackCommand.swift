import ArgumentParser
import AsyncHTTPClient
import Foundation
import ModelgateAdmin
import ModelgateBilling
import ModelgateCore
import ModelgateServer
import ModelgateStore

/// The rollback plan of docs/operations.md, one audited command per step.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Undo a model launch step by step (see docs/operations.md).",
        subcommands: [DisablePremiumCommand.self, ResetPreferencesCommand.self, RestorePreferencesCommand.self])
}

/// Opens the migrated database, runs `body`, prints its report and closes the database.
func runReport(_ options: CommonOptions, dryRun: Bool, _ body: (Database, SystemClock) async throws -> RollbackReport) async throws {
    let configuration = try options.configuration()
    let clock = SystemClock()
    let database = try await openMigratedDatabase(configuration, logger: makeLogger(), clock: clock)
    var failure: (any Error)?
    do {
        let report = try await body(database, clock)
        print((report.lines.isEmpty ? ["nothing to change"] : report.lines).map { (dryRun ? "would " : "") + $0 }.joined(separator: "\n"))
        if dryRun { print("dry run: nothing was changed") }
    } catch {
        failure = error
    }
    await database.shutdown()
    if let failure { throw failure }
}

struct DisablePremiumCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disable-premium", abstract: "Disable every premium model.")
    @OptionGroup var options: CommonOptions
    @Flag(help: "Print what would change; change nothing.") var dryRun = false

    func run() async throws {
        try await runReport(options, dryRun: dryRun) { database, clock in
            try await Rollback(database: database).disablePremium(dryRun: dryRun, by: Actor(command: "cli:rollback"), at: clock.now())
        }
    }
}

struct ResetPreferencesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset-preferences", abstract: "Back up, then clear every user's default and coach overrides.")
    @OptionGroup var options: CommonOptions
    @Option(help: "Set every default to this model instead of none (the system default answers).") var to: String?
    @Flag(help: "Print what would change; change nothing.") var dryRun = false

    func run() async throws {
        try await runReport(options, dryRun: dryRun) { database, clock in
            let now = clock.now()
            return try await Rollback(database: database).resetPreferences(
                to: to.map(ModelID.init), dryRun: dryRun, by: Actor(command: "cli:rollback"), at: now,
                backupID: "backup-" + ISO8601DateFormatter().string(from: now))
        }
    }
}

struct RestorePreferencesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore-preferences", abstract: "Put back every user's choices from the newest (or a named) backup.")
    @OptionGroup var options: CommonOptions
    @Option(help: "The backup to restore (default: the newest).") var backup: String?
    @Flag(help: "Print what would change; change nothing.") var dryRun = false

    func run() async throws {
        try await runReport(options, dryRun: dryRun) { database, clock in
            try await Rollback(database: database).restorePreferences(
                backupID: backup, dryRun: dryRun, by: Actor(command: "cli:rollback"), at: clock.now())
        }
    }
}

struct StripeDeactivateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deactivate", abstract: "Make every Stripe price and product of the catalog inactive (stop selling).")
    @OptionGroup var options: CommonOptions
    @Flag(help: "Print what would change; change nothing.") var dryRun = false
    @Flag(help: "Allow a live key (sk_live_…).") var live = false

    func run() async throws {
        let configuration = try options.configuration()
        try await withStripeClient(configuration, live: live, command: "stripe deactivate") { stripe in
            try await runReport(options, dryRun: dryRun) { database, clock in
                try await StripeSync(stripe: stripe, database: database, clock: clock).deactivate(dryRun: dryRun, by: Actor(command: "cli:stripe"))
            }
        }
    }
}

struct RefundsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "refunds", abstract: "Refunded purchases.", subcommands: [RefundsListCommand.self])
}

struct RefundsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Refunds since a date, as CSV, for telling the people concerned.")
    @OptionGroup var options: CommonOptions
    @Option(help: "First day to include (YYYY-MM-DD, UTC).") var since: String

    func run() async throws {
        guard DayRange.isValidDay(since) else { throw ValidationError("--since must be a date as YYYY-MM-DD") }
        let configuration = try options.configuration()
        let database = try await openMigratedDatabase(configuration, logger: makeLogger(), clock: SystemClock())
        let refunds: [RefundRecord]
        do {
            refunds = try await Rollback(database: database).refunds(since: DayRange.start(of: since))
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()
        print(CSV.line(["refunded_at", "purchase_id", "user_id", "email", "model_id", "amount_cents"]), terminator: "")
        for refund in refunds {
            print(CSV.line([ISO8601DateFormatter().string(from: refund.refundedAt), String(refund.purchaseId), refund.userId, refund.email ?? "",
                            refund.modelId, String(refund.amountCents)]), terminator: "")
        }
    }
}
