import ArgumentParser
import Foundation
import ModelgateCore
import ModelgateServer

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Print a signed bearer token for development and tests.")

    @OptionGroup var options: CommonOptions
    @Option(help: "The user's email; the same email always gives the same user id.") var email: String
    @Flag(help: "Mark the token as an admin's (app_metadata.modelgate_role = admin, or the configured claim).") var admin = false
    @Option(help: "Lifetime, e.g. 30m, 1h, 7d or seconds.") var ttl = "1h"

    func run() async throws {
        let configuration = try options.configuration()
        guard let seconds = Self.parseDuration(ttl) else {
            throw ValidationError("--ttl '\(ttl)' is not a duration such as 30m, 1h or 7d")
        }
        let secret = try configuration.resolveJWTSecret { FileHandle.standardError.write(Data(("warning: " + $0 + "\n").utf8)) }
        let clock = SystemClock()
        let tokens = await TokenAuthority(secret: secret, clock: clock, rules: configuration.tokenRules)
        print(try await tokens.issue(
            user: TokenAuthority.userID(forEmail: email), email: email, admin: admin, ttl: seconds, now: clock.now()))
    }

    static func parseDuration(_ text: String) -> TimeInterval? {
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = text.last, let factor = units[unit], let value = Double(text.dropLast()), value > 0 { return value * factor }
        if let value = Double(text), value > 0 { return value }
        return nil
    }
}
