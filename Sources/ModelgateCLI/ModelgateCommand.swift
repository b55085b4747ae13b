import ArgumentParser

/// The `modelgate` command line.
public struct ModelgateCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "modelgate",
        abstract: "Model selection, trials, quotas and purchases for AI chat apps.",
        subcommands: [ServeCommand.self, MigrateCommand.self, SeedCommand.self, TokenCommand.self, KeysCommand.self, StripeCommand.self, AnalyticsCommand.self, RollbackCommand.self, RefundsCommand.self, BackupCommand.self, RestoreCommand.self],
        defaultSubcommand: ServeCommand.self)

    public init() {}
}
