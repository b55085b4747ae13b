import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateProviders
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct QuotaHTTPTests {
    static let demo = TestApp.providers(fake: nil, demo: true)

    @Test func twoHundredConcurrentMessagesOnALimitOfFiftyGetExactlyFiftyReplies() async throws {
        try await TestApp.run(providers: Self.demo) { app, client in
            try await app.sql("UPDATE ai_models SET rate_limit_messages_per_day = 50 WHERE id = 'gpt-4o-mini'")
            let token = try await app.token(testUser(40))
            let results = try await withThrowingTaskGroup(of: ChatResult.self) { group in
                for _ in 0..<200 { group.addTask { try await client.chat(#"{"message": "Hi", "personaId": "career"}"#, token: token) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0.status == .ok && $0.done != nil }.count == 50)
            let limited = results.filter { $0.status == .tooManyRequests }
            #expect(limited.count == 150)
            #expect(limited.allSatisfy { $0.problem?["code"] == .string("rate_limited") && $0.problem?["resetAt"] == .string("2026-11-19T00:00:00Z") })
            let used = Set(results.compactMap { $0.meta?["usage"]?["used"]?.int })
            #expect(used == Set(1...50))
        }
    }

    @Test func rateLimitedAnswersCarryRetryAfterUntilTheUsersMidnight() async throws {
        try await TestApp.run(providers: Self.demo) { app, client in
            try await app.sql("UPDATE ai_models SET rate_limit_messages_per_day = 1 WHERE id = 'gpt-4o-mini'")
            let token = try await app.token(testUser(41))
            #expect(try await client.chat(#"{"message": "Hi", "personaId": "career"}"#, token: token).status == .ok)
            let response = try await client.execute(
                uri: "/api/chat", method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"message": "Hi", "personaId": "career"}"#)) { $0 }
            #expect(response.status == .tooManyRequests)
            let expected = Int(try Date("2026-11-19T00:00:00Z", strategy: .iso8601).timeIntervalSince(app.clock.now()).rounded(.up))
            #expect(response.headers[.retryAfter] == String(expected))
            let preview = try await client.call(.post, "/api/selection/preview", token: token, json: #"{"personaId": "career"}"#)
            #expect(preview.json["outcome"] == .string("rate_limited"))
        }
    }

    @Test func fiftyConcurrentTrialMessagesSpendExactlyTwoThenTrialExhausted() async throws {
        try await TestApp.run(providers: Self.demo) { app, client in
            let token = try await app.token(testUser(42))
            let results = try await withThrowingTaskGroup(of: ChatResult.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o"}"#, token: token) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let trials = results.filter { $0.status == .ok }
            #expect(trials.count == 2)
            #expect(trials.allSatisfy { $0.meta?["isTrialMessage"] == .bool(true) })
            #expect(Set(trials.compactMap { $0.meta?["trialMessagesRemaining"]?.int }) == [0, 1])
            #expect(results.filter { $0.status == .forbidden && $0.problem?["code"] == .string("trial_exhausted") }.count == 48)
            let status = try await client.call(.get, "/api/models/gpt-4o/trial-status", token: token)
            #expect(status.json["trialMessagesUsed"]?.int == 2 && status.json["trialMessagesRemaining"]?.int == 0)
        }
    }

    @Test func anEntitledUserSpendsNoTrialMessages() async throws {
        try await TestApp.run(providers: Self.demo) { app, client in
            let user = testUser(43)
            let token = try await app.token(user)
            _ = try await client.call(.get, "/api/me", token: token)
            try await app.database.transaction {
                try await EntitlementRepository.grant(
                    model: "claude-3-opus", to: user, source: .adminGrant, grantedBy: nil, at: app.clock.now(), in: $0)
            }
            for _ in 0..<3 {
                let result = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "claude-3-opus"}"#, token: token)
                #expect(result.meta?["paymentKind"] == .string("entitled"))
            }
            let status = try await client.call(.get, "/api/models/claude-3-opus/trial-status", token: token)
            #expect(status.json["trialMessagesUsed"]?.int == 0 && status.json["purchased"] == .bool(true))
            let models = try await client.call(.get, "/api/models", token: token)
            let opus = models.json["data"]?["premium"]?.array.first { $0["id"] == .string("claude-3-opus") }
            #expect(opus?["usageToday"]?["used"]?.int == 3)
            #expect(opus?["purchased"] == .bool(true))
        }
    }

    @Test(.enabled(if: TestDatabase.backend == .postgres, "two instances need a shared PostgreSQL"))
    func twoInstancesOnOnePostgreSQLShareTheLimitExactly() async throws {
        try await TestApp.run(providers: Self.demo, test: .live) { app, client in
            try await app.sql("UPDATE ai_models SET rate_limit_messages_per_day = 50 WHERE id = 'gpt-4o-mini'")
            // A second instance: its own connection pool, catalog cache and HTTP server, on the same database.
            let second = try await Database.open(app.databaseURL, logger: TestDatabase.logger)
            do {
                try await Self.fireAcrossTwoInstances(app: app, second: second, firstPort: try #require(client.port))
            } catch {
                await second.shutdown()
                throw error
            }
            await second.shutdown()
            let day = QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key
            #expect(try await QuotaLedger(database: app.database).usage(of: testUser(44), on: day)["gpt-4o-mini"] == 50)
        }
    }

    static func fireAcrossTwoInstances(app: TestApp, second: Database, firstPort: Int) async throws {
        let secondDependencies = TestApp.dependencies(database: second, providers: app.providers, clock: app.clock)
        let secondApp = buildApplication(
            configuration: ServerConfiguration(port: 0), dependencies: secondDependencies,
            services: try await Services(dependencies: secondDependencies), tokens: app.tokens)
        let token = try await app.token(testUser(44))
        try await secondApp.test(.live) { secondClient in
            let secondPort = try #require(secondClient.port)
            let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                for index in 0..<200 {
                    let port = index.isMultiple(of: 2) ? firstPort : secondPort
                    group.addTask { try await LoopbackChat.post(port: port, token: token) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 50)
            #expect(statuses.filter { $0 == 429 }.count == 150)
        }
    }
}
