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
import NIOCore
import SQLKit
import Testing

@Suite(.timeLimit(.minutes(5))) struct AdminStatisticsTests {
    @Test func theStatisticsOfAKnownScenarioMatchHandComputedFigures() async throws {
        try await TestApp.run { app, client in
            let scenario = StatisticsScenario()
            try await scenario.seed(app)
            let admin = try await app.adminToken()
            let detail = try await client.call(.get, "/api/admin/models/gpt-4o/stats", token: admin).json
            // Today 3 + 1; last 7 days 3 + 5 + 1 + 2; last 30 days adds 7, 4 and 9 (100 is 40 days old).
            #expect(detail["messagesToday"]?.int == 4)
            #expect(detail["messagesLast7Days"]?.int == 11)
            #expect(detail["messagesLast30Days"]?.int == 31)
            #expect(detail["activeUsersLast30Days"]?.int == 3)
            #expect(detail["averageMessagesPerUser"] == .number(10.33))
            #expect(detail["usersWithAccess"]?.int == 2)
            #expect(detail["purchases"]?.int == 2 && detail["grossRevenueCents"]?.int == 598)
            #expect(detail["refundedCents"]?.int == 299 && detail["revenueCents"]?.int == 299)
            #expect(detail["trialUsers"]?.int == 2 && detail["trialUsersWhoPurchased"]?.int == 1 && detail["trialConversionRate"] == .number(0.5))
            // Top users are ranked over all time (115 includes the message 40 days ago).
            #expect(detail["topUsers"]?.array.compactMap { $0["messages"]?.int } == [115, 9, 7])
            #expect(detail["topUsers"]?[0]?["userId"] == .string(scenario.users[0].description))

            // Asking again reads the closed days from the rollup: the figures stay the same.
            #expect(try await client.call(.get, "/api/admin/models/gpt-4o/stats", token: admin).json == detail)
            #expect(try await app.count("model_usage_rollup_days") == 28)
            let table = try await client.call(.get, "/api/admin/stats/models", token: admin).json["data"]?.array ?? []
            #expect(table.count == Seed.models.count, "every model, chat and embedding")
            let opus = try #require(table.first { $0["modelId"] == .string("claude-3-opus") })
            #expect(opus["messagesLast7Days"]?.int == 2 && opus["messagesToday"]?.int == 0 && opus["revenueCents"]?.int == 0)
            let gpt4o = table.first { $0["modelId"] == .string("gpt-4o") }
            #expect(gpt4o?["messagesLast30Days"]?.int == 31 && gpt4o?["messagesToday"]?.int == 4 && gpt4o?["topUsers"] == nil)
        }
    }

    @Test(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"))
    func theCSVExportsParseWithPythonIntoTheSameFigures() async throws {
        try await TestApp.run { app, client in
            try await StatisticsScenario().seed(app)
            let admin = try await app.adminToken()
            _ = try await client.call(.post, "/api/admin/models/gemini-pro-1.5/disable", token: admin)
            let window = StatisticsWindow(now: app.clock.now())
            func export(_ kind: String) async throws -> String {
                let csv = try await client.execute(uri: "/api/admin/exports/\(kind).csv?from=\(window.monthStart)&to=\(window.today)", method: .get,
                                                   headers: [.authorization: "Bearer \(admin)"]) { response in
                    #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
                    return String(buffer: response.body)
                }
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(kind)-\(UUID().uuidString).csv")
                try csv.write(to: file, atomically: true, encoding: .utf8)
                let result = try await PythonSDK.run([kind, file.path], script: "scripts/csv_totals.py")
                try? FileManager.default.removeItem(at: file)
                #expect(result.status == 0, "\(result.output)")
                return result.output
            }
            let usage = try JSONDecoder().decode(JSONValue.self, from: Data(try await export("usage").utf8))
            #expect(usage["gpt-4o"]?["messages"]?.int == 31 && usage["claude-3-opus"]?["messages"]?.int == 2)
            let purchases = try JSONDecoder().decode(JSONValue.self, from: Data(try await export("purchases").utf8))
            #expect(purchases["gpt-4o"] == .object(["completed": .number(299), "refunded": .number(299), "pending": .number(299), "failed": .number(299)]))
            let audit = try JSONDecoder().decode(JSONValue.self, from: Data(try await export("audit").utf8))
            #expect(audit[0]?["action"] == .string("model.disabled") && audit[0]?["after"] == .object(["enabled": .bool(false)]))
            let invalid = try await client.call(.get, "/api/admin/exports/usage?from=yesterday", token: admin)
            #expect(invalid.status == .unprocessableContent && invalid.json["field"] == .string("from"))
            #expect(try await client.call(.get, "/api/admin/exports/secrets", token: admin).status == .notFound)
        }
    }

    @Test func theUsageExportStreamsEveryPageInOrder() async throws {
        try await TestApp.run { app, client in
            let rows = ExportReader.pageSize * 2 + 17
            let window = StatisticsWindow(now: app.clock.now())
            try await app.database.transaction { db in
                for index in 0..<rows {
                    let user = testUser(10_000 + index)
                    try await db.raw("""
                        INSERT INTO profiles (id, email, role, timezone, created_at, updated_at)
                        VALUES (\(bind: user.description), NULL, 'user', 'UTC', \(bind: app.clock.now()), \(bind: app.clock.now()))
                        """).run()
                    let model = ["gpt-4o-mini", "claude-3-5-haiku", "llama-3.1-8b"][index % 3]
                    let day = StatisticsWindow(now: app.clock.now().addingTimeInterval(Double(-(index % 25)) * 86_400)).today
                    try await db.raw("""
                        INSERT INTO model_usage_daily (user_id, model_id, day, message_count) VALUES (\(bind: user.description), \(bind: model), \(bind: day), 1)
                        """).run()
                }
            }
            let csv = try await client.execute(uri: "/api/admin/exports/usage?from=\(window.monthStart)", method: .get,
                                               headers: [.authorization: "Bearer \(try await app.adminToken())"]) { String(buffer: $0.body) }
            let lines = csv.split(separator: "\r\n")
            #expect(lines.first == "day,model_id,messages,active_users")
            #expect(lines.dropFirst().map { Int($0.split(separator: ",")[2]) ?? 0 }.reduce(0, +) == rows)
            #expect(lines.count - 1 == 75 && lines.dropFirst().map { String($0.prefix(10)) } == lines.dropFirst().map { String($0.prefix(10)) }.sorted())
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct ActivityRollupTests {
    @Test func theLedgerKeepsPerUserActivityEqualToTheRawCountsThroughReleases() async throws {
        try await TestApp.run { app, _ in
            let ledger = QuotaLedger(database: app.database)
            var consumptions: [Consumption] = []
            for (offset, user) in [(0, 1), (0, 1), (1, 1), (3, 2), (3, 1)] {
                let day = StatisticsWindow(now: app.clock.now().addingTimeInterval(Double(offset) * 86_400)).today
                _ = try await app.services.profiles.findOrCreate(testUser(800 + user), email: nil, at: app.clock.now())
                if case .consumed(let consumption) = try await ledger.consume(QuotaCharge(
                    user: testUser(800 + user), model: "gpt-4o-mini", day: day, dailyLimit: nil, trialLimit: nil)) {
                    consumptions.append(consumption)
                }
            }
            try await ledger.release(consumptions[4])
            try await ledger.release(consumptions[3])
            let (kept, raw) = try await app.database.read { db in
                let kept = try await db.raw("SELECT user_id, messages, last_day FROM model_user_activity ORDER BY user_id").all()
                    .map { "\(try $0.decode(column: "user_id", as: String.self)) \(try $0.decode(column: "messages", as: Int.self)) \(try $0.decode(column: "last_day", as: String.self))" }
                let raw = try await db.raw("""
                    SELECT user_id, SUM(message_count) AS messages, MAX(CASE WHEN message_count > 0 THEN day END) AS last_day FROM model_usage_daily
                    GROUP BY user_id ORDER BY user_id
                    """).all()
                    .map { "\(try $0.decode(column: "user_id", as: String.self)) \(try $0.decode(column: "messages", as: Int.self)) \(try $0.decode(column: "last_day", as: String?.self) ?? "0000-00-00")" }
                return (kept, raw)
            }
            #expect(kept == raw && kept.count == 2)
        }
    }
}
