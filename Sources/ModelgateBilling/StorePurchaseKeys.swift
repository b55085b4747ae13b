import Foundation
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateStore
import SQLKit

/// Which service keys an app's backend may report its app-store purchases with: an admin allows a
/// key, and the key's calls then record purchases for the end user they name, as the admin API would.
extension PaidAdministration {
    public func allowStorePurchases(key: String, _ allowed: Bool, by actor: Actor) async throws {
        let now = clock.now()
        try await database.transaction { db in
            guard let row = try await db.raw("SELECT kind FROM api_keys WHERE id = \(bind: key) AND revoked_at IS NULL").first() else {
                throw ModelgateError.notFound(what: "api key", id: key)
            }
            guard try row.decode(column: "kind", as: String.self) == ApiKeyKind.service.rawValue else {
                throw ModelgateError.validationFailed([FieldError("allowed", "only a service key reports store purchases: its calls name the end user")])
            }
            let before = try await Self.allowsStorePurchases(key: key, in: db)
            if allowed {
                try await db.raw("INSERT INTO store_purchase_keys (key_id, granted_at) VALUES (\(bind: key), \(bind: now)) ON CONFLICT (key_id) DO NOTHING").run()
            } else {
                try await db.raw("DELETE FROM store_purchase_keys WHERE key_id = \(bind: key)").run()
            }
            try await AuditLog.record(actor: actor.id, action: .storePurchaseKeyChanged, targetType: "api_key", targetID: key,
                                      before: .object(["storePurchases": .bool(before)]), after: .object(["storePurchases": .bool(allowed)]),
                                      at: now, in: db)
        }
    }

    static func allowsStorePurchases(key: String, in db: any SQLDatabase) async throws -> Bool {
        try await db.raw("SELECT key_id FROM store_purchase_keys WHERE key_id = \(bind: key)").first() != nil
    }

    /// A store purchase an allowed service key reports for the end user it names.
    func record(_ purchase: StorePurchase, reportedWith key: ApiKey, for user: UserID) async throws -> Bool {
        let allowed = try await database.read { db in try await Self.allowsStorePurchases(key: key.id, in: db) }
        guard key.kind == .service, allowed else {
            throw ModelgateError.forbidden(reason: "this key may not report store purchases; an admin allows it with PUT /api/admin/keys/{id}/store-purchases")
        }
        return try await record(purchase, for: user, by: Actor(command: "key:" + key.id))
    }
}

/// `POST /api/store-purchases` for service keys, and the admin's switch for a key.
struct StorePurchaseKeyRoutes: Sendable {
    struct Allowed: Decodable { let allowed: Bool }
    struct AllowedView: Encodable, Sendable { let keyId: String; let storePurchases: Bool }

    let administration: PaidAdministration
    let maxBodyBytes: Int

    @Sendable func report(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<RecordedView> {
        guard let key = context.apiKey else {
            throw ModelgateError.forbidden(reason: "store purchases are reported with a service key, or by an admin with /api/admin/…/store-purchases")
        }
        let body = try await request.decodeJSON(StorePurchase.self, limit: maxBodyBytes)
        return JSONBody(RecordedView(recorded: try await administration.record(body, reportedWith: key, for: try context.requireIdentity().user)))
    }

    @Sendable func allow(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<AllowedView> {
        let body = try await request.decodeJSON(Allowed.self, limit: maxBodyBytes)
        let key = try context.parameters.require("id")
        try await administration.allowStorePurchases(key: key, body.allowed, by: try context.actor())
        return JSONBody(AllowedView(keyId: key, storePurchases: body.allowed))
    }
}
