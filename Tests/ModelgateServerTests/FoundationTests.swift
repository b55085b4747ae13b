import Foundation
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
import Testing

@Suite(.timeLimit(.minutes(5))) struct FoundationTests {
    @Test func healthAndReadiness() async throws {
        try await TestApp.run { _, client in
            #expect(try await client.call(.get, "/healthz", token: nil).status == .ok)
            let ready = try await client.call(.get, "/readyz", token: nil)
            #expect(ready.status == .ok && ready.json["status"] == .string("ready"))
        }
    }

    @Test func meCreatesTheProfileOnFirstRequest() async throws {
        try await TestApp.run { app, client in
            let user = testUser(7)
            let reply = try await client.call(.get, "/api/me", token: try await app.token(user, email: "a@example.com"))
            #expect(reply.status == .ok)
            #expect(reply.json["id"] == .string(user.description))
            #expect(reply.json["email"] == .string("a@example.com"))
            #expect(reply.json["role"] == .string("user"))
            #expect(reply.json["defaultModelId"] == .null)
            #expect(reply.headers[.init("X-Request-Id")!] != nil)
        }
    }

    /// Expiry is read on the app's clock, like every other time.
    @Test func aTokenExpiresWhenTheAppsClockPassesItsExp() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(9), ttl: 600)
            #expect(try await client.call(.get, "/api/me", token: token).status == .ok)
            app.clock.set(app.clock.now().addingTimeInterval(601))
            let expired = try await client.call(.get, "/api/me", token: token)
            #expect(expired.status == .unauthorized && expired.json["detail"] == .string("the token has expired"))
        }
    }

    @Test func badTokensGet401ProblemJSON() async throws {
        try await TestApp.run { app, client in
            let good = try await app.token(testUser(1))
            var parts = good.split(separator: ".").map(String.init)
            parts[1] = parts[1].replacingOccurrences(of: "A", with: "B")
            let tampered = parts.joined(separator: ".")
            let other = try await TokenAuthority(secret: JWTSecret("another-secret-another-secret-0123456789"))
                .issue(user: testUser(1), email: nil, admin: true, ttl: 60, now: app.clock.now())
            let expired = try await app.tokens.issue(user: testUser(1), email: nil, admin: false, ttl: -60, now: app.clock.now())
            for token in [tampered, other, expired, "not-a-token", ""] {
                let reply = try await client.call(.get, "/api/me", token: token)
                #expect(reply.status == .unauthorized, "token \(token.prefix(20))")
                #expect(reply.headers[.contentType] == "application/problem+json")
                #expect(reply.code == "unauthenticated")
            }
            #expect(try await client.call(.get, "/api/me", token: nil).status == .unauthorized)
        }
    }

    @Test func theAdminCatalogNeedsTheAdminRole() async throws {
        try await TestApp.run { app, client in
            try await app.sql("UPDATE ai_models SET enabled = FALSE WHERE id = 'llama-3.1-8b'")
            let admin = try await client.call(.get, "/api/admin/models", token: try await app.token(testUser(1), admin: true))
            #expect(admin.status == .ok)
            #expect(admin.json["data"]?.array.count == Seed.models.count)
            #expect(admin.json["data"]?.array.filter { $0["kind"] == .string("chat") }.count == 7, "the seven chat models")
            #expect(admin.json["data"]?.array.contains { $0["id"] == .string("llama-3.1-8b") && $0["enabled"] == .bool(false) } == true)
            let user = try await client.call(.get, "/api/admin/models", token: try await app.token(testUser(2)))
            #expect(user.status == .forbidden && user.code == "forbidden")
        }
    }

    @Test func unknownRoutesAndBadBodiesAnswerProblemJSON() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(3))
            let missing = try await client.call(.get, "/api/nothing-here", token: token)
            #expect(missing.status == .notFound && missing.headers[.contentType] == "application/problem+json")
            let malformed = try await client.call(.patch, "/api/profile/model-preferences", token: token, json: "{\"defaultModelId\": 12}")
            #expect(malformed.status == .badRequest && malformed.code == "invalid_body")
            #expect(malformed.json["field"] == .string("defaultModelId"))
            let notJSON = try await client.call(.patch, "/api/profile/model-preferences", token: token, json: "{nope")
            #expect(notJSON.status == .badRequest && notJSON.code == "invalid_body")
            let huge = "{\"defaultModelId\": \"" + String(repeating: "x", count: 20_000) + "\"}"
            let tooLarge = try await client.call(.patch, "/api/profile/model-preferences", token: token, json: huge)
            #expect(tooLarge.status == .contentTooLarge && tooLarge.code == "body_too_large")
        }
    }
}
