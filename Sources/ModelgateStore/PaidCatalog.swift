import Foundation
import ModelgateCore
import SQLKit

/// What is sold besides one-time unlocks: each model's price in credits and the subscription plans.
/// They are part of the catalog snapshot every instance keeps in memory.
public enum PaidCatalog {
    static func creditPrices(in db: any SQLDatabase) async throws -> [ModelID: CreditPrice] {
        var prices: [ModelID: CreditPrice] = [:]
        for row in try await db.raw("SELECT model_id, per_message, per_million_input, per_million_output FROM model_credit_prices").all() {
            let model = ModelID(try row.decode(column: "model_id", as: String.self))
            if let perMessage = try row.decode(column: "per_message", as: Int?.self) {
                prices[model] = .perMessage(perMessage)
            } else {
                prices[model] = .perMillionTokens(input: try row.decode(column: "per_million_input", as: Int?.self) ?? 0,
                                                  output: try row.decode(column: "per_million_output", as: Int?.self) ?? 0)
            }
        }
        return prices
    }

    /// Sets (or, with `nil`, removes) a model's credit price.
    public static func setCreditPrice(_ price: CreditPrice?, of model: ModelID, at now: Date, in db: any SQLDatabase) async throws {
        guard let price else {
            try await db.raw("DELETE FROM model_credit_prices WHERE model_id = \(bind: model.rawValue)").run()
            return
        }
        let (perMessage, input, output): (Int?, Int?, Int?) = switch price {
        case .perMessage(let credits): (credits, nil, nil)
        case .perMillionTokens(let input, let output): (nil, input, output)
        }
        try await db.raw("""
            INSERT INTO model_credit_prices (model_id, per_message, per_million_input, per_million_output, updated_at)
            VALUES (\(bind: model.rawValue), \(bind: perMessage), \(bind: input), \(bind: output), \(bind: now))
            ON CONFLICT (model_id) DO UPDATE SET per_message = excluded.per_message, per_million_input = excluded.per_million_input,
                per_million_output = excluded.per_million_output, updated_at = excluded.updated_at
            """).run()
    }

    static let planColumns = """
        id, name, billing_interval, price_cents, unlocks_all_premium, model_ids, messages_per_day, messages_per_period, trial_days, active,
        meter, stripe_product_id, stripe_price_id
        """

    static func plans(in db: any SQLDatabase) async throws -> [Plan] {
        try await db.raw("SELECT \(unsafeRaw: planColumns) FROM plans ORDER BY price_cents, id").all().map(decodePlan)
    }

    static func decodePlan(_ row: any SQLRow) throws -> Plan {
        Plan(id: PlanID(try row.decode(column: "id", as: String.self)), name: try row.decode(column: "name", as: String.self),
             interval: try row.decodeEnum(column: "billing_interval", as: BillingInterval.self),
             priceCents: try row.decode(column: "price_cents", as: Int.self),
             unlocksAllPremium: try row.decode(column: "unlocks_all_premium", as: Bool.self),
             models: try row.decodeJSON(column: "model_ids", as: [ModelID].self),
             messagesPerDay: try row.decode(column: "messages_per_day", as: Int?.self),
             messagesPerPeriod: try row.decode(column: "messages_per_period", as: Int?.self),
             trialDays: try row.decode(column: "trial_days", as: Int?.self), active: try row.decode(column: "active", as: Bool.self),
             meter: try row.decodeJSONIfPresent(column: "meter", as: PlanMeter.self),
             stripeProductID: try row.decode(column: "stripe_product_id", as: String?.self),
             stripePriceID: try row.decode(column: "stripe_price_id", as: String?.self))
    }

    /// Creates or replaces a plan's terms (its Stripe ids stay: `stripe sync` owns them).
    public static func save(_ plan: Plan, at now: Date, in db: any SQLDatabase) async throws {
        let models = try JSONColumn.text(plan.models)
        let meter = try plan.meter.map(JSONColumn.text)
        try await db.raw("""
            INSERT INTO plans (id, name, billing_interval, price_cents, unlocks_all_premium, model_ids, messages_per_day, messages_per_period,
                               trial_days, active, meter, created_at, updated_at)
            VALUES (\(bind: plan.id.rawValue), \(bind: plan.name), \(bind: plan.interval.rawValue), \(bind: plan.priceCents),
                    \(bind: plan.unlocksAllPremium), \(bind: models), \(bind: plan.messagesPerDay), \(bind: plan.messagesPerPeriod),
                    \(bind: plan.trialDays), \(bind: plan.active), \(bind: meter), \(bind: now), \(bind: now))
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, billing_interval = excluded.billing_interval, price_cents = excluded.price_cents,
                unlocks_all_premium = excluded.unlocks_all_premium, model_ids = excluded.model_ids, messages_per_day = excluded.messages_per_day,
                messages_per_period = excluded.messages_per_period, trial_days = excluded.trial_days, active = excluded.active,
                meter = excluded.meter, updated_at = excluded.updated_at
            """).run()
    }
}
