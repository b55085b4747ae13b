import Foundation
import Hummingbird
import HummingbirdTesting
@testable import ModelgateAccess
@testable import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
@testable import ModelgateHTTP
import ModelgateKeys
@testable import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import SQLKit
import Testing

/// Cost per call and margin per model, checked against figures computed by hand from the seeded list
/// prices (US dollars per million tokens = micro-dollars per token):
///
/// | model | call(s) | tokens (in / cached / cache write / out, thoughts) | cost, micro-dollars |
/// |---|---|---|---|
/// | gemini-pro-1.5 (google) | 2 | 1,000 / 200 / 0 / 500, 100 | 2 × ⌈800×1.25 + 200×0.3125 + 500×5⌉ = 2 × ⌈3,562.5⌉ = 7,126 |
/// | gpt-4o (openai) | 1 | 2,000 / 0 / 0 / 1,000 | 2,000×2.5 + 1,000×10 = 15,000 |
/// | gpt-4o-mini (openai) | 1 | 10,000 / 4,000 / 0 / 2,000 | 6,000×0.15 + 4,000×0.075 + 2,000×0.6 = 2,400 |
/// | claude-3-5-haiku (anthropic) | 1 | 5,000 / 1,000 / 2,000 / 1,000 | 2,000×0.8 + 1,000×0.08 + 2,000×1 + 1,000×4 = 7,680 |
/// | llama-3.1-8b (together) | 1 | 3,000 / 0 / 0 / 3,000 | 6,000×0.18 = 1,080 |
///
/// Revenue as booked: gemini-pro-1.5 bought for $2.99 (2,990,000 micro-dollars); gpt-4o bought and
/// refunded the same day (0). Margins: gemini 2,982,874; gpt-4o −15,000; the free ones −cost.
@Suite(.timeLimit(.minutes(5))) struct CostMarginTests {
    struct Expected {
        let model: String
        let messages: Int
        let tokens: Int
        let costMicros: Int
        let revenueCents: Int
        var marginMicros: Int { revenueCents * 10_000 - costMicros }
    }

    static let expected = [
        Expected(model: "gpt-4o-mini", messages: 1, tokens: 12_000, costMicros: 2_400, revenueCents: 0),
        Expected(model: "claude-3-5-haiku", messages: 1, tokens: 6_000, costMicros: 7_680, revenueCents: 0),
        Expected(model: "llama-3.1-8b", messages: 1, tokens: 6_000, costMicros: 1_080, revenueCents: 0),
        Expected(model: "gpt-4o", messages: 1, tokens: 3_000, costMicros: 15_000, revenueCents: 0),
        Expected(model: "gemini-pro-1.5", messages: 2, tokens: 3_000, costMicros: 7_126, revenueCents: 299),
    ]

    /// Buys `model` through the fake Stripe and the signed webhook.
    static func buy(_ model: String, user: UserID, token: String, event: String, intent: String, app: TestApp, client: any TestClientProtocol) async throws {
        let checkout = try await client.call(.post, "/api/models/\(model)/checkout", token: token)
        let session = try #require(checkout.json["sessionId"]?.stringValue)
        let paid = StripeEvents.session("checkout.session.completed", id: event, session: session, user: user, model: model, intent: intent)
        #expect(try await client.deliver(paid, signature: app.sign(paid)).json["outcome"] == .string("granted"))
    }

    static func send(_ model: String, counting usage: FakeUsage, token: String, fake: FakeProviderServer, client: any TestClientProtocol) async throws -> ChatResult {
        fake.script(.replyCounting("Noted, let us go on", usage))
        let reply = try await client.chat(#"{"message": "Plan my week", "personaId": "career", "modelId": "\#(model)"}"#, token: token)
        #expect(reply.status == .ok && reply.done != nil, "\(model): \(reply.status) \(String(describing: reply.problem))")
        return reply
    }

    /// The scenario: three users, two purchases (one refunded), messages on all four providers.
    static func runScenario(_ fake: FakeProviderServer, _ app: TestApp, _ client: any TestClientProtocol) async throws {
        let (ana, ben, cleo) = (testUser(301), testUser(302), testUser(303))
        let anaToken = try await app.token(ana), benToken = try await app.token(ben), cleoToken = try await app.token(cleo)
        try await buy("gemini-pro-1.5", user: ana, token: anaToken, event: "evt_ana", intent: "pi_ana", app: app, client: client)
        for _ in 0..<2 {
            let reply = try await send("gemini-pro-1.5", counting: FakeUsage(input: 1_000, output: 500, cached: 200, thoughts: 100),
                                       token: anaToken, fake: fake, client: client)
            #expect(reply.done?["costMicros"] == 3_563)
            #expect(reply.done?["usage"]?["reasoningTokens"] == 100 && reply.done?["usage"]?["estimated"] == false)
        }
        try await buy("gpt-4o", user: ben, token: benToken, event: "evt_ben", intent: "pi_ben", app: app, client: client)
        _ = try await send("gpt-4o", counting: FakeUsage(input: 2_000, output: 1_000), token: benToken, fake: fake, client: client)
        let refund = StripeEvents.refund(id: "evt_ben_refund", intent: "pi_ben")
        #expect(try await client.deliver(refund, signature: app.sign(refund)).json["outcome"] == .string("refunded"))
        _ = try await send("gpt-4o-mini", counting: FakeUsage(input: 10_000, output: 2_000, cached: 4_000), token: cleoToken, fake: fake, client: client)
        let haiku = try await send("claude-3-5-haiku", counting: FakeUsage(input: 5_000, output: 1_000, cached: 1_000, cacheWrite: 2_000),
                                   token: cleoToken, fake: fake, client: client)
        #expect(haiku.done?["usage"]?["cacheWriteTokens"] == 2_000 && haiku.done?["costMicros"] == 7_680)
        _ = try await send("llama-3.1-8b", counting: FakeUsage(input: 3_000, output: 3_000), token: cleoToken, fake: fake, client: client)
    }

    @Test func aScenarioOnAllFourProvidersGivesTheHandComputedCostRevenueAndMarginInTheAPIThePageAndTheCSV() async throws {
        try await withFakeProvidersAndStripe { fake, app, client in
            try await Self.runScenario(fake, app, client)
            let admin = try await app.token(testUser(300), admin: true)
            let report = try await client.call(.get, "/api/admin/margin", token: admin).json
            let models = report["models"]?.array ?? []
            for want in Self.expected {
                let got = try #require(models.first { $0["modelId"] == .string(want.model) }, "\(want.model)")
                #expect(got["messages"]?.int == want.messages, "\(want.model)")
                #expect(got["calls"]?.int == want.messages, "\(want.model)")
                #expect((got["inputTokens"]?.int ?? 0) + (got["outputTokens"]?.int ?? 0) == want.tokens, "\(want.model)")
                #expect(got["costMicros"]?.int == want.costMicros, "\(want.model)")
                #expect(got["revenueCents"]?.int == want.revenueCents, "\(want.model)")
                #expect(got["marginMicros"]?.int == want.marginMicros, "\(want.model)")
            }
            #expect(report["totals"]?["costMicros"]?.int == 33_286)
            #expect(report["totals"]?["marginMicros"]?.int == 2_990_000 - 33_286)
            #expect(report["totals"]?["estimatedCalls"]?.int == 0)
            // Ben's one GPT-4o call cost most (and he was refunded), then Cleo's three free calls, then Ana's two.
            let spenders = report["topSpenders"]?.array ?? []
            #expect(spenders.map { $0["userId"]?.stringValue } == [testUser(302), testUser(303), testUser(301)].map(\.description))
            #expect(spenders.map { $0["costMicros"]?.int } == [15_000, 11_160, 7_126])
            #expect(spenders.first { $0["userId"] == .string(testUser(301).description) }?["revenueCents"] == 299)
            #expect(spenders.first { $0["userId"] == .string(testUser(302).description) }?["revenueCents"] == 0)

            // The CSV has the same figures, one row per day and model.
            let csv = try await client.execute(uri: "/api/admin/exports/margin.csv", method: .get, headers: [.authorization: "Bearer \(admin)"]) {
                String(buffer: $0.body)
            }
            let lines = csv.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            #expect(lines.first == ExportKind.margin.header)
            for want in Self.expected {
                let row = try #require(lines.first { $0.count == 12 && $0[1] == want.model }, "\(want.model)")
                #expect(Int(row[2]) == want.messages && Int(row[9]) == want.costMicros && Int(row[10]) == want.revenueCents
                    && Int(row[11]) == want.marginMicros, "\(row)")
            }

            // The admin page's table shows them too.
            let session = try await app.session(testUser(300), admin: true, client: client)
            let page = try await client.page(.get, "/admin/margin", cookie: session)
            #expect(page.status == .ok)
            for want in Self.expected {
                let row = try #require(Self.tableRow(want.model, in: page.html), "\(want.model)")
                #expect(row.contains("data-cost>\(ChartUnit.microdollars.format(want.costMicros))<"), "\(want.model): \(row)")
                #expect(row.contains("data-margin>\(ChartUnit.microdollars.format(want.marginMicros))<")
                    || row.contains("data-margin class=\"loss\">\(ChartUnit.microdollars.format(want.marginMicros))<"), "\(want.model): \(row)")
            }
        }
    }

    @Test func changingAPriceChangesOnlyLaterTurnsCost() async throws {
        try await withFakeProvidersAndStripe { fake, app, client in
            let token = try await app.token(testUser(310))
            let admin = try await app.token(testUser(300), admin: true)
            let usage = FakeUsage(input: 1_000, output: 1_000)
            // 1,000 × $0.15 + 1,000 × $0.60 per million = 750 micro-dollars.
            let before = try await Self.send("gpt-4o-mini", counting: usage, token: token, fake: fake, client: client)
            #expect(before.done?["costMicros"] == 750)
            let conversation = try #require(before.meta?["conversationId"]?.stringValue)
            app.clock.set(app.clock.now().addingTimeInterval(60))
            let changed = try await client.call(.patch, "/api/admin/models/gpt-4o-mini", token: admin, json: """
                {"prices": {"inputMicrosPerMillion": 1000000, "outputMicrosPerMillion": 2000000, "cachedInputMicrosPerMillion": 500000}}
                """)
            #expect(changed.status == .ok && changed.json["prices"]?["inputMicrosPerMillion"] == 1_000_000)
            // 1,000 × $1 + 1,000 × $2 = 3,000.
            fake.script(.replyCounting("Again", usage))
            let after = try await client.chat(#"{"message": "More", "personaId": "career", "modelId": "gpt-4o-mini", "conversationId": "\#(conversation)"}"#, token: token)
            #expect(after.done?["costMicros"] == 3_000)
            let turns = try await client.call(.get, "/api/conversations/\(conversation)", token: token).json["messages"]?.array ?? []
            #expect(turns.filter { $0["role"] == "assistant" }.map { $0["costMicros"]?.int } == [750, 3_000])
            let history = try await client.call(.get, "/api/admin/models/gpt-4o-mini/prices", token: admin).json["data"]?.array ?? []
            #expect(history.map { $0["prices"]?["inputMicrosPerMillion"]?.int } == [1_000_000, 150_000])
            #expect(history.first?["source"] == .string("set by \(testUser(300))"))
            let report = try await client.call(.get, "/api/admin/margin", token: admin).json
            #expect(report["models"]?.array.first { $0["modelId"] == "gpt-4o-mini" }?["costMicros"] == 3_750)
            let audited = try await app.database.read { db in
                try await db.raw("SELECT after_value FROM audit_log WHERE action = 'model.updated'").all().map { try $0.decode(column: "after_value", as: String.self) }
            }
            #expect(audited.count == 1 && audited.first?.contains("\"inputMicrosPerMillion\":1000000") == true)
            // A negative or absurd price is refused, naming the field; removing prices is refused.
            let invalid = try await client.call(.patch, "/api/admin/models/gpt-4o-mini", token: admin, json: """
                {"prices": {"inputMicrosPerMillion": -1, "outputMicrosPerMillion": 2000000, "cachedInputMicrosPerMillion": 99000000000}}
                """)
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.json["errors"]?.array.compactMap { $0["field"]?.stringValue }
                == ["prices.inputMicrosPerMillion", "prices.cachedInputMicrosPerMillion"])
            let removed = try await client.call(.patch, "/api/admin/models/gpt-4o-mini", token: admin, json: #"{"prices": null}"#)
            #expect(removed.status == .unprocessableContent && removed.json["errors"]?[0]?["field"] == "prices")
        }
    }

    @Test func closedDaysAreRolledUpExactlyAsTheRawRowsSay() async throws {
        try await withFakeProvidersAndStripe { fake, app, client in
            try await Self.runScenario(fake, app, client)
            let day = QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key
            let raw = try await app.database.read { db in
                try await db.raw("""
                    SELECT model_id, SUM(message_count) AS messages, CAST(SUM(calls) AS BIGINT) AS calls, CAST(SUM(input_tokens) AS BIGINT) AS input, CAST(SUM(output_tokens) AS BIGINT) AS output,
                        CAST(SUM(cached_input_tokens) AS BIGINT) AS cached, CAST(SUM(cache_write_tokens) AS BIGINT) AS written, CAST(SUM(cost_micros) AS BIGINT) AS cost
                    FROM model_usage_daily WHERE day = \(bind: day) GROUP BY model_id
                    """).all().map { row in
                    (try row.decode(column: "model_id", as: String.self),
                     [try row.decode(column: "messages", as: Int.self), try row.decode(column: "calls", as: Int.self),
                      try row.decode(column: "input", as: Int.self), try row.decode(column: "output", as: Int.self),
                      try row.decode(column: "cached", as: Int.self), try row.decode(column: "written", as: Int.self),
                      try row.decode(column: "cost", as: Int.self)])
                }
            }
            #expect(raw.count == 5)
            // Three days on, the scenario's day is closed: read from the rollup, it must say the same.
            app.clock.set(app.clock.now().addingTimeInterval(3 * 86_400))
            let admin = try await app.token(testUser(300), admin: true)
            let report = try await client.call(.get, "/api/admin/margin?from=\(day)&to=\(day)", token: admin).json
            let rolled = try await app.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM model_usage_rollup WHERE day = \(bind: day)").first()?.decode(column: "n", as: Int.self)
            }
            #expect(rolled == 5)
            for (model, figures) in raw {
                let row = try #require(report["days"]?.array.first { $0["day"] == .string(day) && $0["modelId"] == .string(model) }, "\(model)")
                let read = ["messages", "calls", "inputTokens", "outputTokens", "cachedInputTokens", "cacheWriteTokens", "costMicros"].map { row[$0]?.int ?? -1 }
                #expect(read == figures, "\(model)")
            }
            // A range that is too long or backwards is refused.
            let backwards = try await client.call(.get, "/api/admin/margin?from=\(day)&to=2020-01-01", token: admin)
            #expect(backwards.status == .unprocessableContent)
            // The CSV checks its range before it starts: a problem with a status, not a cut stream.
            let tooLong = try await client.call(.get, "/api/admin/exports/margin.csv?from=2000-01-01", token: admin)
            #expect(tooLong.status == .unprocessableContent && tooLong.code == "validation_failed")
        }
    }

    /// `/v1` calls store no turn: their tokens, cost and event are settled on their own (on PostgreSQL
    /// in one statement), streamed or not, and a cut stream is settled as an estimate.
    @Test func openAICallsAreSettledWithTheirCostAndEvent() async throws {
        try await withFakeProvidersAndStripe { fake, app, client in
            let user = testUser(320)
            let token = try await app.token(user)
            func complete(stream: Bool) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: "/v1/chat/completions", method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                    body: ByteBuffer(string: #"{"model": "claude-3-5-haiku", "stream": \#(stream), "messages": [{"role": "user", "content": "Hi"}]}"#)
                ) { ($0.status, String(buffer: $0.body)) }
            }
            // 5,000 in (1,000 read from the cache, 2,000 written to it), 1,000 out: 7,680 micro-dollars, as in the scenario.
            fake.script(.replyCounting("One", FakeUsage(input: 5_000, output: 1_000, cached: 1_000, cacheWrite: 2_000)))
            let unary = try await complete(stream: false)
            #expect(unary.0 == .ok && unary.1.contains(#""cost_micros":7680"#) && unary.1.contains(#""estimated":false"#), "\(unary.1)")
            fake.script(.replyCounting("Two", FakeUsage(input: 5_000, output: 1_000, cached: 1_000, cacheWrite: 2_000)))
            #expect(try await complete(stream: true).0 == .ok)
            // Cut after two pieces: the provider reported no usage, so the call is estimated from the
            // text (characters / 4), counted and marked as such.
            fake.script(.cutAfter(deltas: 2))
            #expect(try await complete(stream: true).0 == .ok)
            let day = QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key
            let row = try await app.database.read { db in
                try await db.raw("""
                    SELECT calls, estimated_calls, cost_micros, cache_write_tokens, message_count FROM model_usage_daily
                    WHERE user_id = \(bind: user.description) AND model_id = 'claude-3-5-haiku' AND day = \(bind: day)
                    """).first()
            }
            #expect(try row?.decode(column: "calls", as: Int.self) == 3)
            #expect(try row?.decode(column: "estimated_calls", as: Int.self) == 1)
            #expect(try row?.decode(column: "cache_write_tokens", as: Int.self) == 4_000)
            #expect(try row?.decode(column: "message_count", as: Int.self) == 3)
            let cost = try #require(try row?.decode(column: "cost_micros", as: Int.self))
            #expect(cost > 2 * 7_680, "the cut call costs something too")
            let events = try await OutboxRepository(database: app.database).recent(limit: 50).filter { $0.event == "model_message_completed" }
            #expect(events.map { $0.properties["isEstimated"] } == [false, false, true])
            #expect(events.compactMap { $0.properties["modelCost"]?.int }.reduce(0, +) == cost)
            let spent = try await app.database.read { db in
                try await db.raw("SELECT cost_micros, reserved_micros FROM user_spend_daily WHERE user_id = \(bind: user.description)").first()
            }
            #expect(try spent?.decode(column: "cost_micros", as: Int.self) == cost)
            #expect(try spent?.decode(column: "reserved_micros", as: Int.self) == 0)
        }
    }

    /// A reply length no provider gives is refused before anything is charged (and before any budget
    /// arithmetic could overflow); provider counts, however large, cost at most a saturated figure.
    @Test func anImpossibleReplyLengthIsRefusedAndHugeCountsNeverTrap() async throws {
        try await withFakeProvidersAndStripe { fake, app, client in
            let token = try await app.token(testUser(330))
            let huge = try await client.call(.post, "/v1/chat/completions", token: token,
                                             json: #"{"model": "gpt-4o-mini", "max_tokens": 9223372036854775807, "messages": [{"role": "user", "content": "Hi"}]}"#)
            #expect(huge.status == .badRequest && huge.json["error"]?["param"] == "max_tokens", "\(huge.json)")
            let chat = try await client.chat(#"{"message": "Hi", "personaId": "career", "maxTokens": 1000001}"#, token: token)
            #expect(chat.status == .badRequest && chat.problem?["field"] == "maxTokens")
            #expect(fake.requests.isEmpty)
            let prices = try #require(app.services.cache.catalog.model("claude-3-opus")?.prices)
            #expect(prices.cost(of: TurnTokens(inputTokens: Int.max, outputTokens: Int.max)) == Int.max / 1_000_000)
        }
    }

    /// The `<tr data-model="…">` row of the margin page's table.
    static func tableRow(_ model: String, in html: String) -> String? {
        guard let start = html.range(of: "<tr data-model=\"\(model)\">") else { return nil }
        guard let end = html.range(of: "</tr>", range: start.upperBound..<html.endIndex) else { return nil }
        return String(html[start.lowerBound..<end.upperBound])
    }
}
