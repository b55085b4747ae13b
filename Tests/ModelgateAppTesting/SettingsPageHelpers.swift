import Foundation
import HTTPTypes
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import Testing

/// What a test reads back from a page.
public struct PageReply: Sendable {
    public let status: HTTPResponse.Status
    public let headers: HTTPFields
    public let html: String

    public init(status: HTTPResponse.Status, headers: HTTPFields, html: String) {
        self.status = status
        self.headers = headers
        self.html = html
    }

    /// The value of `<input name="_csrf">` (or the csrf meta tag) on the page.
    public var csrf: String? {
        guard let range = html.range(of: #"name="csrf-token" content=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    /// The value of a hidden field of a form on the page.
    public func field(_ name: String) -> String? {
        guard let range = html.range(of: #"name="\#(name)" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    /// The value a `Set-Cookie` of this answer gives `name` (the last one, as a browser keeps it).
    public func cookie(_ name: String) -> String? {
        headers[values: .setCookie].last { $0.hasPrefix(name + "=") }
            .map { String($0.dropFirst(name.count + 1).prefix { $0 != ";" }) }
    }
}

extension TestApp {
    /// Signs `user` in as a browser does: an app posts the token, the page asks, its button posts
    /// the one-time code back. The session cookie's value.
    public func session(_ user: UserID, email: String? = nil, admin: Bool = false, client: any TestClientProtocol) async throws -> String {
        let posted = try await client.page(.post, "/login", form: "token=\(try await token(user, email: email, admin: admin))")
        let location = try #require(posted.headers[.location], "POST /login answered \(posted.status) \(posted.html)")
        let signedIn = try await client.confirmSignIn(location)
        return try #require(signedIn.cookie("modelgate_session"), "signing in answered \(signedIn.status)")
    }
}

extension TestClientProtocol {
    /// Opens a sign-in page (`/login?code=…` or `?link=…`) and presses its button, with the
    /// page's double-submit cookie (and `session`, a browser's current one): the POST's answer.
    public func confirmSignIn(_ location: String, session: String? = nil) async throws -> PageReply {
        let asking = try await page(.get, location, cookie: session)
        let csrf = try #require(asking.cookie("modelgate_sign_in"), "\(location) answered \(asking.status)")
        let grant = asking.field("code").map { "code=\($0)" } ?? asking.field("link").map { "link=\($0)" } ?? ""
        let cookies = ["modelgate_sign_in=\(csrf)"] + (session.map { ["modelgate_session=\($0)"] } ?? [])
        return try await page(.post, "/login", form: "signInCSRF=\(csrf)&\(grant)", headers: [.cookie: cookies.joined(separator: "; ")])
    }
}

extension TestClientProtocol {
    public func page(_ method: HTTPRequest.Method, _ path: String, cookie: String? = nil, form: String? = nil,
              headers extra: HTTPFields = [:]) async throws -> PageReply {
        var headers = extra
        if let cookie { headers[.cookie] = "modelgate_session=\(cookie)" }
        if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        return try await execute(uri: path, method: method, headers: headers, body: form.map { ByteBuffer(string: $0) }) { response in
            PageReply(status: response.status, headers: response.headers, html: String(buffer: response.body))
        }
    }
}
