import Crypto
import Foundation

/// Stripe's webhook signature: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, where each `v1` is
/// HMAC-SHA256 of `"<t>.<raw body>"` keyed with the whole `whsec_…` secret.
public enum WebhookSignature {
    public enum Failure: Error, Equatable {
        case missingHeader, malformedHeader, noMatch, tooOld
    }

    public static let tolerance: TimeInterval = 300

    /// Checks in Stripe's order: header, signature, then age. A timestamp in the future passes, as in Stripe's SDKs.
    public static func verify(payload: Data, header: String?, secret: WebhookSecret, now: Date) throws(Failure) {
        guard let header, !header.isEmpty, !secret.value.isEmpty else { throw .missingHeader }
        var timestamp: Int?
        var candidates: [String] = []
        // Split on bytes, not characters: a combining mark next to a comma must not hide the comma.
        for item in header.utf8.split(separator: UInt8(ascii: ",")) {
            guard let equals = item.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let value = String(decoding: item[item.index(after: equals)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            switch String(decoding: item[..<equals], as: UTF8.self).trimmingCharacters(in: .whitespaces) {
            case "t": timestamp = Int(value)
            case "v1": candidates.append(value)
            default: break
            }
        }
        guard let timestamp else { throw .malformedHeader }
        let expected = Array(signature(payload: payload, timestamp: timestamp, secret: secret).utf8)
        guard candidates.contains(where: { constantTimeEquals(Array($0.utf8), expected) }) else { throw .noMatch }
        guard Double(timestamp) >= now.timeIntervalSince1970 - tolerance else { throw .tooOld }
    }

    /// The header a Stripe endpoint would send; used by tests and by `modelgate` tooling.
    public static func header(payload: Data, secret: WebhookSecret, timestamp: Int) -> String {
        "t=\(timestamp),v1=\(signature(payload: payload, timestamp: timestamp, secret: secret))"
    }

    static func signature(payload: Data, timestamp: Int, secret: WebhookSecret) -> String {
        var signed = Data("\(timestamp).".utf8)
        signed.append(payload)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.value.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    private static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
