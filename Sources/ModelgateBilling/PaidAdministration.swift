import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateStore
import SQLKit

/// A purchase made outside Stripe (an app store), as the app's backend reports it.
public struct StorePurchase: Sendable, Decodable {
    /// The store's id of this transaction: a second report of it changes nothing.
    public let transactionId: String
    /// A plan: the store's id of the subscription (its original transaction), the period's end.
    public let planId: PlanID?
    public let subscriptionId: String?
    /// The period the payment covers; it starts now when absent.
    public let periodStart: Date?
    public let periodEnd: Date?
    /// `active` (bought or renewed) or `canceled` (refunded or expired early); `active` when absent.
    public let status: SubscriptionStatus?
    /// Credits.
    public let credits: Int?
    public let expiresAt: Date?
}

/// What admins sell and grant besides one-time unlocks: plans, credit packs, credit prices, credits,
/// and purchases made in an app store. Each change is one transaction with its audit row.
public struct PaidAdministration: Sendable {
    let database: Database
    let cache: CatalogCache
    let clock: any WallClock
    let makeID: @Sendable () -> UUID

    public init(database: Database, cache: CatalogCache, clock: any WallClock, makeID: @escaping @Sendable () -> UUID) {
        self.database = database
        self.cache = cache
        self.clock = clock
        self.makeID = makeID
    }

    public func save(_ plan: Plan, by actor: Actor) async throws {
        let catalog = cache.catalog
        var problems = plan.problems
        if let unknown = plan.models.first(where: { catalog.model($0)?.tier != .premium }) {
            problems.append(FieldError("models", "'\(unknown)' is not a premium model of the catalog"))
        }
        guard problems.isEmpty else { throw ModelgateError.validationFailed(problems) }
        try await changeCatalog(.planSaved, type: "plan", id: plan.id.rawValue, after: JSONValue(encoding: plan), by: actor) { now, db in
            try await PaidCatalog.save(plan, at: now, in: db)
        }
    }

    public func save(_ pack: CreditPack, by actor: Actor) async throws {
        guard pack.problems.isEmpty else { throw ModelgateError.validationFailed(pack.problems) }
        try await changeCatalog(.creditPackSaved, type: "credit_pack", id: pack.id, after: JSONValue(encoding: pack), by: actor) { now, db in
            try await CreditPackRepository.save(pack, at: now, in: db)
        }
    }

    public func packs() async throws -> [CreditPack] {
        try await database.read { db in try await CreditPackRepository.all(in: db) }
    }

    public func setCreditPrice(_ price: CreditPrice?, of model: ModelID, by actor: Actor) async throws {
        guard cache.catalog.model(model) != nil else { throw ModelgateError.notFound(what: "model", id: model.rawValue) }
        if let problems = price?.problems, !problems.isEmpty { throw ModelgateError.validationFailed(problems) }
        try await changeCatalog(.modelCreditPriceChanged, type: "model", id: model.rawValue, after: try price.map { try JSONValue(encoding: $0) } ?? .null,
                                by: actor) { now, db in
            try await PaidCatalog.setCreditPrice(price, of: model, at: now, in: db)
        }
    }

    /// Gives credits (positive) or takes them back (negative, at most the balance). With a
    /// `reference` a retried grant changes nothing.
    public func grant(_ credits: Int, to user: UserID, reference: String?, note: String, by actor: Actor) async throws -> Int {
        guard credits != 0, abs(credits) <= 1_000_000_000 else {
            throw ModelgateError.invalidField(field: "credits", reason: "must be a non-zero whole number of at most 1,000,000,000")
        }
        let reference = reference ?? makeID().uuidString.lowercased()
        let now = clock.now()
        return try await database.transaction { db in
            // A retry changes nothing; a reference another user's grant holds is refused.
            if let owner = try await CreditWallet.owner(of: credits > 0 ? .grant : .adjustment, reference: reference, in: db) {
                guard owner == user else {
                    throw ModelgateError.conflict(code: "reference_in_use", detail: "The reference '\(reference)' belongs to another user's grant.")
                }
                return try await CreditWallet.balance(of: user, in: db)
            }
            if credits > 0 {
                try await CreditWallet.deposit(CreditDeposit(user: user, credits: credits, movement: .grant, reference: reference),
                                               lot: "grant:" + reference, at: now, in: db)
            } else if try await !CreditWallet.debit(-credits, user: user, reference: reference, at: now, in: db) {
                throw ModelgateError.conflict(code: "credits_insufficient", detail: "The balance is smaller than \(-credits) credits; nothing was taken.")
            }
            try await AuditLog.record(actor: actor.id, action: credits > 0 ? .creditsGranted : .creditsAdjusted, targetType: "user",
                                      targetID: user.description, before: nil,
                                      after: .object(["credits": .number(Double(credits)), "reference": .string(reference), "note": .string(note)]),
                                      at: now, in: db)
            return try await CreditWallet.balance(of: user, in: db)
        }
    }

    /// Records a store purchase once: a plan's period (active until `periodEnd`) or credits.
    public func record(_ purchase: StorePurchase, for user: UserID, by actor: Actor) async throws -> Bool {
        let now = clock.now()
        let state = try storeState(purchase, user: user, catalog: cache.catalog, at: now)
        if purchase.credits == nil, state == nil { throw ModelgateError.invalidField(field: "planId", reason: "name a plan or an amount of credits") }
        if let credits = purchase.credits, !(1...1_000_000_000).contains(credits) {
            throw ModelgateError.invalidField(field: "credits", reason: "must be from 1 to 1,000,000,000")
        }
        if purchase.transactionId.isEmpty || purchase.transactionId.count > 200 {
            throw ModelgateError.invalidField(field: "transactionId", reason: "must be 1–200 characters")
        }
        return try await database.transaction { db in
            guard try await SubscriptionBook.recordStoreTransaction(purchase.transactionId, user: user, kind: state == nil ? "credits" : "plan",
                                                                    at: now, in: db) else { return false }
            if let state {
                try await SubscriptionBook.apply(state, version: Int64(now.timeIntervalSince1970 * 1_000), at: now, in: db)
            }
            if let credits = purchase.credits {
                try await CreditWallet.deposit(CreditDeposit(user: user, credits: credits, movement: .store, reference: purchase.transactionId,
                                                             expiresAt: purchase.expiresAt), lot: "store:" + purchase.transactionId, at: now, in: db)
            }
            try await AuditLog.record(actor: actor.id, action: .storePurchaseRecorded, targetType: "user", targetID: user.description, before: nil,
                                      after: .object(["transactionId": .string(purchase.transactionId), "plan": purchase.planId.map { .string($0.rawValue) } ?? .null,
                                                      "credits": purchase.credits.map { .number(Double($0)) } ?? .null]), at: now, in: db)
            return true
        }
    }

    private func storeState(_ purchase: StorePurchase, user: UserID, catalog: CatalogSnapshot, at now: Date) throws -> SubscriptionState? {
        guard let planID = purchase.planId else { return nil }
        guard catalog.plan(planID) != nil else { throw ModelgateError.invalidField(field: "planId", reason: "there is no plan '\(planID)'") }
        guard let periodEnd = purchase.periodEnd, periodEnd > now || purchase.status == .canceled else {
            throw ModelgateError.invalidField(field: "periodEnd", reason: "is required and must be in the future")
        }
        let status = purchase.status ?? .active
        guard [.active, .canceled].contains(status) else { throw ModelgateError.invalidField(field: "status", reason: "must be active or canceled") }
        return SubscriptionState(id: "store:" + (purchase.subscriptionId ?? purchase.transactionId), user: user, plan: planID, source: .store,
                                 status: status, periodStart: purchase.periodStart ?? now, periodEnd: periodEnd, cancelAtPeriodEnd: true, customer: nil)
    }

    private func changeCatalog(_ action: AuditAction, type: String, id: String, after: JSONValue, by actor: Actor,
                               _ write: @escaping @Sendable (Date, any SQLDatabase) async throws -> Void) async throws {
        let now = clock.now()
        try await database.transaction { db in
            try await write(now, db)
            try await CatalogRepository.bumpVersion(at: now, in: db)
            try await AuditLog.record(actor: actor.id, action: action, targetType: type, targetID: id, before: nil, after: after, at: now, in: db)
        }
        try await cache.refresh()
    }
}
