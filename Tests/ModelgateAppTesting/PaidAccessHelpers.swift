import Foundation
import HummingbirdTesting
import ModelgateCore
import ModelgateStore
import SQLKit
import Testing

extension TestApp {
    /// Sets a model's credit price through the admin API.
    public func setCreditPrice(_ model: String, _ price: String, client: any TestClientProtocol) async throws {
        let reply = try await client.call(.put, "/api/admin/models/\(model)/credit-price", token: try await adminToken(), json: #"{"price":\#(price)}"#)
        #expect(reply.status == .ok, "\(reply.json)")
    }

    /// Gives a user credits through the admin API; returns the balance.
    @discardableResult
    public func grantCredits(_ credits: Int, to user: UserID, client: any TestClientProtocol, reference: String? = nil) async throws -> Int? {
        _ = try await services.profiles.findOrCreate(user, email: nil, at: clock.now())
        let body = reference.map { #"{"credits":\#(credits),"reference":"\#($0)","note":"test"}"# } ?? #"{"credits":\#(credits),"note":"test"}"#
        let reply = try await client.call(.post, "/api/admin/users/\(user)/credits", token: try await adminToken(), json: body)
        #expect(reply.status == .ok, "\(reply.json)")
        return reply.json["balance"]?.int
    }

    /// The wallet's balance and its ledger's sum, read from the database (they must always agree).
    public func creditBooks(of user: UserID) async throws -> (balance: Int, ledgerSum: Int, lotsRemaining: Int, held: Int) {
        try await database.read { db in
            func number(_ query: SQLQueryString) async throws -> Int {
                try await db.raw(query).first()?.decode(column: "n", as: Int?.self) ?? 0
            }
            let user = user.description
            return (try await number("SELECT balance AS n FROM credit_wallets WHERE user_id = \(bind: user)"),
                    try await number("SELECT CAST(SUM(amount) AS BIGINT) AS n FROM credit_ledger WHERE user_id = \(bind: user)"),
                    try await number("SELECT CAST(SUM(remaining) AS BIGINT) AS n FROM credit_lots WHERE user_id = \(bind: user)"),
                    try await number("SELECT CAST(SUM(credits) AS BIGINT) AS n FROM budget_holds WHERE user_id = \(bind: user)"))
        }
    }

    /// The ledger's movements of a user, oldest first.
    public func creditMovements(of user: UserID) async throws -> [String] {
        try await database.read { db in
            try await db.raw("SELECT movement, amount FROM credit_ledger WHERE user_id = \(bind: user.description) ORDER BY created_at, id").all().map {
                "\(try $0.decode(column: "movement", as: String.self)) \(try $0.decode(column: "amount", as: Int.self))"
            }
        }
    }
}
