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
import ModelgateTestSupport
import SQLKit
import Testing

/// Attacks on the page session: a stolen cookie, a sign-in forced on someone else's browser, a
/// token left in a URL or a log.
@Suite(.timeLimit(.minutes(5))) struct SessionAttackTests {
    @Test func aCopiedSessionCookieStopsWorkingAfterLogout() async throws {
        try await TestApp.run { app, client in
            let cookie = try await app.session(testUser(150), client: client)
            let copy = cookie
            let page = try await client.page(.get, "/settings", cookie: cookie)
            let csrf = try #require(page.csrf)
            let out = try await client.page(.post, "/logout", cookie: cookie, form: "_csrf=\(csrf)")
            #expect(out.status == .seeOther && out.cookie("modelgate_session") == "")
            #expect(try await client.page(.get, "/settings", cookie: copy).status == .unauthorized)
            #expect(try await client.call(.get, "/api/me", cookie: copy).status == .unauthorized)
            #expect(try await app.count("sessions") == 0)
        }
    }

    @Test func aStolenSessionEndsWithItsLifetimeEvenIfNobodySignsOut() async throws {
        try await TestApp.run { app, client in
            let cookie = try await app.session(testUser(149), client: client)
            app.clock.set(app.clock.now().addingTimeInterval(6 * 86_400))
            #expect(try await client.page(.get, "/settings", cookie: cookie).status == .ok)
            app.clock.set(app.clock.now().addingTimeInterval(86_400 + 1))
            #expect(try await client.page(.get, "/settings", cookie: cookie).status == .unauthorized, "7 days at most, whatever the token's expiry")
        }
    }

    @Test func signOutEverywhereEndsEverySessionOfThatUserAndNoOneElses() async throws {
        try await TestApp.run { app, client in
            let phone = try await app.session(testUser(151), client: client)
            let laptop = try await app.session(testUser(151), client: client)
            let someoneElse = try await app.session(testUser(152), client: client)
            let csrf = try #require(try await client.page(.get, "/settings", cookie: laptop).csrf)
            #expect(try await client.page(.post, "/logout/everywhere", cookie: laptop, form: "_csrf=\(csrf)").status == .seeOther)
            #expect(try await client.page(.get, "/settings", cookie: phone).status == .unauthorized)
            #expect(try await client.page(.get, "/settings", cookie: laptop).status == .unauthorized)
            #expect(try await client.page(.get, "/settings", cookie: someoneElse).status == .ok)
        }
    }

    @Test func anotherUsersSignInLinkNeverSwitchesASignedInBrowserSilently() async throws {
        try await TestApp.run { app, client in
            let victim = try await app.session(testUser(153), email: "victim@example.com", client: client)
            let attackerToken = try await app.token(testUser(154), email: "attacker@example.com")
            // The attacker's page auto-submits their token: the victim lands on a page that asks.
            let posted = try await client.page(.post, "/login", form: "token=\(attackerToken)", headers: [.cookie: "modelgate_session=\(victim)"])
            #expect(posted.status == .seeOther && posted.cookie("modelgate_session") == nil)
            let location = try #require(posted.headers[.location])
            let asking = try await client.page(.get, location, cookie: victim)
            #expect(asking.html.contains("data-switch") && asking.html.contains("victim@example.com") && asking.html.contains("attacker@example.com"))
            #expect(asking.cookie("modelgate_session") == nil)
            // A cross-site POST of the code lacks the page's SameSite=Strict double-submit cookie.
            let code = try #require(asking.field("code"))
            let forged = try await client.page(.post, "/login", form: "signInCSRF=guess&code=\(code)", headers: [.cookie: "modelgate_session=\(victim)"])
            #expect(forged.status == .forbidden && forged.cookie("modelgate_session") == nil)
            #expect(try await client.call(.get, "/api/me", cookie: victim).json["email"] == .string("victim@example.com"))
        }
    }

    @Test func aSignInCodeOrLinkSignsInOnceAndOnlyBriefly() async throws {
        try await TestApp.run { app, client in
            let made = try await client.call(.post, "/api/sign-in-codes", token: try await app.token(testUser(155)))
            #expect(made.status == .created)
            let url = try #require(made.json["url"]?.stringValue)
            let location = try #require(url.range(of: "/login?code=").map { String(url[$0.lowerBound...]) })
            #expect(try await client.confirmSignIn(location).status == .seeOther)
            #expect(try await client.page(.get, location).status == .unauthorized, "used")
            let posted = try await client.page(.post, "/login", form: "token=\(try await app.token(testUser(155)))")
            app.clock.set(app.clock.now().addingTimeInterval(121))
            #expect(try await client.page(.get, try #require(posted.headers[.location])).status == .unauthorized, "expired")
            let cookieSession = try await app.session(testUser(156), client: client)
            #expect(try await client.call(.post, "/api/sign-in-codes", cookie: cookieSession).status == .forbidden)
        }
    }

    @Test func noTokenCodeOrSessionIdReachesAnyLogLineAtAnyLevel() async throws {
        let capture = LogCapture()
        try await TestApp.run(logger: capture.logger) { app, client in
            let token = try await app.token(testUser(157))
            let inURL = try await client.page(.get, "/login?token=\(token)")
            #expect(inURL.status == .badRequest && inURL.html.contains("never taken from a URL"))
            let posted = try await client.page(.post, "/login", form: "token=\(token)")
            let code = try #require(posted.headers[.location]?.split(separator: "=").last.map(String.init))
            let session = try #require(try await client.confirmSignIn("/login?code=\(code)").cookie("modelgate_session"))
            #expect(try await client.page(.get, "/settings", cookie: session).status == .ok)
            #expect(try await client.page(.get, "/settings", cookie: session + "x").status == .unauthorized)
            let logs = capture.text
            #expect(logs.contains("/login"))
            for (name, secret) in [("JWT", token), ("sign-in code", code), ("session id", session)] {
                #expect(!logs.contains(secret), "the \(name) is in the logs")
            }
            let stored = try await app.database.read { db in
                try await db.raw("SELECT id_hash FROM sessions").all().map { try $0.decode(column: "id_hash", as: String.self) }
            }
            #expect(stored.count == 1 && stored[0] != session, "only the id's hash is stored")
        }
    }

    @Test func theSessionCookieIsSecureBehindAnHTTPSPublicURL() async throws {
        var billing = TestApp.billing(stripe: nil)
        billing.publicURL = "https://coach.example.com"
        try await TestApp.run(billing: billing) { app, client in
            let posted = try await client.page(.post, "/login", form: "token=\(try await app.token(testUser(158)))")
            let signedIn = try await client.confirmSignIn(try #require(posted.headers[.location]))
            let cookie = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix("modelgate_session=") })
            #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"))
        }
        try await TestApp.run { app, client in
            let posted = try await client.page(.post, "/login", form: "token=\(try await app.token(testUser(159)))")
            let signedIn = try await client.confirmSignIn(try #require(posted.headers[.location]))
            let cookie = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix("modelgate_session=") })
            #expect(!cookie.contains("Secure"), "plain http on loopback keeps working")
        }
    }
}
