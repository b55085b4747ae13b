import HTTPTypes
import Hummingbird
import ModelgateCore

/// A notice as a page shows it (Mustache reads the fields by name).
public struct PageNotice: Sendable {
    let kind: String
    let text: String

    public init(_ notice: SettingsNotice) {
        kind = notice.kind
        text = notice.text
    }
}

/// The message at the top of the settings page: after a redirect it comes from a fixed set of
/// query flags (never text from the URL); after a refusal it explains the error in the user's terms.
public struct SettingsNotice {
    public let kind: String
    public let text: String
    public var status: HTTPResponse.Status = .ok

    public init(kind: String, text: String, status: HTTPResponse.Status = .ok) {
        self.kind = kind
        self.text = text
        self.status = status
    }

    public init?(query: Parameters, catalog: CatalogSnapshot) {
        let model = query["model"].flatMap { catalog.model(ModelID(String($0)))?.displayName } ?? "Your model"
        switch (query["saved"], query["checkout"]) {
        case ("default", _): self.init(kind: "success", text: "Default model saved.")
        case ("override", _): self.init(kind: "success", text: "Coach model saved.")
        case ("cleared", _): self.init(kind: "success", text: "Override cleared: this coach follows your default model again.")
        case (_, "success"):
            self.init(kind: "success", text: "Payment received. \(model) shows as Purchased as soon as Stripe confirms the payment.")
        case (_, "plan"): self.init(kind: "success", text: "Payment received. Your plan starts as soon as Stripe confirms it.")
        case (_, "credits"): self.init(kind: "success", text: "Payment received. The credits are added as soon as Stripe confirms the payment.")
        case (_, "cancelled"): self.init(kind: "info", text: "Checkout cancelled: you were not charged.")
        default: return nil
        }
    }

    public static func refused(_ error: any Error, catalog: CatalogSnapshot) -> SettingsNotice {
        let problem = Problem(error)
        func named(_ id: ModelID) -> (name: String, price: String) {
            let model = catalog.model(id)
            return (model?.displayName ?? "This model", model?.priceCents.map { Money.dollars($0) }.map { " for \($0)" } ?? "")
        }
        let text = switch error as? ModelgateError {
        case .premiumChoiceLocked(let id, _)?, .modelLocked(let id, _)?:
            "\(named(id).name) is premium: buy it\(named(id).price) to make it your default, or try it from the chat."
        case .trialExhausted(let id, _)?: "Your free messages with \(named(id).name) are used up: buy it\(named(id).price) to keep using it."
        default: problem.detail
        }
        return SettingsNotice(kind: "error", text: text, status: problem.status)
    }
}
