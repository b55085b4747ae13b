import Foundation
import HTTPTypes
import HummingbirdTesting
import ModelgateCore
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import Testing

/// What a test reads back from a page.
struct PageReply {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let html: String

    /// The value of `<input name="_csrf">` (or the csrf meta tag) on the page.
    var csrf: String? {
        guard let range = html.range(of: #"name="csrf-token" content=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }
}

extension TestClientProtocol {
    func page(_ method: HTTPRequest.Method, _ path: String, cookie: String? = nil, form: String? = nil,
              headers extra: HTTPFields = [:]) async throws -> PageReply {
        var headers = extra
        if let cookie { headers[.cookie] = "modelgate_session=\(cookie)" }
        if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        return try await execute(uri: path, method: method, headers: headers, body: form.map { ByteBuffer(string: $0) }) { response in
            PageReply(status: response.status, headers: response.headers, html: String(buffer: response.body))
        }
    }
}

@Suite struct SettingsPageTests {
    @Test func theSignInLinkSetsAnHttpOnlyLaxCookieAndBadTokensGetAPage() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(1))
            let signedIn = try await client.page(.get, "/login?token=\(token)")
            #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/settings")
            let cookie = try #require(signedIn.headers[.setCookie])
            #expect(cookie.contains("modelgate_session=\(token)") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"))

            let tampered = try await client.page(.get, "/login?token=\(token.dropLast(2))xx")
            #expect(tampered.status == .unauthorized && tampered.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(tampered.html.contains("unauthenticated") && tampered.headers[.setCookie] == nil)
            #expect(try await client.page(.get, "/settings").status == .unauthorized)
            #expect(try await client.page(.get, "/login").status == .unauthorized)
        }
    }

    @Test func theJSONAPIRefusesACookieSessionWithoutItsCSRFToken() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(2))
            let body = ByteBuffer(string: #"{"defaultModelId": "llama-3.1-8b"}"#)
            func patch(csrf: String?) async throws -> HTTPResponse.Status {
                var headers: HTTPFields = [.cookie: "modelgate_session=\(token)", .contentType: "application/json"]
                if let csrf { headers[.init("X-CSRF-Token")!] = csrf }
                return try await client.execute(uri: "/api/profile/model-preferences", method: .patch, headers: headers, body: body) { $0.status }
            }
            #expect(try await patch(csrf: nil) == .forbidden)
            #expect(try await patch(csrf: "forged") == .forbidden)
            #expect(try await client.call(.get, "/api/profile/model-preferences", token: token).json["defaultModelId"] == .null)
            let csrf = try #require(try await client.page(.get, "/settings", cookie: token).csrf)
            #expect(try await patch(csrf: csrf) == .ok)
            #expect(try await client.call(.get, "/api/profile/model-preferences", token: token).json["defaultModelId"] == .string("llama-3.1-8b"))
        }
    }

    @Test func formsPostAndRedirectAndAStaleCSRFTokenChangesNothing() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(3))
            let other = try await app.token(testUser(4))
            let otherCSRF = try #require(try await client.page(.get, "/settings", cookie: other).csrf)
            let forged = try await client.page(.post, "/settings/default-model", cookie: token, form: "_csrf=\(otherCSRF)&modelId=llama-3.1-8b")
            #expect(forged.status == .forbidden)
            #expect(try await client.call(.get, "/api/me", token: token).json["defaultModelId"] == .null)

            let csrf = try #require(try await client.page(.get, "/settings", cookie: token).csrf)
            let saved = try await client.page(.post, "/settings/default-model", cookie: token, form: "_csrf=\(csrf)&modelId=llama-3.1-8b")
            #expect(saved.status == .seeOther && saved.headers[.location] == "/settings?saved=default")
            let after = try await client.page(.get, "/settings?saved=default", cookie: token)
            #expect(after.html.contains("Default model saved.") && after.html.contains(#"<option value="llama-3.1-8b" selected>"#))

            let override = try await client.page(.post, "/settings/overrides", cookie: token, form: "_csrf=\(csrf)&personaId=fitness&modelId=claude-3-5-haiku")
            #expect(override.headers[.location] == "/settings?saved=override")
            let cleared = try await client.page(.post, "/settings/overrides", cookie: token, form: "_csrf=\(csrf)&personaId=fitness&modelId=")
            #expect(cleared.headers[.location] == "/settings?saved=cleared")
            #expect(try await client.call(.get, "/api/profile/model-preferences", token: token).json["personaOverrides"] == .object([:]))

            let unknown = try await client.page(.post, "/settings/overrides", cookie: token, form: "_csrf=\(csrf)&personaId=astrologer&modelId=gpt-4o")
            #expect(unknown.status == .unprocessableContent && unknown.html.contains("There is no persona"))
        }
    }

    @Test func withoutStripeBuyIsDisabledAndSaysWhy() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(5))
            let page = try await client.page(.get, "/settings", cookie: token)
            #expect(page.html.contains("data-payments-off"))
            #expect(page.html.contains(#"disabled aria-describedby="buy-why-gpt-4o""#))
            let csrf = try #require(page.csrf)
            let refused = try await client.page(.post, "/settings/checkout", cookie: token, form: "_csrf=\(csrf)&modelId=gpt-4o")
            #expect(refused.status == .serviceUnavailable && refused.html.contains("Purchases are not available"))
        }
    }

    @Test func anEmptyCatalogSaysSo() async throws {
        try await TestApp.run { app, client in
            try await app.sql("UPDATE ai_models SET enabled = FALSE")
            let page = try await client.page(.get, "/settings", cookie: try await app.token(testUser(6)))
            #expect(page.status == .ok && page.html.contains("data-empty") && !page.html.contains("model-card"))
        }
    }

    @Test func theStaticAssetsAreServedAndNothingComesFromTheInternet() async throws {
        try await TestApp.run { app, client in
            let page = try await client.page(.get, "/settings", cookie: try await app.token(testUser(7)))
            #expect(!page.html.contains("http://") && !page.html.contains("https://"))
            #expect(try await client.page(.get, "/static/app.css").status == .ok)
            #expect(try await client.page(.get, "/static/settings.js").html.contains("X-CSRF-Token"))
        }
    }

    @Test func theGuidesAreServedAndTheirLinksResolve() async throws {
        try await TestApp.run { _, client in
            var pages: [String: String] = [:]
            for name in ["user-guide", "admin-guide", "operations", "analytics", "integration"] {
                let page = try await client.page(.get, "/docs/\(name)")
                #expect(page.status == .ok && page.html.contains("<h1 id="), "\(name)")
                pages[name] = page.html
            }
            for (name, html) in pages {
                for link in html.components(separatedBy: "href=\"/docs/").dropFirst() {
                    let target = link.prefix { $0 != "\"" }.split(separator: "#", maxSplits: 1).map(String.init)
                    let page = target[0].isEmpty ? html : pages[target[0]]
                    #expect(page != nil, "\(name) links to /docs/\(target[0])")
                    if target.count == 2 { #expect(page?.contains("id=\"\(target[1])\"") == true, "\(name) links to #\(target[1])") }
                }
            }
            let escape = try await client.page(.get, "/docs/..%2FPackage")
            #expect(escape.status == .notFound, "\(escape.status)")
            #expect(try await client.page(.get, "/docs/nothing-here").status == .notFound)
        }
    }
}
