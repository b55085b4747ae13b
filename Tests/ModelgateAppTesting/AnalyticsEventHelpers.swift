import Foundation
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCLI
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import SQLKit
import Testing

/// The user-facing story behind the product events: preferences, two trial messages, the trial
/// used up, a purchase, then a daily limit. Returns the events it must have caused, in order.
public enum AnalyticsScenario {
    public typealias Expected = (event: String, properties: JSONValue)

    public static func run(_ app: TestApp, _ client: any TestClientProtocol, user: UserID) async throws -> [Expected] {
        let token = try await app.token(user)
        let saved = try await client.call(.patch, "/api/profile/model-preferences", token: token,
                                          json: #"{"defaultModelId": "gpt-4o-mini", "personaOverrides": {"fitness": "claude-3-5-haiku"}}"#)
        #expect(saved.status == .ok)
        // Trial messages are spent by choosing the premium model for a message (it cannot be an
        // override before it is bought).
        let tryPremium = #"{"message": "Hi", "personaId": "fitness", "modelId": "gpt-4o"}"#
        for _ in 0..<2 { #expect(try await client.chat(tryPremium, token: token).status == .ok) }
        let exhausted = try await client.chat(tryPremium, token: token)
        #expect(exhausted.problem?["code"] == .string("trial_exhausted"))
        let checkout = try await client.call(.post, "/api/models/gpt-4o/checkout", token: token)
        let session = try #require(checkout.json["sessionId"]?.stringValue)
        let paid = StripeEvents.session("checkout.session.completed", id: "evt_\(session)", session: session, user: user, model: "gpt-4o")
        #expect(try await client.deliver(paid, signature: app.sign(paid)).json["outcome"] == .string("granted"))
        try await app.sql("UPDATE ai_models SET rate_limit_messages_per_day = 1 WHERE id = 'gpt-4o-mini'")
        #expect(try await client.chat(#"{"message": "Hi", "personaId": "career"}"#, token: token).status == .ok)
        let limited = try await client.chat(#"{"message": "Hi", "personaId": "career"}"#, token: token)
        let resetAt = try #require(limited.problem?["resetAt"])

        let trial: [String: JSONValue] = ["modelId": "gpt-4o", "personaId": "fitness"]
        // The demo provider counts "Hi" as 1 prompt token and answers in 13. At list prices per million
        // tokens: gpt-4o 1 × $2.50 + 13 × $10 = 132.5 micro-dollars, rounded up to 133; gpt-4o-mini
        // 1 × $0.15 + 13 × $0.60 = 7.95, rounded up to 8.
        let gpt4oCompleted: JSONValue = ["modelId": "gpt-4o", "modelCost": 133, "inputTokens": 1, "outputTokens": 13, "isEstimated": false]
        return [
            ("model_preference_saved", ["defaultModelId": "gpt-4o-mini", "hasOverrides": true]),
            ("model_selected", .object(trial.merging(["isDefault": false, "isOverride": false]) { $1 })),
            ("model_message_sent", .object(trial.merging(["isTrialMessage": true]) { $1 })),
            ("model_trial_started", ["modelId": "gpt-4o", "trialMessagesRemaining": 1]),
            ("model_trial_message_used", ["modelId": "gpt-4o", "trialMessagesRemaining": 1]),
            ("model_message_completed", gpt4oCompleted),
            ("model_selected", .object(trial.merging(["isDefault": false, "isOverride": false]) { $1 })),
            ("model_message_sent", .object(trial.merging(["isTrialMessage": true]) { $1 })),
            ("model_trial_message_used", ["modelId": "gpt-4o", "trialMessagesRemaining": 0]),
            ("model_message_completed", gpt4oCompleted),
            ("model_trial_expired_prompt", ["modelId": "gpt-4o", "priceCents": 299]),
            ("model_purchase_initiated", ["modelId": "gpt-4o", "priceCents": 299]),
            ("model_purchase_completed", ["modelId": "gpt-4o", "priceCents": 299, "source": "stripe"]),
            ("model_selected", ["modelId": "gpt-4o-mini", "personaId": "career", "isDefault": true, "isOverride": false]),
            ("model_message_sent", ["modelId": "gpt-4o-mini", "personaId": "career", "isTrialMessage": false]),
            ("model_message_completed", ["modelId": "gpt-4o-mini", "modelCost": 8, "inputTokens": 1, "outputTokens": 13, "isEstimated": false]),
            ("model_rate_limit_hit", ["modelId": "gpt-4o-mini", "dailyLimit": 1, "resetAt": resetAt]),
        ]
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(Dictionary(uniqueKeysWithValues: elements)) }
}
