import AsyncHTTPClient
import Foundation

/// What Stripe made of a meter event.
public enum MeterEventReceipt: Sendable, Equatable {
    case accepted
    /// Stripe already has an event with this identifier: the call was counted before.
    case duplicate
}

extension StripeClient {
    /// Reports one call to a Billing Meter. The identifier (the call's id) makes Stripe count it
    /// once; the idempotency key replays the first answer to a resend within Stripe's 24 hours.
    func reportMeterEvent(_ event: PendingMeterEvent) async throws -> MeterEventReceipt {
        struct Created: Decodable { let identifier: String }
        do {
            let _: Created = try await send(.POST, "/v1/billing/meter_events", form: [
                ("event_name", event.eventName), ("identifier", event.id), ("timestamp", String(Int(event.occurredAt.timeIntervalSince1970))),
                ("payload[stripe_customer_id]", event.customer), ("payload[value]", String(event.value)),
            ], idempotencyKey: "meter-" + event.id)
            return .accepted
        } catch let error as StripeError where error.status == 400 && Self.isDuplicate(error) {
            return .duplicate
        }
    }

    /// Stripe's refusal of an identifier it has seen (past the idempotency key's 24 hours).
    static func isDuplicate(_ error: StripeError) -> Bool {
        error.code == "resource_already_exists" || error.message.localizedCaseInsensitiveContains("already exists")
    }
}
