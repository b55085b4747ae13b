import Foundation
import HTTPTypes
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
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

@Suite(.timeLimit(.minutes(5))) struct SettingsPageTests {
    @Test func signingInAsksThenSetsAnHttpOnlyLaxSessionCookieAndBadTokensGetAPage() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(1))
            let posted = try await client.page(.post, "/login", form: "token=\(token)")
            let location = try #require(posted.headers[.location])
            #expect(posted.status == .seeOther && location.hasPrefix("/login?code=") && !location.contains(token))
            let asking = try await client.page(.get, location)
            #expect(asking.status == .ok && asking.html.contains("data-continue") && asking.headers[.setCookie]?.contains("SameSite=Strict") == true)
            let session = try await app.session(testUser(2), client: client)
            #expect(session.count >= 40 && !session.contains("."), "a random id, not a JWT")
            #expect(try await client.page(.get, "/settings", cookie: session).status == .ok)

            let tampered = try await client.page(.post, "/login", form: "token=\(token.dropLast(2))xx")
            #expect(tampered.status == .unauthorized && tampered.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(tampered.html.contains("unauthenticated") && tampered.headers[.setCookie] == nil)
            #expect(try await client.page(.get, "/settings").status == .unauthorized)
            #expect(try await client.page(.get, "/settings", cookie: token).status == .unauthorized, "a JWT is not a session")
            #expect(try await client.page(.get, "/login").status == .unauthorized)
        }
    }

    @Test func theJSONAPIRefusesACookieSessionWithoutItsCSRFToken() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(2))
            let session = try await app.session(testUser(2), client: client)
            let body = ByteBuffer(string: #"{"defaultModelId": "llama-3.1-8b"}"#)
            func patch(csrf: String?) async throws -> HTTPResponse.Status {
                var headers: HTTPFields = [.cookie: "modelgate_session=\(session)", .contentType: "application/json"]
                if let csrf { headers[.init("X-CSRF-Token")!] = csrf }
                return try await client.execute(uri: "/api/profile/model-preferences", method: .patch, headers: headers, body: body) { $0.status }
            }
            #expect(try await patch(csrf: nil) == .forbidden)
            #expect(try await patch(csrf: "forged") == .forbidden)
            #expect(try await client.call(.get, "/api/profile/model-preferences", token: token).json["defaultModelId"] == .null)
            let csrf = try #require(try await client.page(.get, "/settings", cookie: session).csrf)
            #expect(try await patch(csrf: csrf) == .ok)
            #expect(try await client.call(.get, "/api/profile/model-preferences", token: token).json["defaultModelId"] == .string("llama-3.1-8b"))
        }
    }

    @Test func formsPostAndRedirectAndAStaleCSRFTokenChangesNothing() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(3))
            let cookie = try await app.session(testUser(3), client: client)
            let other = try await app.session(testUser(4), client: client)
            let otherCSRF = try #require(try await client.page(.get, "/settings", cookie: other).csrf)
            let forged = try await client.page(.post, "/settings/default-model", cookie: cookie, form: "_csrf=\(otherCSRF)&modelId=llama-3.1-8b")
            #expect(forged.status == .forbidden)
            #expect(try await client.call(.get, "/api/me", token: token).json["defaultModelId"] == .null)

            let csrf = try #require(try await client.page(.get, "/settings", cookie: cookie).csrf)
            let saved = try await client.page(.post, "/settings/default-model", cookie: cookie, form: "_csrf=\(csrf)&modelId=llama-3.1-8b")
            #expect(saved.status == .seeOther && saved.headers[.location] == "/settings?saved=default")
            let after = try await client.page(.get, "/settings?saved=default", cookie: cookie)
            #expect(after.html.contains("Default model saved.") && after.html.contains(#"<option value="llama-3.1-8b" selected>"#))

            let override = try await client.page(.post, "/settings/overrides", cookie: cookie, form: "_csrf=\(csrf)&personaId=fitness&modelId=claude-3-5-haiku")
            #expect(override.headers[.location] == "/settings?saved=override")
            let cleared = try await client.page(.post, "/settings/overrides", cookie: cookie, form: "_csrf=\(csrf)&personaId=fitness&modelId=")
            #expect(cleared.headers[.location] == "/settings?saved=cleared")
            #expect(try await client.call(.get, "/api/profile/model-preferences", token: token).json["personaOverrides"] == .object([:]))

            let unknown = try await client.page(.post, "/settings/overrides", cookie: cookie, form: "_csrf=\(csrf)&personaId=astrologer&modelId=gpt-4o")
            #expect(unknown.status == .unprocessableContent && unknown.html.contains("There is no persona"))
        }
    }

    @Test func withoutStripeBuyIsDisabledAndSaysWhy() async throws {
        try await TestApp.run { app, client in
            let token = try await app.session(testUser(5), client: client)
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
            let page = try await client.page(.get, "/settings", cookie: try await app.session(testUser(6), client: client))
            #expect(page.status == .ok && page.html.contains("data-empty") && !page.html.contains("model-card"))
        }
    }

    @Test func theStaticAssetsAreServedAndNothingComesFromTheInternet() async throws {
        try await TestApp.run { app, client in
            let page = try await client.page(.get, "/settings", cookie: try await app.session(testUser(7), client: client))
            #expect(!page.html.contains("http://") && !page.html.contains("https://"))
            #expect(try await client.page(.get, "/static/app.css").status == .ok)
            #expect(try await client.page(.get, "/static/settings.js").html.contains("X-CSRF-Token"))
        }
    }

    @Test func theGuidesAreServedAndTheirLinksResolve() async throws {
        try await TestApp.run { _, client in
            var pages: [String: String] = [:]
            let guides = try FileManager.default.contentsOfDirectory(atPath: PythonSDK.repository.appendingPathComponent("docs").path)
                .filter { $0.hasSuffix(".md") }.map { String($0.dropLast(3)) }
            #expect(guides.count >= 15)
            for name in guides {
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
