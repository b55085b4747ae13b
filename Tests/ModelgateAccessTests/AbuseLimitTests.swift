import Foundation
import HTTPTypes
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
import ModelgateServer
import ModelgateTestSupport
import NIOConcurrencyHelpers
import SQLKit
import Testing

/// Attacks on capacity and cost by one user: floods of chats and checkouts, endless free
/// messages, huge prompts. Each refusal is a 429 (or 413) that costs nothing. (Idle and slow
/// connections: `scripts/connection_flood.py`, run by the test command.)
@Suite(.timeLimit(.minutes(5))) struct AbuseLimitTests {
    static let chat = #"{"message": "Hi", "personaId": "career"}"#

    /// An instance that died left its slot behind: it counts until it expires, then it does not,
    /// and the user's next finished call sweeps it away.
    @Test func aSlotLeftByADeadInstanceStopsCountingWhenItExpiresAndIsSweptAway() async throws {
        let limits = UserLimits(requestsPerMinute: nil, maxStreams: 1, checkoutsPerHour: nil, maxPromptBytes: nil)
        try await withFakeProviders(limits: limits) { _, app, client in
            let user = testUser(161)
            let token = try await app.token(user)
            #expect(try await client.chat(Self.chat, token: token).status == .ok)
            let expiry = app.clock.now().addingTimeInterval(60)
            try await app.sql("INSERT INTO user_streams (id, user_id, expires_at) VALUES ('dead-instance', \(bind: user.description), \(bind: expiry))")
            let refused = try await client.call(.post, "/api/chat", token: token, json: Self.chat)
            #expect(refused.status == .tooManyRequests && refused.code == "user_too_many_streams")
            app.clock.set(expiry.addingTimeInterval(1))
            #expect(try await client.chat(Self.chat, token: token).status == .ok)
            #expect(try await app.count("user_streams") == 0)
        }
    }

    /// Two instances on one database (on PostgreSQL, the scale-out case) share the user's count.
    /// Every call the limit admits is held open upstream until all 200 have been answered or have
    /// reached the provider, so the calls that reached it are the peak of open calls, on any machine.
    @Test func twoHundredConcurrentChatsFromOneUserRunAtMostTheStreamLimitAndTheRestAre429AndFree() async throws {
        let limits = UserLimits(requestsPerMinute: nil, maxStreams: 4, checkoutsPerHour: nil, maxPromptBytes: nil)
        try await withFakeProviders(patientProvider: true, limits: limits) { fake, app, firstClient in
            let token = try await app.token(testUser(160))
            var dependencies = TestApp.dependencies(database: app.database, providers: app.providers, clock: app.clock)
            dependencies.userLimits = limits
            let second = buildRouter(configuration: ServerConfiguration(), dependencies: dependencies,
                                     services: try await Services(dependencies: dependencies), tokens: app.tokens)
            // Any call that reaches the provider is held, however many the limit lets through.
            fake.script(Array(repeating: .heldUntilReleased(then: "Hello"), count: 200))
            let body = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            let answered = NIOLockedValueBox(0)
            try await Application(router: second).test(.router) { secondClient in
                let replies = try await withThrowingTaskGroup(of: Reply?.self) { group in
                    for index in 0..<200 {
                        let client: any TestClientProtocol = index % 2 == 0 ? firstClient : secondClient
                        group.addTask {
                            let reply = try await client.complete(key: token, body: body)
                            answered.withLockedValue { $0 += 1 }
                            return reply
                        }
                    }
                    group.addTask {
                        try await releaseHeldCalls(of: fake) { answered.withLockedValue { $0 } + fake.requests.count >= 200 }
                        return nil
                    }
                    return try await group.reduce(into: [Reply]()) { if let reply = $1 { $0.append(reply) } }
                }
                #expect(fake.peakHeld == 4, "the most calls open at once")
                #expect(replies.filter { $0.status == .ok }.count == 4)
                #expect(replies.filter { $0.status == .tooManyRequests && $0.json["error"]?["code"] == .string("user_too_many_streams") }.count == 196)
            }
            #expect(fake.requests.count == 4)
            let charged = try await app.database.read { db in
                try await db.raw("SELECT COALESCE(SUM(message_count), 0) AS n FROM model_usage_daily").first()?.decode(column: "n", as: Int.self)
            }
            #expect(charged == 4, "only the admitted calls are charged")
            #expect(try await app.count("analytics_outbox WHERE event = 'request_limit_hit'") == 196)
            #expect(try await app.count("user_streams") == 0, "every slot is freed when its stream ends")
        }
    }

    /// The limits belong to the chat routes themselves: a spelling of the path the router still
    /// answers (a trailing slash) is limited like the route, and so is every route the router has
    /// for a chat call, on either API.
    @Test(arguments: ["/api/chat/", "/api/chat", "/v1/chat/completions/"])
    func everySpellingOfAChatRouteIsLimited(path: String) async throws {
        var limits = UserLimits.off
        limits.requestsPerMinute = 1
        try await TestApp.run(limits: limits) { app, client in
            let token = try await app.token(testUser(166))
            let body = path.hasPrefix("/v1") ? #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"# : Self.chat
            #expect(try await client.call(.post, path, token: token, json: body).status == .ok)
            let refused = try await client.call(.post, path, token: token, json: body)
            #expect(refused.status == .tooManyRequests, "\(path)")
        }
    }

    @Test func aUserSendingFasterThanTheMinuteAllowsGets429WithRetryAfterAndIsNotCharged() async throws {
        var limits = UserLimits.off
        limits.requestsPerMinute = 3
        // The app's clock starts 40 s into a minute.
        try await TestApp.run(limits: limits) { app, client in
            let token = try await app.token(testUser(161)), other = try await app.token(testUser(162))
            for _ in 0..<3 { #expect(try await client.chat(Self.chat, token: token).status == .ok) }
            let refused = try await client.call(.post, "/api/chat", token: token, json: Self.chat)
            #expect(refused.status == .tooManyRequests && refused.code == "user_rate_limited")
            #expect(refused.headers[.retryAfter] == "20", "the minute window ends 20 s later")
            #expect(try await client.chat(Self.chat, token: other).status == .ok, "another user is not slowed")
            #expect(try await client.call(.get, "/api/me", token: token).status == .ok, "only chat routes count")
            let usage = try await client.call(.get, "/api/models", token: token)
            let mini = usage.json["data"]?["free"]?.array.first { $0["id"] == "gpt-4o-mini" }
            #expect(mini?["usageToday"]?["used"] == .number(3))
            app.clock.set(app.clock.now().addingTimeInterval(20))
            #expect(try await client.chat(Self.chat, token: token).status == .ok)
        }
    }

    @Test func checkoutSessionsPerUserPerHourAreCapped() async throws {
        var limits = UserLimits.off
        limits.checkoutsPerHour = 2
        try await withFakeStripe(limits: limits) { stripe, app, client in
            let token = try await app.token(testUser(163))
            for model in ["gpt-4o", "claude-3-opus"] {
                #expect(try await client.call(.post, "/api/models/\(model)/checkout", token: token).status == .ok)
            }
            let refused = try await client.call(.post, "/api/models/gemini-pro-1.5/checkout", token: token)
            #expect(refused.status == .tooManyRequests && refused.code == "checkout_rate_limited" && refused.headers[.retryAfter] != nil)
            #expect(try await app.count("purchases") == 2)
            #expect(stripe.writes.filter { $0 == "POST /v1/checkout/sessions" }.count == 2)
            app.clock.set(app.clock.now().addingTimeInterval(3600))
            #expect(try await client.call(.post, "/api/models/gemini-pro-1.5/checkout", token: token).status == .ok)
        }
    }

    @Test func freeModelsHaveADefaultDailyLimitThatIsUnlimitedOnlyWhenSetSoExplicitly() async throws {
        try await TestApp.run { app, client in
            let admin = try await app.adminToken(), token = try await app.token(testUser(164))
            let models = try await client.call(.get, "/api/models", token: token)
            let free = models.json["data"]?["free"]?.array ?? []
            #expect(free.filter { $0["kind"] == .string("chat") }.allSatisfy { $0["dailyMessageLimit"] == .number(200) }, "the seeded default")
            #expect(free.filter { $0["kind"] == .string("embedding") }.allSatisfy { $0["dailyMessageLimit"] == .number(1_000) }, "their own")
            #expect(try await client.call(.put, "/api/admin/settings/free-daily-limit", token: admin, json: "{}").status == .badRequest)
            #expect(try await client.call(.put, "/api/admin/settings/free-daily-limit", token: admin, json: #"{"limit": 0}"#).status == .unprocessableContent)
            let set = try await client.call(.put, "/api/admin/settings/free-daily-limit", token: admin, json: #"{"limit": 2}"#)
            #expect(set.status == .ok && set.json["limit"] == .number(2))
            for _ in 0..<2 { #expect(try await client.chat(Self.chat, token: token).status == .ok) }
            let limited = try await client.chat(Self.chat, token: token)
            #expect(limited.problem?["code"] == .string("rate_limited"))
            let unlimited = try await client.call(.put, "/api/admin/settings/free-daily-limit", token: admin, json: #"{"limit": null}"#)
            #expect(unlimited.status == .ok && unlimited.json["limit"] == .null)
            #expect(try await client.chat(Self.chat, token: token).status == .ok)
            #expect(try await app.auditActions(target: "free-daily-limit") == ["settings.free_daily_limit_changed", "settings.free_daily_limit_changed"])
        }
    }

    @Test func aHugePromptIsRefusedWholeBeforeAnyCharge() async throws {
        var limits = UserLimits.off
        limits.maxPromptBytes = 1000
        try await TestApp.run(limits: limits) { app, client in
            let token = try await app.token(testUser(165))
            let part = String(repeating: "a", count: 400)
            // Each message is short; together they are not (OpenAI clients send the whole history).
            let history = Array(repeating: #"{"role": "user", "content": "\#(part)"}"#, count: 3).joined(separator: ", ")
            let reply = try await client.complete(key: token, body: #"{"model": "gpt-4o-mini", "messages": [\#(history)]}"#)
            #expect(reply.status == .contentTooLarge && reply.json["error"]?["code"] == .string("prompt_too_large"))
            #expect(try await app.count("model_usage_daily") == 0)
            let fits = try await client.complete(key: token, body: #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "\#(part)"}]}"#)
            #expect(fits.status == .ok)
        }
    }

    @Test func aLongConversationIsReadPageByPageNeverAllAtOnce() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(166))
            let first = try await client.chat(Self.chat, token: token)
            let id = try #require(first.meta?["conversationId"]?.stringValue)
            for _ in 0..<4 {
                #expect(try await client.chat(#"{"message": "More", "personaId": "career", "conversationId": "\#(id)"}"#, token: token).status == .ok)
            }
            var seen: [Int] = []
            var before: Int?
            repeat {
                let page = try await client.call(.get, "/api/conversations/\(id)?limit=4" + (before.map { "&before=\($0)" } ?? ""), token: token)
                let ids = page.json["messages"]?.array.compactMap { $0["id"]?.int } ?? []
                #expect(ids.count <= 4 && ids == ids.sorted())
                seen = ids + seen
                before = page.json["nextBefore"]?.int
            } while before != nil
            #expect(seen.count == 10 && Set(seen).count == 10 && seen == seen.sorted())
            #expect(try await client.call(.get, "/api/conversations/\(id)?limit=100000", token: token).status == .unprocessableContent)
            #expect(try await client.call(.get, "/api/conversations/\(id)", token: try await app.token(testUser(167))).status == .notFound)
        }
    }
}
