import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A Stripe secret key (`sk_test_…` / `sk_live_…`); never printed.
public struct StripeSecretKey: Sendable, CustomStringConvertible {
    let value: String
    public init(_ value: String) { self.value = value }
    public var isLive: Bool { value.hasPrefix("sk_live_") || value.hasPrefix("rk_live_") }
    public var description: String { "<redacted>" }
}

/// The signing secret of a webhook endpoint (`whsec_…`); a different type so it can't be sent as an API key.
public struct WebhookSecret: Sendable, CustomStringConvertible {
    let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
}

/// Anything Stripe lists: pages continue after the last item's id.
public protocol StripeObject: Decodable, Sendable {
    var id: String { get }
}

public struct StripeProduct: StripeObject, Equatable {
    public let id: String
    public let active: Bool
    public let name: String
    public let metadata: [String: String]
}

public struct StripePrice: StripeObject, Equatable {
    public let id: String
    public let active: Bool
    public let currency: String
    public let product: String
    public let unit_amount: Int?
    public let recurring: Recurring?

    public struct Recurring: Decodable, Sendable, Equatable {
        public let interval: String
    }
}

public struct StripeCheckoutSession: Decodable, Sendable, Equatable {
    public let id: String
    public let url: String?
}

struct StripeList<Item: Decodable & Sendable>: Decodable, Sendable {
    let data: [Item]
    let has_more: Bool
}

/// Stripe answered with its error envelope, or not at all.
public struct StripeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let type: String
    public let code: String?
    public let message: String
    public var description: String { "Stripe \(status) \(type)\(code.map { " \($0)" } ?? ""): \(message)" }
}

/// The Stripe endpoints Modelgate uses: one request builder, one runner that decodes either the
/// success type or Stripe's error envelope.
public struct StripeClient: Sendable {
    let http: HTTPClient
    let baseURL: String
    let key: StripeSecretKey

    public init(http: HTTPClient, baseURL: String = "https://api.stripe.com", key: StripeSecretKey) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.key = key
    }

    public var isLive: Bool { key.isLive }

    /// Every active product, following pagination.
    public func activeProducts() async throws -> [StripeProduct] {
        try await all("/v1/products", query: [("active", "true")])
    }

    public func activePrices(product: String) async throws -> [StripePrice] {
        try await all("/v1/prices", query: [("product", product), ("active", "true")])
    }

    public func createProduct(name: String, modelID: String, idempotencyKey: String) async throws -> StripeProduct {
        try await createProduct(name: name, metadata: ("model_id", modelID), idempotencyKey: idempotencyKey)
    }

    /// A product found again by its one metadata entry (`model_id`, `plan_id`, `pack_id`).
    func createProduct(name: String, metadata: (key: String, value: String), idempotencyKey: String) async throws -> StripeProduct {
        try await send(.POST, "/v1/products", form: [("name", name), ("metadata[\(metadata.key)]", metadata.value)], idempotencyKey: idempotencyKey)
    }

    public func createPrice(product: String, unitAmount: Int, modelID: String, idempotencyKey: String) async throws -> StripePrice {
        try await createOneTimePrice(product: product, unitAmount: unitAmount, metadata: ("model_id", modelID), idempotencyKey: idempotencyKey)
    }

    func createOneTimePrice(product: String, unitAmount: Int, metadata: (key: String, value: String), idempotencyKey: String) async throws -> StripePrice {
        try await send(.POST, "/v1/prices", form: [
            ("product", product), ("unit_amount", String(unitAmount)), ("currency", "usd"), ("metadata[\(metadata.key)]", metadata.value),
        ], idempotencyKey: idempotencyKey)
    }

    public func deactivatePrice(_ id: String) async throws -> StripePrice {
        try await send(.POST, "/v1/prices/\(id)", form: [("active", "false")])
    }

    public func deactivateProduct(_ id: String) async throws -> StripeProduct {
        try await send(.POST, "/v1/products/\(id)", form: [("active", "false")])
    }

    public func createCheckoutSession(
        price: String, userID: String, modelID: String, successURL: String, cancelURL: String, idempotencyKey: String
    ) async throws -> StripeCheckoutSession {
        try await send(.POST, "/v1/checkout/sessions", form: [
            ("mode", "payment"), ("line_items[0][price]", price), ("line_items[0][quantity]", "1"),
            ("success_url", successURL), ("cancel_url", cancelURL), ("client_reference_id", userID),
            ("metadata[model_id]", modelID), ("metadata[user_id]", userID),
        ], idempotencyKey: idempotencyKey)
    }

    func all<Item: StripeObject>(_ path: String, query: [(String, String)]) async throws -> [Item] {
        var items: [Item] = []
        var after: String?
        repeat {
            var parameters = query + [("limit", "100")]
            if let after { parameters.append(("starting_after", after)) }
            let page: StripeList<Item> = try await send(.GET, path + "?" + StripeFormEncoding.encode(parameters), form: nil)
            items += page.data
            after = page.has_more ? page.data.last?.id : nil
        } while after != nil
        return items
    }

    func send<Value: Decodable>(
        _ method: HTTPMethod, _ path: String, form: [(String, String)]?, idempotencyKey: String? = nil
    ) async throws -> Value {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(key.value)")
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: StripeFormEncoding.encode(form)))
        }
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = Data((try await response.body.collect(upTo: 4 << 20)).readableBytesView)
        guard (200..<300).contains(response.status.code) else { throw Self.error(status: Int(response.status.code), body: body) }
        return try JSONDecoder().decode(Value.self, from: body)
    }

    static func error(status: Int, body: Data) -> StripeError {
        struct Envelope: Decodable {
            struct Inner: Decodable { let type: String?; let code: String?; let message: String? }
            let error: Inner
        }
        let inner = (try? JSONDecoder().decode(Envelope.self, from: body))?.error
        return StripeError(status: status, type: inner?.type ?? "api_error", code: inner?.code, message: inner?.message ?? "no error body")
    }
}

/// `application/x-www-form-urlencoded` as Stripe reads it: flat `a[b]` names, percent-encoded
/// names and values. Stripe's bodies only: page forms are read with Hummingbird's decoder.
enum StripeFormEncoding {
    /// RFC 3986 unreserved ASCII plus the brackets of nested names; everything else, any
    /// non-ASCII letter included, is percent-encoded as UTF-8.
    static let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~[]")

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
