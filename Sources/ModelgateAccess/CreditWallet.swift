import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// Credits a wallet receives: a pack bought, credits from an app store, an admin's grant.
public struct CreditDeposit: Sendable, Equatable {
    public let user: UserID
    public let credits: Int
    public let movement: CreditMovement
    /// What makes the deposit happen once: a checkout session, a store transaction, an admin's key.
    public let reference: String
    public let expiresAt: Date?

    public init(user: UserID, credits: Int, movement: CreditMovement, reference: String, expiresAt: Date? = nil) {
        self.user = user
        self.credits = credits
        self.movement = movement
        self.reference = reference
        self.expiresAt = expiresAt
    }
}

/// Each user's credit balance and its ledger. Every change of a balance is one conditional
/// statement plus its ledger row in the same transaction, so the ledger's sum is the balance and a
/// balance can never go below zero (the schema refuses it too), on any number of instances.
/// Credits arrive in lots (a pack, a grant) so a refunded or expired lot's unspent credits can be
/// taken back; spending draws from the lot that expires first.
public enum CreditWallet {
    /// Holds a call's worst case; false when the balance is smaller.
    static func hold(_ credits: Int, call: String, user: UserID, at now: Date, in db: any SQLDatabase) async throws -> Bool {
        guard try await db.raw("""
            UPDATE credit_wallets SET balance = balance - \(bind: credits), updated_at = \(bind: now)
            WHERE user_id = \(bind: user.description) AND balance >= \(bind: credits) RETURNING balance
            """).first() != nil else { return false }
        try await entry(.hold, -credits, reference: call, user: user, at: now, in: db)
        return true
    }

    /// Gives a call's hold back whole: it never started, or it expired unsettled.
    static func release(_ credits: Int, call: String, user: UserID, at now: Date, in db: any SQLDatabase) async throws {
        try await change(by: credits, user: user, at: now, in: db)
        try await entry(.release, credits, reference: call, user: user, at: now, in: db)
    }

    /// Replaces a call's hold with what it cost (at most the hold).
    static func settle(held: Int, cost: Int, call: String, user: UserID, at now: Date, in db: any SQLDatabase) async throws {
        try await release(held, call: call, user: user, at: now, in: db)
        guard cost > 0 else { return }
        try await change(by: -cost, user: user, at: now, in: db)
        try await entry(.spend, -cost, reference: call, user: user, at: now, in: db)
        try await drawFromLots(cost, user: user, in: db)
    }

    /// Adds a deposit once: a second deposit with the same movement and reference changes nothing
    /// (false). Its lot is what a refund or an expiry takes back.
    @discardableResult
    public static func deposit(_ deposit: CreditDeposit, lot: String, at now: Date, in db: any SQLDatabase) async throws -> Bool {
        guard try await entryOnce(deposit.movement, deposit.credits, reference: deposit.reference, user: deposit.user, at: now, in: db) else {
            return false
        }
        try await change(by: deposit.credits, user: deposit.user, at: now, in: db)
        try await db.raw("""
            INSERT INTO credit_lots (id, user_id, credits, remaining, expires_at, created_at)
            VALUES (\(bind: lot), \(bind: deposit.user.description), \(bind: deposit.credits), \(bind: deposit.credits),
                    \(bind: deposit.expiresAt), \(bind: now))
            """).run()
        return true
    }

    /// Takes back what is left of a lot, as far as the balance has it (credits held by a call
    /// still streaming are not in the balance: they are spent, or come back to the lot when it settles).
    /// Returns the credits taken.
    @discardableResult
    public static func withdraw(lot: String, as movement: CreditMovement, reference: String, at now: Date, in db: any SQLDatabase) async throws -> Int {
        guard let row = try await db.raw("""
            SELECT l.user_id, l.remaining, w.balance FROM credit_lots l JOIN credit_wallets w ON w.user_id = l.user_id WHERE l.id = \(bind: lot)
            """).first() else { return 0 }
        let user = try row.decodeUserID(column: "user_id")
        let take = min(try row.decode(column: "remaining", as: Int.self), try row.decode(column: "balance", as: Int.self))
        guard take > 0, try await entryOnce(movement, -take, reference: reference, user: user, at: now, in: db) else { return 0 }
        try await change(by: -take, user: user, at: now, in: db)
        try await db.raw("UPDATE credit_lots SET remaining = remaining - \(bind: take) WHERE id = \(bind: lot)").run()
        return take
    }

    /// Takes `credits` from the balance (an admin's negative adjustment); false when the balance is smaller.
    public static func debit(_ credits: Int, user: UserID, reference: String, at now: Date, in db: any SQLDatabase) async throws -> Bool {
        guard try await db.raw("""
            UPDATE credit_wallets SET balance = balance - \(bind: credits), updated_at = \(bind: now)
            WHERE user_id = \(bind: user.description) AND balance >= \(bind: credits) RETURNING balance
            """).first() != nil else { return false }
        try await entry(.adjustment, -credits, reference: reference, user: user, at: now, in: db)
        try await drawFromLots(credits, user: user, in: db)
        return true
    }

    /// Takes back what is left of every lot expired by `now`; returns the credits taken.
    static func expireLots(at now: Date, in db: any SQLDatabase) async throws -> Int {
        let lots = try await db.raw("""
            SELECT id FROM credit_lots WHERE expires_at <= \(bind: now) AND remaining > 0 ORDER BY expires_at LIMIT 500
            """).all().map { try $0.decode(column: "id", as: String.self) }
        var taken = 0
        for lot in lots {
            taken += try await withdraw(lot: lot, as: .expiry, reference: "\(lot)@\(Int(now.timeIntervalSince1970))", at: now, in: db)
        }
        return taken
    }

    /// Whose ledger holds a movement with this reference, if anyone's.
    public static func owner(of movement: CreditMovement, reference: String, in db: any SQLDatabase) async throws -> UserID? {
        try await db.raw("""
            SELECT user_id FROM credit_ledger WHERE movement = \(bind: movement.rawValue) AND reference = \(bind: reference)
            """).first()?.decodeUserID(column: "user_id")
    }

    public static func balance(of user: UserID, in db: any SQLDatabase) async throws -> Int {
        try await db.raw("SELECT balance FROM credit_wallets WHERE user_id = \(bind: user.description)").first()?
            .decode(column: "balance", as: Int.self) ?? 0
    }

    /// The balance changes by `amount`; the wallet row is made on the first deposit.
    private static func change(by amount: Int, user: UserID, at now: Date, in db: any SQLDatabase) async throws {
        guard amount >= 0 else {
            // SQLite checks the row an upsert would insert before it sees the conflict: a negative
            // change is an update of the existing wallet.
            try await db.raw("""
                UPDATE credit_wallets SET balance = balance + \(bind: amount), updated_at = \(bind: now) WHERE user_id = \(bind: user.description)
                """).run()
            return
        }
        try await db.raw("""
            INSERT INTO credit_wallets (user_id, balance, updated_at) VALUES (\(bind: user.description), \(bind: amount), \(bind: now))
            ON CONFLICT (user_id) DO UPDATE SET balance = credit_wallets.balance + excluded.balance, updated_at = excluded.updated_at
            """).run()
    }

    /// Spending draws from the lot that expires first (then the oldest), so no credit expires while a later one is spent.
    private static func drawFromLots(_ credits: Int, user: UserID, in db: any SQLDatabase) async throws {
        var left = credits
        let lots = try await db.raw("""
            SELECT id, remaining FROM credit_lots WHERE user_id = \(bind: user.description) AND remaining > 0
            ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, created_at, id
            """).all()
        for lot in lots where left > 0 {
            let take = min(left, try lot.decode(column: "remaining", as: Int.self))
            try await db.raw("UPDATE credit_lots SET remaining = remaining - \(bind: take) WHERE id = \(bind: try lot.decode(column: "id", as: String.self))").run()
            left -= take
        }
    }

    private static func entry(_ movement: CreditMovement, _ amount: Int, reference: String, user: UserID, at now: Date,
                              in db: any SQLDatabase) async throws {
        guard try await entryOnce(movement, amount, reference: reference, user: user, at: now, in: db) else {
            throw CreditLedgerConflict(movement: movement, reference: reference)
        }
    }

    /// The ledger row, unless one with the same movement and reference exists (false).
    private static func entryOnce(_ movement: CreditMovement, _ amount: Int, reference: String, user: UserID, at now: Date,
                                  in db: any SQLDatabase) async throws -> Bool {
        try await db.raw("""
            INSERT INTO credit_ledger (id, user_id, movement, amount, reference, created_at)
            VALUES (\(bind: movement.rawValue + ":" + reference), \(bind: user.description), \(bind: movement.rawValue), \(bind: amount),
                    \(bind: reference), \(bind: now))
            ON CONFLICT DO NOTHING RETURNING id
            """).first() != nil
    }
}

/// A movement written twice for one reference: the transaction rolls back rather than count it twice.
struct CreditLedgerConflict: Error {
    let movement: CreditMovement
    let reference: String
}
