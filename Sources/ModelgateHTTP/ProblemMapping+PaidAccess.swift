import Foundation
import HTTPTypes
import ModelgateCore

extension Problem {
    /// A message refused because what pays for it ran out: each says what would unlock it, and tells
    /// the SDKs not to retry (the answer will not change by itself within seconds).
    init(paidAccess error: ModelgateError) {
        switch error {
        case .creditsInsufficient(let model, let needed, let balance):
            self.init(status: .paymentRequired, code: "credits_insufficient", title: "Not enough credits",
                      detail: "A message to '\(model)' may cost up to \(needed) credits and your balance is \(balance): buy a credit pack to continue. Nothing was charged.",
                      extra: ["modelId": .string(model.rawValue), "needed": .number(Double(needed)), "balance": .number(Double(balance))],
                      headers: [.shouldRetry: "false"])
        case .planAllowanceExhausted(let model, let plan, let resetAt, let seconds):
            self.init(status: .tooManyRequests, code: "plan_allowance_exhausted", title: "Plan allowance used up",
                      detail: "Your plan '\(plan)' has no messages left for '\(model)' until \(ISO8601.string(resetAt)); credits or a larger plan would unlock more. Nothing was charged.",
                      extra: ["modelId": .string(model.rawValue), "plan": .string(plan), "resetAt": .string(ISO8601.string(resetAt))],
                      headers: [.retryAfter: String(seconds), .shouldRetry: "false"])
        case .planPastDue(let model, let plan):
            self.init(status: .paymentRequired, code: "plan_past_due", title: "Plan payment overdue",
                      detail: "The payment of your plan '\(plan)' failed and its grace period is over: '\(model)' unlocks again once the invoice is paid (manage the plan in the billing portal). Nothing was charged.",
                      extra: ["modelId": .string(model.rawValue), "plan": .string(plan)], headers: [.shouldRetry: "false"])
        default:
            self.init(error)
        }
    }
}

extension HTTPResponse.Status {
    /// 402: what pays for the message ran out (credits, a plan's payment); HTTPTypes names no constant for it.
    static let paymentRequired = HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required")
}
