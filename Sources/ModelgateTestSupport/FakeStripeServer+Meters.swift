import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Billing Meter events as Stripe takes them: one per `identifier` (a second is refused), the
/// first answer replayed for a repeated idempotency key.
extension FakeStripeServer {
    /// Every meter event Stripe holds, in the order it took them.
    public var meterEvents: [(identifier: String, eventName: String, customer: String, value: String)] {
        withState { state in
            state.meterEvents.map { event in
                let payload = event["payload"] as? [String: String] ?? [:]
                return (event["identifier"] as? String ?? "", event["event_name"] as? String ?? "", payload["stripe_customer_id"] ?? "",
                        payload["value"] ?? "")
            }
        }
    }

    /// The next `count` meter events are taken but their answers lost, as when a connection dies.
    public func loseMeterAnswers(_ count: Int) { withState { $0.lostMeterAnswers = count } }

    /// Forgets idempotency keys, as Stripe does after 24 hours.
    public func forgetIdempotencyKeys() { withState { $0.idempotent = [:] } }
}

extension StripeRoutes {
    func registerMeters(on router: Router<BasicRequestContext>) {
        router.post("v1/billing/meter_events") { request, _ in
            guard request.headers[.authorization]?.hasPrefix("Bearer sk_") == true else {
                return json(["error": ["type": "invalid_request_error", "message": "Invalid API Key provided"]], status: .unauthorized)
            }
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            let form = Self.flatForm(body)
            let key = request.headers[HTTPField.Name("Idempotency-Key")!]
            let (data, status): (Data, HTTPResponse.Status) = state.withLockedValue { state in
                state.requests.append(("POST", request.uri.path, form, body))
                if let key, let earlier = state.idempotent[key] { return (earlier, .ok) }
                let identifier = form["identifier"] ?? ""
                if state.meterEvents.contains(where: { $0["identifier"] as? String == identifier }) {
                    let error = ["error": ["type": "invalid_request_error", "code": "resource_already_exists",
                                           "message": "An event already exists with identifier \(identifier)."]]
                    return ((try? JSONSerialization.data(withJSONObject: error)) ?? Data(), .badRequest)
                }
                let event: [String: Any] = [
                    "object": "billing.meter_event", "event_name": form["event_name"] ?? "", "identifier": identifier,
                    "payload": ["stripe_customer_id": form["payload[stripe_customer_id]"] ?? "", "value": form["payload[value]"] ?? ""],
                    "timestamp": Int(form["timestamp"] ?? "") ?? 0, "created": Int(state.now.timeIntervalSince1970), "livemode": false,
                ]
                state.meterEvents.append(event)
                let data = (try? JSONSerialization.data(withJSONObject: event)) ?? Data()
                if let key { state.idempotent[key] = data }
                guard state.lostMeterAnswers == 0 else {
                    state.lostMeterAnswers -= 1
                    return (Data(#"{"error": {"type": "api_error", "message": "connection lost"}}"#.utf8), .internalServerError)
                }
                return (data, .ok)
            }
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
}
