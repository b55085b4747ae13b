import Crypto
import Foundation
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// How a browser asks to be signed in: a one-time code made from an app's token, or a service's
/// one-time link for its end user. Neither is used until the page's POST.
enum SignInGrant: Sendable {
    case code(String)
    case link(String)
}

/// Page sessions: a token or a link is exchanged (by a POST from the sign-in page) for a random
/// session id in an HttpOnly cookie; only the id's hash is stored, and signing out deletes it, so a
/// copied cookie stops working.
struct SessionAuthority: Sendable {
    static let cookieName = "modelgate_session"
    /// The double-submit cookie that ties the sign-in page's POST to the browser that showed it.
    static let signInCSRFCookie = "modelgate_sign_in"
    static let codeLifetime: TimeInterval = 120
    /// A session lasts as long as the token it was made from, at most this.
    static let maxLifetime: TimeInterval = 7 * 86_400
    /// How long a session from a service's sign-in link lasts.
    static let linkLifetime: TimeInterval = 12 * 3600
    /// `last_seen_at` is written at most this often, so a page view is not a write.
    static let touchInterval: TimeInterval = 300

    static let usedOrExpired = ModelgateError.unauthenticated(
        reason: "this sign-in link was used, has expired, or was never made; ask the app for a new one")

    let sessions: SessionRepository
    let profiles: ProfileRepository
    let apiKeys: ApiKeyAuthority
    let clock: any WallClock
    /// `Secure` cookies when the public URL is https.
    let secureCookies: Bool

    /// A one-time code for the user a verified token names, and the URL that shows it.
    func code(for token: TokenIdentity, lifetime: TimeInterval = Self.codeLifetime) async throws -> (code: String, expiresAt: Date) {
        let now = clock.now()
        _ = try await profiles.findOrCreate(token.user, email: token.email, at: now)
        let code = ApiKeyAuthority.randomSecret()
        let expiresAt = now.addingTimeInterval(lifetime)
        try await sessions.createCode(
            hash: ApiKeyAuthority.hash(code), for: SignedInUser(user: token.user, email: token.email, claimsAdmin: token.claimsAdmin),
            sessionExpiresAt: min(token.expiresAt, now.addingTimeInterval(Self.maxLifetime)), expiresAt: expiresAt)
        return (code, expiresAt)
    }

    /// Whom a grant would sign in, without using it; nil when it is unknown, used or expired.
    func pending(_ grant: SignInGrant) async throws -> SignedInUser? {
        switch grant {
        case .code(let code): try await sessions.peekCode(hash: ApiKeyAuthority.hash(code), at: clock.now())
        case .link(let link): try await apiKeys.peekSignInLink(link).map { SignedInUser(user: $0, email: nil, claimsAdmin: false) }
        }
    }

    /// Uses a grant once and opens a session: the new session id and how long it lives.
    func signIn(_ grant: SignInGrant, userAgent: String?) async throws -> (id: String, user: SignedInUser, lifetime: TimeInterval) {
        let now = clock.now()
        let redeemed: (SignedInUser, Date)?
        switch grant {
        case .code(let code):
            redeemed = try await sessions.redeemCode(hash: ApiKeyAuthority.hash(code), at: now)
        case .link(let link):
            redeemed = try await apiKeys.redeemSignInLink(link)
                .map { (SignedInUser(user: $0, email: nil, claimsAdmin: false), now.addingTimeInterval(Self.linkLifetime)) }
        }
        guard let (user, expiresAt) = redeemed else { throw Self.usedOrExpired }
        let id = ApiKeyAuthority.randomSecret()
        try await sessions.create(hash: ApiKeyAuthority.hash(id), for: user, userAgent: userAgent, expiresAt: expiresAt, at: now)
        return (id, user, expiresAt.timeIntervalSince(now))
    }

    /// The signed-in user of a session cookie; nil when the session was ended or has expired.
    func user(ofSession id: String) async throws -> SignedInUser? {
        let now = clock.now()
        let hash = ApiKeyAuthority.hash(id)
        guard let session = try await sessions.find(hash: hash, at: now) else { return nil }
        if now.timeIntervalSince(session.lastSeenAt) > Self.touchInterval { try await sessions.touch(hash: hash, at: now) }
        return session.signedIn
    }

    func signOut(session id: String) async throws {
        try await sessions.delete(hash: ApiKeyAuthority.hash(id))
    }

    func signOutEverywhere(_ user: UserID) async throws -> Int {
        try await sessions.deleteAll(of: user)
    }

    func sessionCookie(_ value: String, lifetime: TimeInterval) -> Cookie {
        cookie(Self.cookieName, value, lifetime: lifetime, sameSite: .lax)
    }

    /// Strict, so no other site's page can make the browser send it with a sign-in POST.
    func signInCSRFCookie(_ value: String) -> Cookie {
        cookie(Self.signInCSRFCookie, value, lifetime: value.isEmpty ? 0 : Self.codeLifetime * 5, sameSite: .strict)
    }

    private func cookie(_ name: String, _ value: String, lifetime: TimeInterval, sameSite: Cookie.SameSite) -> Cookie {
        // Clamped before the conversion: Int(Double) traps out of range.
        let maxAge = Int(min(max(0, lifetime), Double(Int32.max)))
        return Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secureCookies, httpOnly: true, sameSite: sameSite)
    }
}
