import Foundation
import ModelgateAccess
import ModelgateBilling
import ModelgateCore

/// The settings page's "Plan and credits" card: the plan, when it renews or ends, what is left of
/// it, the credit balance and its latest movements, and what can be bought.
struct BillingSection: Sendable {
    struct Offer: Sendable {
        let id: String
        let name: String
        let detail: String
    }

    struct Movement: Sendable {
        let time: String
        let what: String
        let amount: String
    }

    let hasPlan: Bool
    let planName: String
    /// "Renews …", "Ends …", or why it is locked.
    let planState: String
    let pastDue: Bool
    let allowanceLeft: String?
    let canManage: Bool
    let creditBalance: String
    let movements: [Movement]
    let hasMovements: Bool
    let plans: [Offer]
    let packs: [Offer]
    let canBuy: Bool

    init(billing: BillingView, ledger: CreditLedgerView, models: ModelsView, format: LocalTimeFormat, purchasesOpen: Bool) {
        let current = billing.subscriptions.first { $0.standing != .ended }
        hasPlan = current != nil
        planName = current?.planName ?? ""
        pastDue = current?.standing == .pastDue
        planState = current.map { subscription in
            if subscription.standing == .pastDue { return "The last payment failed: its models are locked until the invoice is paid." }
            if subscription.status == .pastDue { return "The last payment failed; it is retried, and the plan keeps working meanwhile." }
            let end = format.time(subscription.periodEnd)
            return subscription.cancelAtPeriodEnd ? "Ends at \(end); it will not renew." : (subscription.status == .trialing ? "Free trial until \(end)." : "Renews at \(end).")
        } ?? ""
        let allowances = (models.data.premium + models.data.free).compactMap(\.plan)
        allowanceLeft = allowances.compactMap(\.messagesLeftInPeriod).min().map { "\($0) messages left this period" }
            ?? allowances.compactMap(\.messagesLeftToday).min().map { "\($0) messages left today on each model" }
        canManage = current?.source == .stripe && purchasesOpen
        creditBalance = "\(billing.creditBalance) credits"
        movements = ledger.entries.filter { $0.movement != .hold && $0.movement != .release }.prefix(5).map {
            Movement(time: format.time($0.at), what: Self.describe($0.movement), amount: ($0.amount > 0 ? "+" : "") + "\($0.amount)")
        }
        hasMovements = !movements.isEmpty
        plans = current == nil ? billing.plans.map {
            Offer(id: $0.id.rawValue, name: $0.name, detail: "\(Money.dollars($0.priceCents)) a \($0.interval.rawValue)"
                  + ($0.messagesPerPeriod.map { ", \($0) messages" } ?? "") + ($0.trialDays.map { ", \($0)-day free trial" } ?? ""))
        } : []
        packs = billing.creditPacks.map { Offer(id: $0.id, name: $0.name, detail: "\($0.credits) credits for \(Money.dollars($0.priceCents))") }
        canBuy = purchasesOpen
    }

    static func describe(_ movement: CreditMovement) -> String {
        switch movement {
        case .purchase: "Credit pack"
        case .store: "Bought in the app store"
        case .grant: "Given by the team"
        case .adjustment: "Adjusted by the team"
        case .hold, .release: "Held while a reply streamed"
        case .spend: "A message"
        case .refund: "Pack refunded"
        case .expiry: "Expired"
        }
    }
}
