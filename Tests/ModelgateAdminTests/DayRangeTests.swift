import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateTestSupport
import Testing

/// Every route that takes a `from`..`to` range checks it by arithmetic before any work: a range of
/// thousands of years is refused at once (building a day at a time took minutes).
@Suite(.timeLimit(.minutes(2))) struct DayRangeTests {
    static let ranged = [
        "/api/admin/margin", "/api/admin/failovers", "/api/admin/exports/margin.csv", "/api/admin/exports/usage.csv",
        "/api/admin/exports/purchases.csv", "/api/admin/exports/audit",
    ]

    @Test func aRangeOfThousandsOfYearsIsRefusedByEveryRangedRouteAndPage() async throws {
        try await TestApp.run { app, client in
            let admin = try await app.token(testUser(330), admin: true)
            for path in Self.ranged {
                let refused = try await client.call(.get, "\(path)?to=5496-11-01&from=2000-01-01", token: admin)
                #expect(refused.status == .unprocessableContent && refused.code == "validation_failed", "\(path)")
                let backwards = try await client.call(.get, "\(path)?from=2026-11-02&to=2026-11-01", token: admin)
                #expect(backwards.status == .unprocessableContent, "\(path)")
            }
            let cookie = try await app.session(testUser(331), admin: true, client: client)
            #expect(try await client.page(.get, "/admin/margin?to=6007-09-09", cookie: cookie).status == .unprocessableContent)
        }
    }

    @Test func theLongestRangesAreAnswered() async throws {
        try await TestApp.run { app, client in
            let admin = try await app.token(testUser(332), admin: true)
            // The app's clock is in November 2026: a year of margin, ten years of the rest.
            #expect(try await client.call(.get, "/api/admin/margin?from=2025-11-20&to=2026-11-20", token: admin).status == .ok)
            #expect(try await client.call(.get, "/api/admin/margin?from=2025-11-19&to=2026-11-20", token: admin).status == .unprocessableContent)
            #expect(try await client.call(.get, "/api/admin/failovers?from=2016-11-13&to=2026-11-20", token: admin).status == .ok)
            #expect(try await client.call(.get, "/api/admin/exports/usage.csv?from=2016-11-13&to=2026-11-20", token: admin).status == .ok)
            #expect(try await client.call(.get, "/api/admin/exports/usage.csv?from=2016-11-12&to=2026-11-20", token: admin).status
                == .unprocessableContent)
        }
    }
}
