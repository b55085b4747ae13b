import Foundation
import ModelgateCore
import ModelgateHTTP
import ModelgateMetrics
import ModelgateProviders
import ModelgateStore

extension ModelAccessService {
    /// A background call of an API key (`X-Modelgate-Purpose: task`): served by the key's task
    /// model and charged to the key's budget for the UTC day, never to the end user's messages or
    /// trials. `check` refuses what the model cannot take, before the charge.
    public func admitTask(for key: ApiKey, profile: Profile, check: (AIModel) throws -> Void) async throws -> Admission {
        guard let modelID = key.limits.taskModel, let budget = key.limits.taskDailyBudget else { throw ModelgateError.taskNotConfigured }
        guard let model = cache.catalog.model(modelID), model.enabled else { throw ModelgateError.modelUnavailable(modelID) }
        guard configuredProviders.contains(model.provider) else { throw ModelgateError.providerNotConfigured(model.provider) }
        try check(model)
        let day = QuotaCalendar.day(at: clock.now(), zoneIdentifier: "UTC")
        guard let used = try await keys.takeTask(key: key.id, day: day.key, budget: budget) else {
            metrics.keyRequest(key: key.id, outcome: .taskBudgetExhausted)
            throw ModelgateError.taskBudgetExhausted(
                limit: budget, resetAt: day.resetAt, retryAfterSeconds: max(1, Int(day.resetAt.timeIntervalSince(clock.now()).rounded(.up))))
        }
        return Admission(
            id: newCallID(), choice: ModelChoice(model: model, reason: .explicit, answeredBy: .explicit, skipped: []), payment: .task,
            usage: DailyUsage(used: used, limit: budget, resetAt: ISO8601.string(day.resetAt)), trialMessagesRemaining: nil,
            // The key's budget counts UTC days; the call's tokens and cost count on the end user's own day, as all theirs do.
            systemPrompt: nil, day: profile.timeZone.day(at: clock.now()).key, reservation: nil, release: { [keys] in try await keys.giveBackTask(key: key.id, day: day.key) })
    }
}
