import Foundation

/// A Stripe event for a checkout session or a charge, as Stripe sends it.
public enum StripeEvents {
    public static func session(
        _ type: String, id: String, session: String, user: some CustomStringConvertible, model: String, paid: Bool = true, intent: String = "pi_1",
        amount: Int = 299, currency: String = "usd", metadata: [String: String]? = nil
    ) -> String {
        let metadata = metadata ?? ["model_id": model, "user_id": "\(user)"]
        let metadataJSON = String(decoding: (try? JSONSerialization.data(withJSONObject: metadata, options: .sortedKeys)) ?? Data("{}".utf8), as: UTF8.self)
        return """
        {"id":"\(id)","object":"event","api_version":"2026-10-28.endive","created":1732406400,"livemode":false,"pending_webhooks":1,\
        "request":{"id":null,"idempotency_key":null},"type":"\(type)","data":{"object":{"id":"\(session)","object":"checkout.session",\
        "mode":"payment","status":"complete","payment_status":"\(paid ? "paid" : "unpaid")","client_reference_id":"\(user)",\
        "metadata":\(metadataJSON),"amount_total":\(amount),"currency":"\(currency)","payment_intent":"\(intent)","url":null}}}
        """
    }

    public static func refund(id: String, intent: String = "pi_1", full: Bool = true) -> String {
        """
        {"id":"\(id)","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","amount":299,\
        "amount_refunded":\(full ? 299 : 100),"refunded":\(full),"payment_intent":"\(intent)","currency":"usd"}}}
        """
    }

    /// `charge.dispute.created` (status `needs_response`) or `charge.dispute.closed` (`won`, `lost`, `warning_closed`).
    public static func dispute(_ type: String, id: String, intent: String = "pi_1", status: String = "needs_response") -> String {
        """
        {"id":"\(id)","object":"event","type":"\(type)","data":{"object":{"id":"dp_1","object":"dispute","amount":299,\
        "charge":"ch_1","currency":"usd","payment_intent":"\(intent)","reason":"fraudulent","status":"\(status)"}}}
        """
    }
}
