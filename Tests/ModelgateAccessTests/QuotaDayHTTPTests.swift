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
import ModelgateTestSupport
import Testing

private func instant(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

@Suite(.timeLimit(.minutes(5))) struct QuotaDayHTTPTests {
    @Test func eachUserResetsAtTheirOwnMidnightAndYesterdayStays() async throws {
        // 14:30 UTC: 23:30 in Tokyo, 06:30 (PST) in Los Angeles.
        try await TestApp.run(at: instant("2026-01-15T14:30:00Z")) { app, client in
            let tokyo = testUser(20), losAngeles = testUser(21)
            for (user, zone) in [(tokyo, "Asia/Tokyo"), (losAngeles, "America/Los_Angeles")] {
                let token = try await app.token(user)
                _ = try await client.call(.get, "/api/me", token: token)
                try await app.database.write {
                    try await $0.raw("UPDATE profiles SET timezone = \(bind: zone) WHERE id = \(bind: user.description)").run()
                }
                _ = try await app.admit(user, explicit: "gpt-4o")
            }
            func used(_ user: UserID) async throws -> (Int?, String?) {
                let models = try await client.call(.get, "/api/models", token: try await app.token(user))
                let usage = models.json["data"]?["premium"]?[0]?["usageToday"]
                return (usage?["used"]?.int, usage?["resetAt"]?.stringValue)
            }
            #expect(try await used(tokyo) == (1, "2026-01-15T15:00:00Z"))
            #expect(try await used(losAngeles) == (1, "2026-01-16T08:00:00Z"))

            app.clock.set(instant("2026-01-15T15:00:01Z")) // past Tokyo's midnight only
            #expect(try await used(tokyo) == (0, "2026-01-16T15:00:00Z"))
            #expect(try await used(losAngeles) == (1, "2026-01-16T08:00:00Z"))

            _ = try await app.admit(tokyo, explicit: "gpt-4o")
            #expect(try await used(tokyo) == (1, "2026-01-16T15:00:00Z"))

            app.clock.set(instant("2026-01-16T08:00:00Z")) // Los Angeles' midnight
            #expect(try await used(losAngeles) == (0, "2026-01-17T08:00:00Z"))

            let rows = try await app.database.read {
                try await $0.raw("SELECT day, message_count FROM model_usage_daily WHERE user_id = \(bind: tokyo.description) ORDER BY day").all()
            }
            #expect(try rows.map { try $0.decode(column: "day", as: String.self) } == ["2026-01-15", "2026-01-16"])
        }
    }

    @Test func changingTimeZoneWaitsForTheNextMidnight() async throws {
        try await TestApp.run(at: instant("2026-01-15T20:00:00Z")) { app, client in
            let token = try await app.token(testUser(22))
            let bad = try await client.call(.patch, "/api/profile", token: token, json: #"{"timezone": "Mars/Olympus"}"#)
            #expect(bad.status == .unprocessableContent && bad.code == "invalid_timezone")
            _ = try await app.admit(testUser(22), explicit: "gpt-4o")
            // In Tokyo it is already the 16th: switching now would open a fresh day.
            let changed = try await client.call(.patch, "/api/profile", token: token, json: #"{"timezone": "Asia/Tokyo"}"#)
            #expect(changed.status == .ok)
            #expect(changed.json["timezone"] == .string("UTC"))
            #expect(changed.json["pendingTimezone"] == .string("Asia/Tokyo"))
            #expect(changed.json["pendingTimezoneFrom"] == .string("2026-01-16T00:00:00Z"))
            let today = try await client.call(.get, "/api/models", token: token)
            #expect(today.json["data"]?["premium"]?[0]?["usageToday"]?["used"]?.int == 1)

            app.clock.set(instant("2026-01-16T00:00:00Z"))
            let tomorrow = try await client.call(.get, "/api/models", token: token)
            #expect(tomorrow.json["data"]?["premium"]?[0]?["usageToday"]?["used"]?.int == 0)
            #expect(tomorrow.json["data"]?["premium"]?[0]?["usageToday"]?["resetAt"] == .string("2026-01-16T15:00:00Z"))
        }
    }
}
