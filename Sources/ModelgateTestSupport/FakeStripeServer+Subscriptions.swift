import Foundation
import Hummingbird
import NIOCore

/// Subscriptions, invoices and the customer portal, in the API version Modelgate's client reads
/// (`2025-03-31.basil` and later: the period on each item, the invoice's subscription under
/// `parent.subscription_details`). A test moves a subscription (`update`) and delivers the events
/// it chooses, in any order, as Stripe would.
extension FakeStripeServer {
    public struct SubscriptionChange: Sendable {
        public var status: String?
        public var periodStart: Date?
        public var periodEnd: Date?
        public var cancelAtPeriodEnd: Bool?
        public var price: String?

        public init(status: String? = nil, periodStart: Date? = nil, periodEnd: Date? = nil, cancelAtPeriodEnd: Bool? = nil, price: String? = nil) {
            self.status = status
            self.periodStart = periodStart
            self.periodEnd = periodEnd
            self.cancelAtPeriodEnd = cancelAtPeriodEnd
            self.price = price
        }
    }

    /// The time the hosted checkout starts a subscription's period at (a test's clock).
    public func setNow(_ now: Date) { withState { $0.now = now } }

    /// Makes `GET /v1/subscriptions/{id}` answer 503 (or work again).
    public func failSubscriptionFetches(_ fail: Bool) { withState { $0.subscriptionFetchesFail = fail } }

    public var subscriptionIDs: [String] { withState { $0.subscriptions.compactMap { $0["id"] as? String } } }

    /// Changes a subscription as Stripe would (a renewal, a failed payment, a cancellation, a plan change).
    public func update(_ id: String, _ change: SubscriptionChange) {
        withState { state in
            guard let index = state.subscriptions.firstIndex(where: { $0["id"] as? String == id }) else { return }
            var subscription = state.subscriptions[index]
            if let status = change.status {
                subscription["status"] = status
                // A canceled subscription has ended, now.
                if status == "canceled" {
                    subscription["canceled_at"] = Int(state.now.timeIntervalSince1970)
                    subscription["ended_at"] = Int(state.now.timeIntervalSince1970)
                }
            }
            if let cancel = change.cancelAtPeriodEnd { subscription["cancel_at_period_end"] = cancel }
            if var items = subscription["items"] as? [String: Any], let data = items["data"] as? [[String: Any]], var item = data.first {
                if let start = change.periodStart { item["current_period_start"] = Int(start.timeIntervalSince1970) }
                if let end = change.periodEnd { item["current_period_end"] = Int(end.timeIntervalSince1970) }
                if let price = change.price, let object = state.prices.first(where: { $0["id"] as? String == price }) { item["price"] = object }
                items["data"] = [item] + data.dropFirst()
                subscription["items"] = items
            }
            state.subscriptions[index] = subscription
        }
    }

    /// An event about the subscription as it is now (`customer.subscription.*`).
    public func subscriptionEvent(_ type: String, _ id: String, eventID: String, created: Int) -> String {
        let object = withState { $0.subscriptions.first { $0["id"] as? String == id } } ?? [:]
        return Self.event(type, id: eventID, created: created, object: object)
    }

    /// An invoice event of the subscription's current period (`invoice.paid`, `invoice.payment_failed`).
    public func invoiceEvent(_ type: String, _ id: String, invoice: String, amount: Int, created: Int) -> String {
        let subscription = withState { $0.subscriptions.first { $0["id"] as? String == id } } ?? [:]
        let item = ((subscription["items"] as? [String: Any])?["data"] as? [[String: Any]])?.first ?? [:]
        let paid = type == "invoice.paid"
        let object: [String: Any] = [
            "id": invoice, "object": "invoice", "customer": subscription["customer"] ?? "", "status": paid ? "paid" : "open",
            "billing_reason": "subscription_cycle", "amount_due": amount, "amount_paid": paid ? amount : 0, "currency": "usd",
            "attempt_count": paid ? 0 : 1, "hosted_invoice_url": "https://invoice.stripe.com/i/\(invoice)",
            "parent": ["type": "subscription_details", "subscription_details": ["subscription": id, "metadata": subscription["metadata"] ?? [:]]],
            "lines": ["object": "list", "has_more": false, "url": "/v1/invoices/\(invoice)/lines", "data": [[
                "id": "il_\(invoice)", "object": "line_item", "amount": amount,
                "period": ["start": item["current_period_start"] ?? 0, "end": item["current_period_end"] ?? 0],
                "pricing": ["type": "price_details", "price_details": ["price": (item["price"] as? [String: Any])?["id"] ?? ""]],
            ]]],
        ]
        return Self.event(type, id: "evt_\(invoice)_\(type)", created: created, object: object)
    }

    /// Pays a subscription checkout as the hosted page would, returning the events Stripe would send
    /// (for a test to deliver in the order it chooses).
    public func completeCheckout(_ sessionID: String) -> [String] {
        guard let session = withState({ $0.sessions.first { $0["id"] as? String == sessionID } }) else { return [] }
        return StripeRoutes(state: lockedState).startSubscription(session: session)
    }

    /// Sends one event, signed, to the webhook the test set.
    public func send(_ event: String) async throws { try await StripeRoutes(state: lockedState).deliver(event) }

    static func event(_ type: String, id: String, created: Int, object: [String: Any]) -> String {
        let event: [String: Any] = [
            "id": id, "object": "event", "api_version": "2025-03-31.basil", "created": created, "livemode": false, "pending_webhooks": 1,
            "type": type, "data": ["object": object],
        ]
        return String(decoding: (try? JSONSerialization.data(withJSONObject: event, options: .sortedKeys)) ?? Data(), as: UTF8.self)
    }
}

extension StripeRoutes {
    func registerSubscriptions(on router: Router<BasicRequestContext>) {
        router.get("v1/subscriptions/:id") { request, context in
            let id = try context.parameters.require("id")
            if state.withLockedValue({ $0.subscriptionFetchesFail }) {
                return json(["error": ["type": "api_error", "message": "Stripe is unavailable"]], status: .serviceUnavailable)
            }
            guard let subscription = state.withLockedValue({ state -> [String: Any]? in
                state.requests.append(("GET", request.uri.path, [:], ""))
                return state.subscriptions.first { $0["id"] as? String == id }
            }) else { return missing("subscription", id) }
            return json(subscription)
        }
        router.post("v1/billing_portal/sessions") { request, _ in
            let host = request.head.authority ?? "127.0.0.1"
            return try await create(request, "bps") { id, form in
                ["id": id, "object": "billing_portal.session", "customer": form["customer"] ?? "", "return_url": form["return_url"] ?? "",
                 "url": "http://\(host)/portal/\(id)"]
            }
        }
        // The hosted portal: a page that names the customer and links back, as a browser test needs.
        router.get("portal/:id") { _, context in
            let portal = try session(try context.parameters.require("id"))
            let html = """
                <!doctype html><html><body><h1 id="portal">Billing portal for \(portal["customer"] as? String ?? "")</h1>
                <p><a id="return" href="\(portal["return_url"] as? String ?? "/")">Return</a></p></body></html>
                """
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
        }
    }

    /// Paying a subscription checkout: the customer, the subscription (trialing with a trial) with an
    /// item per line item, and the events Stripe sends for it, in Stripe's usual order.
    func startSubscription(session: [String: Any]) -> [String] {
        let sessionID = session["id"] as? String ?? ""
        let form = form(ofSession: sessionID)
        let events: [String] = state.withLockedValue { state in
            let lines = (0..<form.count).compactMap { index in form["line_items[\(index)][price]"].map { (index: index, price: $0) } }
            // A price the test named without creating it here (an admin's metered price) is known by its id only.
            let prices = lines.map { line in state.prices.first { $0["id"] as? String == line.price } ?? ["id": line.price, "object": "price"] }
            let customer = session["customer"] as? String ?? state.nextID("cus")
            let id = state.nextID("sub")
            let start = Int(state.now.timeIntervalSince1970)
            let interval = (prices.first?["recurring"] as? [String: Any])?["interval"] as? String ?? "month"
            let trialDays = Int(form["subscription_data[trial_period_days]"] ?? "") ?? 0
            let periodEnd = start + (trialDays > 0 ? trialDays : interval == "year" ? 365 : 30) * 86_400
            let items: [[String: Any]] = zip(lines, prices).map { line, price in
                var item: [String: Any] = [
                    "id": "si_\(id)_\(line.index)", "object": "subscription_item", "subscription": id, "price": price,
                    "current_period_start": start, "current_period_end": periodEnd,
                ]
                // A metered price has no quantity: its meter's events make up the usage.
                item["quantity"] = form["line_items[\(line.index)][quantity]"].flatMap { Int($0) }
                return item
            }
            let subscription: [String: Any] = [
                "id": id, "object": "subscription", "customer": customer, "status": trialDays > 0 ? "trialing" : "active",
                "cancel_at_period_end": false, "cancel_at": NSNull(), "canceled_at": NSNull(), "ended_at": NSNull(),
                "latest_invoice": "in_\(id)_1", "metadata": metadata(form, prefix: "subscription_data[metadata]["),
                "items": ["object": "list", "data": items, "has_more": false, "url": "/v1/subscription_items?subscription=\(id)"],
            ]
            state.subscriptions.append(subscription)
            let completed = state.completeSession(sessionID, [
                "payment_status": trialDays > 0 ? "no_payment_required" : "paid", "subscription": id, "customer": customer, "invoice": "in_\(id)_1",
            ]) ?? session
            return [FakeStripeServer.event("checkout.session.completed", id: "evt_\(sessionID)", created: start, object: completed),
                    FakeStripeServer.event("customer.subscription.created", id: "evt_\(id)_created", created: start, object: subscription)]
        }
        return events
    }
}
