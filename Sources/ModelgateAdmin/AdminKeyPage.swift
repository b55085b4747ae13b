import Foundation
import ModelgateAccess
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

extension AdminPage {
    struct Keys: Sendable {
        let chrome: Chrome
        let rows: [KeyRow]
        let empty: Bool
        let total: Int
        let created: CreatedKey?
    }

    /// The whole key, shown in the answer to the create form and nowhere else.
    struct CreatedKey: Sendable {
        let key: String
    }

    /// A key as the table lists it: its prefix, never its secret.
    struct KeyRow: Sendable {
        let id: String
        let name: String
        let prefix: String
        let kind: String
        let app: String
        let limits: String
        let createdAt: String
        let lastUsedAt: String
        let state: String
        let live: Bool

        init(_ key: ApiKey, now: Date) {
            id = key.id
            name = key.name
            prefix = key.prefix
            kind = key.kind.rawValue + (key.acceptsForwardedUserHeaders ? " (forwarded headers)" : "")
            app = key.appName
            limits = Self.describe(key.limits)
            createdAt = ISO8601.string(key.createdAt)
            lastUsedAt = key.lastUsedAt.map(ISO8601.string) ?? "never"
            if let revokedAt = key.revokedAt {
                state = "revoked \(ISO8601.string(revokedAt))"
            } else if let expiresAt = key.expiresAt {
                state = expiresAt <= now ? "expired \(ISO8601.string(expiresAt))" : "live until \(ISO8601.string(expiresAt))"
            } else {
                state = "live"
            }
            live = key.revokedAt == nil && (key.expiresAt ?? .distantFuture) > now
        }

        private static func describe(_ limits: ApiKeyLimits) -> String {
            let parts: [String?] = [
                limits.rpm.map { "\($0)/min" }, limits.rpmPerEndUser.map { "\($0)/min per end user" },
                limits.maxStreams.map { "\($0) open calls" }, limits.maxStreamsPerEndUser.map { "\($0) open calls per end user" },
                limits.taskModel.map { "tasks: \($0.rawValue), \(limits.taskDailyBudget ?? 0)/day" },
            ]
            let text = parts.compactMap { $0 }.joined(separator: ", ")
            return text.isEmpty ? "none" : text
        }
    }
}

extension AdminPage.Chrome {
    init(_ context: AppRequestContext, session: PageSession, title: String, notice: SettingsNotice?) throws {
        self.init(title: title, email: try context.requireIdentity().profile.email ?? "admin", csrf: session.csrf(context),
                  notice: notice.map(PageNotice.init))
    }
}
