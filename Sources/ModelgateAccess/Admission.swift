import Foundation
import ModelgateCore
import ModelgateHTTP
import ModelgateMetrics
import ModelgateProviders
import ModelgateStore

/// The user's account as selection sees it at one instant.
public struct UserStanding: Sendable {
    let entitled: Set<ModelID>
    let trialsUsed: [ModelID: Int]
    let usageToday: [ModelID: Int]
    let spendToday: DailySpend
    let costBudgetMicros: Int?
    let day: QuotaDay
    let plans: PlanChoice
    let planUsage: [String: Int]
    let creditBalance: Int

    func quote(for model: AIModel) -> AccessQuote {
        let entitled = entitled.contains(model.id)
        let plan = entitled || model.tier == .free ? nil : plans.access(to: model)?.counting(planUsage, model: model.id, day: day.key)
        return AccessQuote(model: model, entitled: entitled, trialMessagesUsed: trialsUsed[model.id] ?? 0,
                           usedToday: usageToday[model.id] ?? 0, day: day,
                           tokens: BudgetUsage(used: spendToday.tokens[model.id] ?? 0, limit: model.dailyTokenBudget),
                           costMicros: BudgetUsage(used: spendToday.costMicros, limit: costBudgetMicros), plan: plan,
                           credits: model.creditPrice.map { CreditAccess(price: $0, balance: creditBalance) })
    }
}

/// What a message would use: the chosen model and what the user may do with it.
public struct MessagePlan: Sendable {
    let choice: ModelChoice
    let quote: AccessQuote
}

/// What a call may use at most: its prompt (estimated) and the longest reply it asked for. Budgets
/// hold this much while it streams. `kind` is the kind of model that can answer it.
public struct CallDemand: Sendable {
    let promptTokens: Int
    let maxOutputTokens: Int
    let kind: ModelKind

    /// A short message with the default reply length.
    public static let short = CallDemand(promptTokens: 0, maxOutputTokens: GenerationOptions().maxOutputTokens)

    public init(_ request: ProviderRequest) {
        promptTokens = request.estimatedPromptTokens
        maxOutputTokens = request.options.maxOutputTokens
        kind = .chat
    }

    /// An embedding call: its input is all it uses.
    public init(embedding request: EmbeddingRequest) {
        promptTokens = request.input.estimatedTokens
        maxOutputTokens = 0
        kind = .embedding
    }

    /// With the coach's system prompt, which is added after admission.
    func adding(systemPrompt: String?) -> CallDemand {
        CallDemand(promptTokens: promptTokens + TurnTokens.estimate(characters: systemPrompt?.count ?? 0), maxOutputTokens: maxOutputTokens, kind: kind)
    }

    public init(promptTokens: Int, maxOutputTokens: Int, kind: ModelKind = .chat) {
        self.promptTokens = promptTokens
        self.maxOutputTokens = maxOutputTokens
        self.kind = kind
    }
}

/// A message that may go ahead: its quota is already charged and its worst case held against the
/// user's budgets. `giveBack()` returns both when the provider fails before the first token.
public struct Admission: Sendable {
    /// The call's id: its budget hold's, and what makes its settlement happen once.
    public let id: String
    public let choice: ModelChoice
    public let payment: PaymentKind
    public let usage: DailyUsage
    public let trialMessagesRemaining: Int?
    /// The coach's system prompt, when the message goes to one.
    public let systemPrompt: String?
    /// The user's local day (`YYYY-MM-DD`) the call's tokens and cost count on.
    public let day: String
    /// What the call holds against budgets until it is settled; `nil` when no budget applies.
    public let reservation: BudgetReservation?
    /// The model this message was meant for when a stand-in answers it (its provider failed).
    public var failoverFrom: ModelID? = nil
    /// The plan's meter the call is reported to, when a plan with one pays for it.
    public var metered: MeteredCall? = nil
    let release: @Sendable () async throws -> Void

    public init(id: String, choice: ModelChoice, payment: PaymentKind, usage: DailyUsage, trialMessagesRemaining: Int?, systemPrompt: String?,
                day: String, reservation: BudgetReservation?, release: @escaping @Sendable () async throws -> Void) {
        self.id = id
        self.choice = choice
        self.payment = payment
        self.usage = usage
        self.trialMessagesRemaining = trialMessagesRemaining
        self.systemPrompt = systemPrompt
        self.day = day
        self.reservation = reservation
        self.release = release
    }

    public func giveBack() async throws { try await release() }
}

/// What a chat call asks of Access: to be admitted (the call, a stand-in when its provider failed,
/// an API key's background task) against the catalog Access decides on. `ModelAccessService` is the
/// live value; a test of Chat passes its own and needs no quotas, budgets or purchases.
public protocol CallAdmitting: Sendable {
    var catalog: CatalogSnapshot { get }
    func admit(_ profile: Profile, persona: PersonaID?, explicit: ModelID?, path: ModelgateMetrics.RequestPath, demand: CallDemand,
               check: (AIModel) throws -> Void) async throws -> Admission
    func admitStandIn(_ model: AIModel, for original: Admission, profile: Profile, persona: PersonaID?, demand: CallDemand,
                      check: (AIModel) throws -> Void) async throws -> Admission?
    func admitTask(for key: ApiKey, profile: Profile, check: (AIModel) throws -> Void) async throws -> Admission
}

extension ModelAccessService: CallAdmitting {}
