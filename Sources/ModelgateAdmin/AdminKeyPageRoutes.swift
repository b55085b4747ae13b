import Foundation
import Hummingbird
import ModelgateAccess
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// `/admin/keys`: list, create and revoke API keys in the console. A new key's secret is rendered
/// in the answer to the create form, once, and never put in a URL (no redirect carries it).
public struct AdminKeyPageRoutes: Sendable {
    let renderer: PageRenderer
    let session: PageSession
    let apiKeys: ApiKeyAuthority
    let admin: AdminService

    public init(renderer: PageRenderer, session: PageSession, apiKeys: ApiKeyAuthority, admin: AdminService) {
        self.renderer = renderer
        self.session = session
        self.apiKeys = apiKeys
        self.admin = admin
    }

    public func register(on group: RouterGroup<AppRequestContext>) {
        group.get("keys", use: keysPage)
        group.post("keys", use: create)
        group.post("keys/:id/revoke", use: revoke)
    }

    @Sendable func keysPage(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        try await page(context, notice: AdminKeyNotice.from(Query(request)))
    }

    @Sendable private func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(ApiKeyForm.self, request, context)
        do {
            let created = try await apiKeys.create(try form.request, users: admin.profiles, by: try context.actor())
            let notice = SettingsNotice(kind: "success", text: "\(created.apiKey.name) was created.", status: .created)
            return try await page(context, notice: notice, created: created.key)
        } catch {
            return try await page(context, notice: .refused(error, catalog: admin.snapshot))
        }
    }

    @Sendable private func revoke(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        _ = try await session.verifiedForm(EmptyForm.self, request, context)
        _ = try await apiKeys.revokeKey(try context.parameters.require("id"), by: try context.actor())
        return Response.redirect(to: "/admin/keys?notice=revoked", type: .normal)
    }

    private func page(_ context: AppRequestContext, notice: SettingsNotice?, created: String? = nil) async throws -> Response {
        let keys = try await apiKeys.listKeys()
        let now = admin.now
        let view = AdminPage.Keys(
            chrome: try AdminPage.Chrome(context, session: session, title: "API keys", notice: notice),
            rows: keys.map { AdminPage.KeyRow($0, now: now) }, empty: keys.isEmpty, total: keys.count,
            created: created.map(AdminPage.CreatedKey.init))
        return renderer.render("admin-keys", view, status: notice?.status ?? .ok)
    }
}

/// The notice after the keys page redirected back: a fixed flag, never text from the URL.
enum AdminKeyNotice {
    static func from(_ query: Query) -> SettingsNotice? {
        query.string("notice") == "revoked" ? SettingsNotice(kind: "success", text: "The key is revoked: every instance refuses it now.") : nil
    }
}

/// The create form of the keys page: text fields, blank meaning "not set".
struct ApiKeyForm: Decodable {
    let name: String?
    let kind: String?
    let app: String?
    let user: String?
    let rpm: String?
    let rpmPerEndUser: String?
    let maxStreams: String?
    let maxStreamsPerEndUser: String?
    let taskModel: String?
    let taskDailyBudget: String?
    let expiresAt: String?
    let forwardedUserHeaders: String?
    let environment: String?

    var request: ApiKeyRequest {
        get throws(ModelgateError) {
            guard let kind = ApiKeyKind(rawValue: kind ?? "") else { throw ModelgateError.invalidField(field: "kind", reason: "must be user or service") }
            let limits = ApiKeyLimits(
                rpm: try Self.count(rpm, "rpm"), rpmPerEndUser: try Self.count(rpmPerEndUser, "rpmPerEndUser"),
                maxStreams: try Self.count(maxStreams, "maxStreams"), maxStreamsPerEndUser: try Self.count(maxStreamsPerEndUser, "maxStreamsPerEndUser"),
                taskModel: Self.text(taskModel).map(ModelID.init(rawValue:)), taskDailyBudget: try Self.count(taskDailyBudget, "taskDailyBudget"))
            return ApiKeyRequest(name: name ?? "", kind: kind, app: Self.text(app), user: Self.text(user), limits: limits,
                                 expiresAt: Self.text(expiresAt), forwardedUserHeaders: forwardedUserHeaders == "true",
                                 environment: Self.text(environment))
        }
    }

    private static func text(_ value: String?) -> String? {
        value.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    private static func count(_ value: String?, _ field: String) throws(ModelgateError) -> Int? {
        guard let value = text(value) else { return nil }
        guard let number = Int(value) else { throw ModelgateError.invalidField(field: field, reason: "must be a whole number") }
        return number
    }
}
