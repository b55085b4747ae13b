import Foundation
import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import ModelgateBilling
import NIOConcurrencyHelpers
import NIOCore

/// A loopback Stripe for the endpoints Modelgate uses: products, prices, checkout sessions, with
/// Stripe's list shape, error envelope and idempotency keys. Checked with the official `stripe` SDK.
public final class FakeStripeServer: Sendable {
    /// JSON objects as Stripe returns them; only ever touched under the lock.
    struct State: @unchecked Sendable {
        var products: [[String: Any]] = []
        var prices: [[String: Any]] = []
        var sessions: [[String: Any]] = []
        /// The form each checkout session was created from: its line items and subscription data,
        /// which Stripe keeps but does not show on the session.
        var sessionForms: [String: [String: String]] = [:]
        var subscriptions: [[String: Any]] = []
        var meterEvents: [[String: Any]] = []
        /// Stripe's API unreachable for subscription fetches (a 503), as in an outage.
        var subscriptionFetchesFail = false
        /// The next meter events Stripe takes but whose answer is lost (a 500 reaches the caller).
        var lostMeterAnswers = 0
        /// The hosted page's time: a subscription paid there starts its period at this instant.
        var now = Date(timeIntervalSince1970: 1_795_000_000)
        var idempotent: [String: Data] = [:]
        var requests: [(method: String, path: String, form: [String: String], body: String)] = []
        var counter = 0
        /// Where the hosted checkout page delivers `checkout.session.completed`, signed with `secret`.
        var webhook: (url: String, secret: WebhookSecret)?

        mutating func nextID(_ prefix: String) -> String {
            counter += 1
            return "\(prefix)_fake\(counter)"
        }

        /// The session as Stripe shows it once paid: complete, with what the payment made of it.
        mutating func completeSession(_ id: String, _ changes: [String: Any]) -> [String: Any]? {
            guard let index = sessions.firstIndex(where: { $0["id"] as? String == id }) else { return nil }
            sessions[index].merge(changes) { _, new in new }
            sessions[index]["status"] = "complete"
            return sessions[index]
        }
    }

    private let state: NIOLockedValueBox<State>
    private let server: LoopbackServer
    public var baseURL: String { server.baseURL }

    private init(state: NIOLockedValueBox<State>, server: LoopbackServer) {
        self.state = state
        self.server = server
    }

    public static func start() async throws -> FakeStripeServer {
        let state = NIOLockedValueBox(State())
        let router = Router()
        StripeRoutes(state: state).register(on: router)
        return FakeStripeServer(state: state, server: try await LoopbackServer.start(router))
    }

    public func stop() async { await server.stop() }

    func withState<Value>(_ body: (inout State) -> Value) -> Value { state.withLockedValue(body) }
    var lockedState: NIOLockedValueBox<State> { state }

    /// Makes the hosted checkout page (the session's `url`) behave like Stripe's: paying there
    /// delivers a signed `checkout.session.completed` to `url`, then returns to the success url.
    public func deliverWebhooks(to url: String, secret: WebhookSecret) {
        state.withLockedValue { $0.webhook = (url, secret) }
    }

    /// `METHOD path` of every request that created or changed something.
    public var writes: [String] { state.withLockedValue { $0.requests.filter { $0.method == "POST" }.map { "POST \($0.path)" } } }
    public var activePriceCount: Int { state.withLockedValue { $0.prices.filter { $0["active"] as? Bool == true }.count } }
    public var productCount: Int { state.withLockedValue { $0.products.count } }
    public func lastForm(path: String) -> [String: String]? { state.withLockedValue { $0.requests.last { $0.path == path }?.form } }
    /// The raw body of the last POST to `path`, as the client encoded it.
    public func lastBody(path: String) -> String? { state.withLockedValue { $0.requests.last { $0.path == path }?.body } }
}

struct StripeRoutes: Sendable {
    let state: NIOLockedValueBox<FakeStripeServer.State>

    func register(on router: Router<BasicRequestContext>) {
        router.get("v1/products") { request, _ in list(request, \.products, filter: ["active"]) }
        router.get("v1/prices") { request, _ in list(request, \.prices, filter: ["active", "product"]) }
        router.post("v1/products") { request, _ in try await create(request, "prod") { id, form in
            ["id": id, "object": "product", "active": true, "name": form["name"] ?? "", "metadata": metadata(form)]
        } }
        router.post("v1/prices") { request, _ in try await create(request, "price") { id, form in
            let recurring: Any = form["recurring[interval]"].map { interval in
                ["interval": interval, "interval_count": Int(form["recurring[interval_count]"] ?? "") ?? 1,
                 "usage_type": form["recurring[usage_type]"] ?? "licensed", "meter": form["recurring[meter]"] ?? NSNull(),
                 "trial_period_days": NSNull()] as [String: Any]
            } ?? NSNull()
            return ["id": id, "object": "price", "active": true, "currency": form["currency"] ?? "usd", "product": form["product"] ?? "",
                    "type": recurring is NSNull ? "one_time" : "recurring", "recurring": recurring,
                    "unit_amount": Int(form["unit_amount"] ?? "") ?? 0, "metadata": metadata(form)]
        } }
        router.post("v1/checkout/sessions") { request, _ in
            let host = request.head.authority ?? "127.0.0.1"
            return try await create(request, "cs_test") { id, form in
                var session: [String: Any] = [
                    "id": id, "object": "checkout.session", "mode": form["mode"] ?? "payment", "url": "http://\(host)/pay/\(id)",
                    "status": "open", "payment_status": "unpaid", "amount_total": 0, "currency": "usd", "payment_intent": NSNull(),
                    "subscription": NSNull(), "invoice": NSNull(),
                ]
                session["client_reference_id"] = form["client_reference_id"] ?? NSNull()
                session["metadata"] = metadata(form)
                session["success_url"] = form["success_url"] ?? ""
                session["cancel_url"] = form["cancel_url"] ?? ""
                session["customer"] = form["customer"] ?? NSNull()
                return session
            }
        }
        router.get("v1/checkout/sessions/:id") { request, context in
            let id = try context.parameters.require("id")
            state.withLockedValue { $0.requests.append(("GET", request.uri.path, [:], "")) }
            guard let session = try? session(id) else { return missing("checkout session", id) }
            return json(session)
        }
        router.get("pay/:id") { _, context in try hostedCheckout(try context.parameters.require("id")) }
        router.post("pay/:id") { _, context in try await pay(try context.parameters.require("id")) }
        router.post("v1/prices/:id") { request, context in try await update(request, try context.parameters.require("id"), \.prices) }
        router.post("v1/products/:id") { request, context in try await update(request, try context.parameters.require("id"), \.products) }
        registerSubscriptions(on: router)
        registerMeters(on: router)
    }

    func price(_ id: String) -> [String: Any]? {
        state.withLockedValue { $0.prices.first { $0["id"] as? String == id } }
    }

    /// The form a checkout session was created from.
    func form(ofSession id: String) -> [String: String] {
        state.withLockedValue { $0.sessionForms[id] ?? [:] }
    }

    func session(_ id: String) throws -> [String: Any] {
        guard let session = state.withLockedValue({ $0.sessions.first { $0["id"] as? String == id } }) else {
            throw HTTPError(.notFound, message: "No such checkout session")
        }
        return session
    }

    private func hostedCheckout(_ id: String) throws -> Response {
        let session = try session(id)
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fake Stripe Checkout</title></head><body>
            <h1>Fake Stripe Checkout</h1><p>Session \(id) for \((session["metadata"] as? [String: String])?["model_id"] ?? "")</p>
            <form method="post" action="/pay/\(id)"><button type="submit" id="pay">Pay</button></form>
            <p><a id="cancel" href="\(session["cancel_url"] as? String ?? "/")">Cancel</a></p></body></html>
            """
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    private func pay(_ id: String) async throws -> Response {
        let session = try session(id)
        let metadata = session["metadata"] as? [String: String] ?? [:]
        if session["mode"] as? String == "subscription" {
            for event in startSubscription(session: session) { try await deliver(event) }
        } else {
            let amount = price(form(ofSession: id)["line_items[0][price]"] ?? "")?["unit_amount"] as? Int ?? 0
            _ = state.withLockedValue { $0.completeSession(id, ["payment_status": "paid", "payment_intent": "pi_\(id)", "amount_total": amount]) }
            try await deliver(StripeEvents.session(
                "checkout.session.completed", id: "evt_\(id)", session: id, user: metadata["user_id"] ?? "", model: metadata["model_id"] ?? "",
                intent: "pi_\(id)", amount: amount, metadata: metadata))
        }
        let success = (session["success_url"] as? String ?? "/").replacingOccurrences(of: "{CHECKOUT_SESSION_ID}", with: id)
        return Response.redirect(to: success, type: .normal)
    }

    /// Sends one signed event to the webhook, when one is set.
    func deliver(_ event: String) async throws {
        guard let webhook = state.withLockedValue({ $0.webhook }) else { return }
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Stripe-Signature", value: WebhookSignature.header(
            payload: Data(event.utf8), secret: webhook.secret, timestamp: Int(Date().timeIntervalSince1970)))
        request.body = .bytes(ByteBuffer(string: event))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        guard response.status == .ok else { throw HTTPError(.badGateway, message: "webhook answered \(response.status.code)") }
    }

    func metadata(_ form: [String: String], prefix: String = "metadata[") -> [String: String] {
        Dictionary(uniqueKeysWithValues: form.compactMap { key, value in
            key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count).dropLast()), value) : nil
        })
    }

    private func list(_ request: Request, _ collection: KeyPath<FakeStripeServer.State, [[String: Any]]>, filter: [String]) -> Response {
        let query = request.uri.queryParameters
        let limit = query["limit"].flatMap { Int(String($0)) } ?? 10
        let page: ([[String: Any]], Bool) = state.withLockedValue { state in
            state.requests.append(("GET", request.uri.path, [:], ""))
            var items = state[keyPath: collection].filter { item in
                filter.allSatisfy { key in query[Substring(key)].map { String($0) == "\(item[key].map { "\($0)" } ?? "")" } ?? true }
            }
            if let after = query["starting_after"], let index = items.firstIndex(where: { $0["id"] as? String == String(after) }) {
                items = Array(items[(index + 1)...])
            }
            return (Array(items.prefix(limit)), items.count > limit)
        }
        return json(["object": "list", "data": page.0, "has_more": page.1, "url": request.uri.path])
    }

    func create(_ request: Request, _ prefix: String, _ make: @Sendable (String, [String: String]) -> [String: Any]) async throws -> Response {
        guard request.headers[.authorization]?.hasPrefix("Bearer sk_") == true else {
            return json(["error": ["type": "invalid_request_error", "message": "Invalid API Key provided"]], status: .unauthorized)
        }
        let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
        let form = Self.flatForm(body)
        let key = request.headers[HTTPField.Name("Idempotency-Key")!]
        let data: Data = state.withLockedValue { state in
            state.requests.append(("POST", request.uri.path, form, body))
            if let key, let earlier = state.idempotent[key] { return earlier }
            let id = state.nextID(prefix)
            let object = make(id, form)
            switch prefix {
            case "prod": state.products.append(object)
            case "price": state.prices.append(object)
            case "cs_test":
                state.sessions.append(object)
                state.sessionForms[id] = form
            default: state.sessions.append(object)
            }
            let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
            if let key { state.idempotent[key] = data }
            return data
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func update(_ request: Request, _ id: String, _ collection: WritableKeyPath<FakeStripeServer.State, [[String: Any]]>) async throws -> Response {
        let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
        let form = Self.flatForm(body)
        let updated: [String: Any]? = state.withLockedValue { state in
            state.requests.append(("POST", request.uri.path, form, body))
            guard let index = state[keyPath: collection].firstIndex(where: { $0["id"] as? String == id }) else { return nil }
            if let active = form["active"] { state[keyPath: collection][index]["active"] = active == "true" }
            return state[keyPath: collection][index]
        }
        guard let updated else { return missing("object", id) }
        return json(updated)
    }

    /// Stripe's 404: `resource_missing`, naming the id.
    func missing(_ kind: String, _ id: String) -> Response {
        json(["error": ["type": "invalid_request_error", "code": "resource_missing", "message": "No such \(kind): '\(id)'", "param": "id"]],
             status: .notFound)
    }

    /// Stripe's form bodies read as Stripe does: flat `a[b][0]` names, percent- or `+`-encoded
    /// (our client and the Python SDK both post here).
    static func flatForm(_ body: String) -> [String: String] {
        func decoded(_ part: Substring?) -> String {
            String(part ?? "").replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
        }
        var form: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            form[decoded(parts.first)] = decoded(parts.dropFirst().first)
        }
        return form
    }

    func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

