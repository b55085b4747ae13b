import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
@testable import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
@testable import ModelgateChat
import ModelgateCore
@testable import ModelgateHTTP
import ModelgateKeys
import ModelgateProviders
@testable import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct FailoverTests {
    /// gpt-4o → claude-3-5-sonnet → gemini-pro-1.5, set by an admin through the API.
    static func setStandIns(_ app: TestApp, _ client: any TestClientProtocol) async throws {
        let admin = try await app.token(testUser(400), admin: true)
        let set = try await client.call(.put, "/api/admin/models/gpt-4o/stand-ins", token: admin,
                                        json: #"{"standIns": [{"modelId": "claude-3-5-sonnet"}, {"modelId": "gemini-pro-1.5"}]}"#)
        #expect(set.status == .ok && set.json["standIns"]?.array.count == 2, "\(set.json)")
    }

    /// A user (signed in once, so the profile exists) who bought or was granted `models`.
    static func user(_ number: Int, owning models: [ModelID], _ app: TestApp, _ client: any TestClientProtocol) async throws -> (UserID, String) {
        let user = testUser(number)
        let token = try await app.token(user)
        #expect(try await client.call(.get, "/api/me", token: token).status == .ok)
        for model in models { try await app.grant(model, to: user) }
        return (user, token)
    }

    static func usage(_ app: TestApp, _ user: UserID) async throws -> [ModelID: Int] {
        try await QuotaLedger(database: app.database).usage(of: user, on: QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key)
    }

    static func openAIRequests(_ fake: FakeProviderServer) -> Int { fake.requests.filter { $0.path.hasPrefix("/openai") }.count }

    static let gpt4oMessage = #"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o"}"#

    /// Five GPT-4o messages fail at OpenAI (three attempts each) and are answered by Sonnet: the circuit opens.
    static func openOpenAICircuit(_ fake: FakeProviderServer, _ client: any TestClientProtocol, token: String) async throws {
        var script: [FakeProviderServer.Scenario] = []
        for _ in 0..<5 { script += [.status(500), .status(500), .status(500), .reply("Hello there")] }
        fake.script(script)
        for _ in 0..<5 { #expect(try await client.chat(gpt4oMessage, token: token).meta?["modelId"] == "claude-3-5-sonnet") }
    }

    @Test(arguments: [Outage.status(500), .status(529), .timeout, .refused])
    func aMessageWhoseProviderFailsBeforeTheFirstTokenIsAnsweredByAStandInChargedOnce(_ outage: Outage) async throws {
        let refused = { if case .refused = outage { true } else { false } }()
        let slow = { if case .timeout = outage { true } else { false } }()
        try await withFailover(openAIRefused: refused, shortTimeouts: slow) { fake, app, client in
            try await Self.setStandIns(app, client)
            let (user, token) = try await Self.user(401, owning: ["gpt-4o", "claude-3-5-sonnet"], app, client)
            switch outage {
            case .status(let code): fake.script(.status(code), .status(code), .status(code))
            case .timeout: fake.script(.slowFirstByte(seconds: 2.5, then: "late"), .slowFirstByte(seconds: 2.5, then: "late"), .slowFirstByte(seconds: 2.5, then: "late"))
            case .refused: break
            }
            let reply = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o"}"#, token: token)
            #expect(reply.status == .ok, "\(outage): \(String(describing: reply.problem))")
            #expect(reply.meta?["modelId"] == "claude-3-5-sonnet" && reply.meta?["failoverFrom"] == "gpt-4o", "\(outage)")
            #expect(reply.text == "Hello there")
            // Charged once, to the stand-in's daily count; the model meant is unchanged.
            let usage = try await Self.usage(app, user)
            #expect(usage["claude-3-5-sonnet"] == 1 && (usage["gpt-4o"] ?? 0) == 0, "\(outage): \(usage)")
            let conversation = try #require(reply.meta?["conversationId"]?.stringValue)
            let turns = try await client.call(.get, "/api/conversations/\(conversation)", token: token).json["messages"]?.array ?? []
            #expect(turns.map { $0["failoverFrom"] } == ["gpt-4o", "gpt-4o"] && turns.map { $0["modelId"] } == ["claude-3-5-sonnet", "claude-3-5-sonnet"])
            // The settings page's history says so too.
            let settings = try await client.page(.get, "/settings", cookie: try await app.session(user, client: client))
            #expect(settings.html.contains("Claude 3.5 Sonnet<br><span class=\"muted small\" data-failover>standing in for GPT-4o, which was unavailable"))
            let metrics = series(app.metrics.exposition())
            #expect(metrics[#"modelgate_failovers_total{from="gpt-4o",to="claude-3-5-sonnet"}"#] == 1)
            let admin = try await app.token(testUser(400), admin: true)
            let counted = try await client.call(.get, "/api/admin/failovers", token: admin).json["data"]?.array ?? []
            #expect(counted.map { [$0["from"], $0["to"], $0["failovers"]] } == [["gpt-4o", "claude-3-5-sonnet", 1]])
        }
    }

    @Test func aUserWhoMayUseNoStandInGetsTheErrorAndIsChargedNothing() async throws {
        try await withFailover { fake, app, client in
            try await Self.setStandIns(app, client)
            // Not Sonnet, not Gemini: and a failover never spends a trial.
            let (user, token) = try await Self.user(402, owning: ["gpt-4o"], app, client)
            fake.script(.status(500), .status(500), .status(500))
            let reply = try await client.chat(#"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o"}"#, token: token)
            #expect(reply.status == .serviceUnavailable && reply.problem?["code"] == "provider_unavailable")
            #expect(try await Self.usage(app, user).values.allSatisfy { $0 == 0 })
            #expect(try await QuotaLedger(database: app.database).trialsUsed(by: user).values.allSatisfy { $0 == 0 })
            #expect(!fake.requests.contains { $0.path.hasPrefix("/anthropic") || $0.path.hasPrefix("/google") })
        }
    }

    @Test func theCallerCanSwitchFailoverOffOrNameItsOwnList() async throws {
        try await withFailover { fake, app, client in
            try await Self.setStandIns(app, client)
            let (user, token) = try await Self.user(403, owning: ["gpt-4o", "claude-3-5-sonnet"], app, client)
            func complete(_ body: String, headers: HTTPFields = [:]) async throws -> (HTTPResponse.Status, HTTPFields, JSONValue) {
                var fields = headers
                fields[.authorization] = "Bearer \(token)"
                fields[.contentType] = "application/json"
                return try await client.execute(uri: "/v1/chat/completions", method: .post, headers: fields, body: ByteBuffer(string: body)) {
                    ($0.status, $0.headers, (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body))) ?? .null)
                }
            }
            let message = #""messages": [{"role": "user", "content": "Hi"}]"#
            fake.script(.status(500), .status(500), .status(500))
            let off = try await complete(#"{"model": "gpt-4o", \#(message)}"#, headers: [.init("X-Modelgate-Failover")!: "off"])
            #expect(off.0 == .serviceUnavailable && off.2["error"]?["code"] == "provider_unavailable")
            fake.script(.status(500), .status(500), .status(500))
            let standard = try await complete(#"{"model": "gpt-4o", \#(message)}"#)
            #expect(standard.0 == .ok && standard.2["model"] == "claude-3-5-sonnet" && standard.2["failover_from"] == "gpt-4o")
            #expect(standard.1[.init("X-Modelgate-Failover-From")!] == "gpt-4o")
            // The caller's own list, within its rights: the free Haiku answers, Opus (not bought) is skipped.
            fake.script(.status(500), .status(500), .status(500))
            let own = try await complete(#"{"model": "gpt-4o", "models": ["gpt-4o", "claude-3-opus", "claude-3-5-haiku"], \#(message)}"#)
            #expect(own.0 == .ok && own.2["model"] == "claude-3-5-haiku" && own.2["failover_from"] == "gpt-4o", "\(own.2)")
            let unknown = try await complete(#"{"model": "gpt-4o", "models": ["gpt-9"], \#(message)}"#)
            #expect(unknown.0 == .unprocessableContent && unknown.2["error"]?["param"] == "models.0", "\(unknown.2)")
            let usage = try await Self.usage(app, user)
            #expect(usage["claude-3-5-sonnet"] == 1 && usage["claude-3-5-haiku"] == 1 && (usage["gpt-4o"] ?? 0) == 0, "\(usage)")
        }
    }

    @Test func anOpenCircuitSendsTheFailingProviderNothingUntilItsProbe() async throws {
        try await withFailover { fake, app, client in
            try await Self.setStandIns(app, client)
            let (_, token) = try await Self.user(404, owning: ["gpt-4o", "claude-3-5-sonnet"], app, client)
            try await Self.openOpenAICircuit(fake, client, token: token)
            #expect(Self.openAIRequests(fake) == 15)
            #expect(series(app.metrics.exposition())[#"modelgate_provider_circuit_openings_total{provider="openai"}"#] == 1)
            // Open: OpenAI gets nothing, Sonnet answers at once.
            for _ in 0..<3 { #expect(try await client.chat(Self.gpt4oMessage, token: token).meta?["modelId"] == "claude-3-5-sonnet") }
            #expect(Self.openAIRequests(fake) == 15)
            // After the cooldown one message probes OpenAI; it answers, so the circuit closes.
            app.clock.set(app.clock.now().addingTimeInterval(16))
            let probe = try await client.chat(Self.gpt4oMessage, token: token)
            #expect(probe.meta?["modelId"] == "gpt-4o" && probe.meta?["failoverFrom"] == nil)
            #expect(Self.openAIRequests(fake) == 16)
            #expect(try await client.chat(Self.gpt4oMessage, token: token).meta?["modelId"] == "gpt-4o")
            #expect(Self.openAIRequests(fake) == 17)
        }
    }

    /// Instances on one PostgreSQL share their circuits: each sync round publishes what this instance
    /// opened or closed and takes in the others' (every 500 ms when serving: visible within about a second).
    @Test(.enabled(if: TestDatabase.backend == .postgres, "instances share circuits through PostgreSQL"))
    func anotherInstanceSkipsAProviderOneFoundDownAndLearnsWhenItIsBack() async throws {
        try await withFailover { fake, app, client in
            try await Self.setStandIns(app, client)
            let (_, token) = try await Self.user(406, owning: ["gpt-4o", "claude-3-5-sonnet"], app, client)
            try await Self.openOpenAICircuit(fake, client, token: token)
            let first = app.services.chat.breaker
            #expect(first.openProviders == [.openai])
            // A second instance: its own breaker and sync, the same database.
            let second = CircuitBreaker(clock: app.clock)
            func sync(_ breaker: CircuitBreaker) async {
                await CircuitSync(breaker: breaker, circuits: ProviderCircuits(database: app.database), clock: app.clock,
                                  interval: .milliseconds(100), logger: TestDatabase.logger).syncOnce()
            }
            #expect(second.allows(.openai))
            await sync(first)
            await sync(second)
            #expect(second.openProviders == [.openai] && !second.allows(.openai))
            // After the cooldown the first instance's probe finds OpenAI back; the second learns it.
            app.clock.set(app.clock.now().addingTimeInterval(16))
            #expect(try await client.chat(Self.gpt4oMessage, token: token).meta?["modelId"] == "gpt-4o")
            await sync(first)
            await sync(second)
            #expect(second.openProviders.isEmpty && second.allows(.openai))
        }
    }

    @Test func twoHundredConcurrentMessagesDuringAnOutageAreEachAnsweredOrRefusedAndChargedOnce() async throws {
        try await withFailover(openAIRefused: true) { _, app, client in
            try await Self.setStandIns(app, client)
            let (user, token) = try await Self.user(405, owning: ["gpt-4o", "claude-3-5-sonnet"], app, client)
            let message = #"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o"}"#
            let replies = try await withThrowingTaskGroup(of: ChatResult.self) { group in
                for _ in 0..<200 { group.addTask { try await client.chat(message, token: token) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let answered = replies.filter { $0.status == .ok }
            #expect(answered.allSatisfy { $0.meta?["modelId"] == "claude-3-5-sonnet" && $0.meta?["failoverFrom"] == "gpt-4o" && $0.done != nil })
            // Refused: Sonnet's daily limit (50) reached, or GPT-4o's own while others held it during their failover.
            let refused = replies.filter { $0.status != .ok }
            #expect(refused.allSatisfy { [.serviceUnavailable, .tooManyRequests].contains($0.status) }, "\(refused.map(\.status))")
            let usage = try await Self.usage(app, user)
            #expect(usage["claude-3-5-sonnet"] == answered.count && answered.count <= 50 && (usage["gpt-4o"] ?? 0) == 0, "\(usage)")
            #expect(answered.count > 0)
        }
    }

    @Test func standInsAreValidatedAndAudited() async throws {
        try await TestApp.run { app, client in
            let admin = try await app.token(testUser(400), admin: true)
            func set(_ model: String, _ body: String) async throws -> Reply {
                try await client.call(.put, "/api/admin/models/\(model)/stand-ins", token: admin, json: body)
            }
            #expect(try await set("gpt-4o", #"{"standIns": [{"modelId": "claude-3-5-sonnet"}]}"#).status == .ok)
            let cycle = try await set("claude-3-5-sonnet", #"{"standIns": [{"modelId": "gpt-4o"}]}"#)
            #expect(cycle.status == .unprocessableContent && cycle.json["errors"]?[0]?["field"] == "standIns", "\(cycle.json)")
            try await app.sql("UPDATE ai_models SET enabled = FALSE WHERE id = 'claude-3-opus'")
            try await app.services.cache.refresh()
            let bad = try await set("gpt-4o-mini", #"{"standIns": [{"modelId": "gpt-4o-mini"}, {"modelId": "gpt-4o"}, {"modelId": "claude-3-opus"}, {"modelId": "nope"}]}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.json["errors"]?.array.compactMap { $0["field"]?.stringValue }
                == ["standIns.0.modelId", "standIns.1.modelId", "standIns.2.modelId", "standIns.2.modelId", "standIns.3.modelId"], "\(bad.json)")
            let marked = try await set("gpt-4o-mini", #"{"standIns": [{"modelId": "claude-3-5-haiku"}, {"modelId": "gpt-4o", "allowHigherTier": true}]}"#)
            #expect(marked.status == .ok)
            #expect(try await set("nope", #"{"standIns": []}"#).status == .notFound)
            let groups = try await client.call(.get, "/api/admin/failover-groups", token: admin).json["data"]?.array ?? []
            #expect(groups.map { $0["modelId"] } == ["gpt-4o-mini", "gpt-4o"])
            let audited = try await app.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'model.failover_changed'").first()?.decode(column: "n", as: Int.self)
            }
            #expect(audited == 2)
        }
    }
}
