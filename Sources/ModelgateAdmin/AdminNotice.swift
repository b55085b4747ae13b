import Foundation
import HTTPTypes
import Hummingbird
import ModelgateAccess
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// The notice after an admin form redirected back: a fixed set of flags. Only a model name found
/// in the catalog and a number reach the page, so a crafted link cannot put its words on it.
enum AdminNotice: String {
    case created, updated, enabled, disabled, bulk, `default`, granted, unchanged, revoked
    case freeLimit = "free-limit"
    case costBudget = "cost-budget"
    case aliasSaved = "alias-saved"
    case aliasRemoved = "alias-removed"

    static func from(_ query: Query, catalog: CatalogSnapshot) -> SettingsNotice? {
        guard let notice = query.string("notice").flatMap(Self.init(rawValue:)) else { return nil }
        let model = query.string("model").flatMap { catalog.model(ModelID($0))?.displayName } ?? "The model"
        let count = query.string("count").flatMap(Int.init) ?? 0
        return SettingsNotice(kind: "success", text: notice.text(model: model, count: count, catalog: catalog))
    }

    private func text(model: String, count: Int, catalog: CatalogSnapshot) -> String {
        switch self {
        case .created: "\(model) was created."
        case .updated: "\(model) was saved."
        case .enabled: "\(model) is enabled: users see it at once."
        case .disabled: "\(model) is disabled: users no longer see it, and their choices of it fall back until it is enabled again."
        case .bulk: "\(count) model(s) changed."
        case .default: "\(model) is now the system default."
        case .granted: "Access granted: the user can use the model now."
        case .unchanged: "That user already had access."
        case .revoked: "Access revoked."
        case .freeLimit: catalog.freeDailyLimit.map { "Free models without their own limit now allow \($0) messages a day per user." }
            ?? "Free models without their own limit are now unlimited."
        case .costBudget: catalog.userDailyCostBudgetMicros.map { "Each user may now cost \(Money.dollars(micros: $0)) a day at the providers." }
            ?? "Users have no daily cost budget now."
        case .aliasSaved: "The model name was mapped: clients sending it get the model now."
        case .aliasRemoved: "The model name was removed: clients sending it are refused again."
        }
    }
}
