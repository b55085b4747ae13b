import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// Signing in to the pages and out again. Nothing that signs in ever travels in a URL except a
/// one-time code: an app POSTs its token (or calls `POST /api/sign-in-codes`) and the browser lands
/// on `/login?code=…`; that page names the account and its button POSTs the code back, with a
/// double-submit token only this browser has, so another site can neither sign a visitor in nor
/// silently switch the account of one who is signed in.
struct SignInRoutes {
    let renderer: PageRenderer
    let session: PageSession
    let sessions: SessionAuthority
    let tokens: TokenAuthority
    let maxBodyBytes: Int

    func register(open: RouterGroup<AppRequestContext>) {
        open.get("login") { request, _ in try await signInPage(request) }
        open.post("login") { request, _ in try await signIn(request) }
    }

    @Sendable func signOut(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        _ = try await session.verifiedForm(EmptyForm.self, request, context)
        if let id = context.sessionToken { try await sessions.signOut(session: id) }
        return signedOut()
    }

    @Sendable func signOutEverywhere(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        _ = try await session.verifiedForm(EmptyForm.self, request, context)
        _ = try await sessions.signOutEverywhere(try context.requireIdentity().user)
        return signedOut()
    }

    func register(signedIn pages: RouterGroup<AppRequestContext>) {
        pages.post("logout", use: signOut)
        pages.post("logout/everywhere", use: signOutEverywhere)
    }

    /// The form of the sign-in page (`code` or `link`, with `signInCSRF`) or of an app (`token`).
    struct SignInForm: Decodable {
        let token: String?
        let code: String?
        let link: String?
        let signInCSRF: String?

        var grant: SignInGrant? {
            if let code, !code.isEmpty { return .code(code) }
            if let link, !link.isEmpty { return .link(link) }
            return nil
        }
    }

    /// `GET /login?code=…` (or a service's `?link=…`) names the account and asks; it uses nothing.
    private func signInPage(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard query["token"] == nil else {
            throw ModelgateError.unsupportedParameter(
                field: "token", reason: "a token is never taken from a URL, where logs and history keep it; POST it to /login, or open a one-time link from the app")
        }
        let form = SignInForm(token: nil, code: query["code"].map(String.init), link: query["link"].map(String.init), signInCSRF: nil)
        guard let grant = form.grant else {
            return renderer.render("signed-out", ["title": "Sign in"], status: .unauthorized)
        }
        guard let who = try await sessions.pending(grant) else { throw SessionAuthority.usedOrExpired }
        var current: SignedInUser?
        if let cookie = request.cookies[SessionAuthority.cookieName]?.value, !cookie.isEmpty {
            current = try await sessions.user(ofSession: cookie)
        }
        let csrf = ApiKeyAuthority.randomSecret()
        let (field, value) = switch grant {
        case .code(let code): ("code", code)
        case .link(let link): ("link", link)
        }
        var response = renderer.render("sign-in", [
            "title": "Sign in", "who": Self.name(who), "grantField": field, "grant": value, "signInCSRF": csrf,
            "current": current.flatMap { $0.user == who.user ? nil : Self.name($0) } as Any,
        ])
        response.setCookie(sessions.signInCSRFCookie(csrf))
        return response
    }

    /// `POST /login`: an app's token becomes a one-time code (and the page that asks); the page's
    /// code becomes a session, replacing the browser's previous one.
    private func signIn(_ request: Request) async throws -> Response {
        let form = try PageForm.decode(SignInForm.self, from: try PageForm.text(of: try await request.collectBody(limit: maxBodyBytes)))
        if let token = form.token {
            let code = try await sessions.code(for: try await tokens.verify(token))
            return Response.redirect(to: "/login?code=\(code.code)", type: .normal)
        }
        guard let grant = form.grant else { throw ModelgateError.invalidField(field: "code", reason: "is required") }
        guard let expected = request.cookies[SessionAuthority.signInCSRFCookie]?.value, let sent = form.signInCSRF,
              SHA256.hash(data: Data(expected.utf8)) == SHA256.hash(data: Data(sent.utf8)) else {
            throw ModelgateError.forbidden(reason: "sign in with the button of the sign-in page in this browser")
        }
        if let previous = request.cookies[SessionAuthority.cookieName]?.value, !previous.isEmpty {
            try await sessions.signOut(session: previous)
        }
        let opened = try await sessions.signIn(grant, userAgent: request.headers[.userAgent])
        var response = Response.redirect(to: "/settings", type: .normal)
        response.setCookie(sessions.sessionCookie(opened.id, lifetime: opened.lifetime))
        response.setCookie(sessions.signInCSRFCookie(""))
        return response
    }

    private func signedOut() -> Response {
        var response = Response.redirect(to: "/login", type: .normal)
        response.setCookie(sessions.sessionCookie("", lifetime: 0))
        return response
    }

    private static func name(_ user: SignedInUser) -> String { user.email ?? "account \(user.user)" }
}
