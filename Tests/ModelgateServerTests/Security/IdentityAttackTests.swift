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
import ModelgateTestSupport
import Testing

/// Attacks through identity and configuration: tokens made for another service, admins of the
/// identity project, a shared email, crafted notice links, a public metrics page.
@Suite(.timeLimit(.minutes(5))) struct IdentityAttackTests {
    @Test func aTokenMadeForAnotherAudienceOrIssuerIsRefused() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000))
        let ours = TokenRules(audience: "authenticated", issuer: "https://coach.supabase.co/auth/v1")
        let strict = await TokenAuthority(secret: testSecret, clock: clock, rules: ours)
        let good = try await strict.issue(user: testUser(170), email: nil, admin: false, ttl: 600, now: clock.now())
        #expect(try await strict.verify(good).user == testUser(170))
        let others = [
            TokenRules(), TokenRules(audience: "other-app", issuer: ours.issuer), TokenRules(audience: ours.audience, issuer: "https://evil.example/auth/v1"),
        ]
        for rules in others {
            let foreign = try await TokenAuthority(secret: testSecret, clock: clock, rules: rules)
                .issue(user: testUser(170), email: nil, admin: false, ttl: 600, now: clock.now())
            await #expect(throws: ModelgateError.self, "aud \(rules.audience ?? "none"), iss \(rules.issuer ?? "none")") {
                try await strict.verify(foreign)
            }
        }
    }

    @Test func anAdminOfTheIdentityProjectIsNotAModelgateAdmin() async throws {
        try await TestApp.run { app, client in
            // `app_metadata.role = admin` is how the whole identity project marks its admins.
            let projectAdmin = try await TokenAuthority(secret: testSecret, clock: app.clock, rules: TokenRules(adminClaim: "role"))
                .issue(user: testUser(171), email: "project-admin@example.com", admin: true, ttl: 600, now: app.clock.now())
            #expect(try await client.call(.get, "/api/admin/models", token: projectAdmin).status == .forbidden)
            #expect(try await client.call(.get, "/api/admin/models", token: try await app.adminToken()).status == .ok)
        }
    }

    @Test func aGrantByAnEmailThatSeveralUsersCarryIsRefused() async throws {
        try await TestApp.run { app, client in
            for user in [testUser(172), testUser(173)] {
                _ = try await client.call(.get, "/api/me", token: try await app.token(user, email: "shared@example.com"))
            }
            let admin = try await app.adminToken()
            let byEmail = try await client.call(.post, "/api/admin/models/gpt-4o/grants", token: admin,
                                                json: #"{"user": "shared@example.com", "source": "admin_grant"}"#)
            #expect(byEmail.status == .conflict && byEmail.code == "ambiguous_user")
            #expect(try await app.count("entitlements") == 0)
            let byID = try await client.call(.post, "/api/admin/models/gpt-4o/grants", token: admin,
                                             json: #"{"user": "\#(testUser(173))", "source": "admin_grant"}"#)
            #expect(byID.status == .created && byID.json["userId"] == .string(testUser(173).description))
        }
    }

    @Test func aCraftedNoticeLinkCannotPutItsWordsOnTheAdminConsole() async throws {
        try await TestApp.run { app, client in
            let admin = try await app.session(adminUser, email: "ops@example.com", admin: true, client: client)
            let words = "Call%20support%20at%20555-0100"
            let page = try await client.page(.get, "/admin/models?notice=created&model=\(words)&count=\(words)", cookie: admin)
            #expect(page.html.contains("The model was created.") && !page.html.contains("555-0100"))
            let bulk = try await client.page(.get, "/admin/models?notice=bulk&count=\(words)", cookie: admin)
            #expect(bulk.html.contains("0 model(s) changed.") && !bulk.html.contains("555-0100"))
            let named = try await client.page(.get, "/admin/models?notice=enabled&model=gpt-4o", cookie: admin)
            #expect(named.html.contains("GPT-4o is enabled"))
        }
    }

    @Test func metricsNeedATokenWhenTheServerListensBeyondLoopback() throws {
        var exposed = ServerConfiguration(host: "0.0.0.0")
        #expect(throws: ConfigurationError.self) { try exposed.checkExposure() }
        exposed.metricsToken = "scrape-token"
        try exposed.checkExposure()
        for loopback in ["127.0.0.1", "::1", "localhost"] { try ServerConfiguration(host: loopback).checkExposure() }
    }
}
