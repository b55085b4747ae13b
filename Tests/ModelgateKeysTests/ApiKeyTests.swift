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
import ModelgateStore
import ModelgateTestSupport
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Testing

@Suite(.timeLimit(.minutes(5))) struct ApiKeyTests {
    static let premium = #"{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}"#

    @Test func oneServiceKeyKeepsEachEndUsersTrialsQuotasAndHistoryApart() async throws {
        try await withFakeProviders { _, app, client in
            let key = try await app.createKey(client, #"{"name": "backend", "kind": "service", "app": "coach-app"}"#)
            #expect(key.hasPrefix("mg_live_"))
            let alice: HTTPFields = [.init("X-Modelgate-User")!: "alice"]
            for _ in 0..<2 { #expect(try await client.complete(key: key, body: Self.premium, headers: alice).status == .ok) }
            let exhausted = try await client.complete(key: key, body: Self.premium, headers: alice)
            #expect(exhausted.status == .forbidden && exhausted.json["error"]?["code"] == .string("trial_exhausted"))
            // Bob (named by OpenAI's `user` field) has his own two trial messages.
            let bob = #"{"model": "gpt-4o", "user": "bob", "messages": [{"role": "user", "content": "Hi"}]}"#
            for _ in 0..<2 { #expect(try await client.complete(key: key, body: bob).status == .ok) }
            #expect(try await client.complete(key: key, body: bob).json["error"]?["code"] == .string("trial_exhausted"))
            #expect(try await app.endUser("alice") != app.endUser("bob"))
            // Another app's "alice" is another person.
            let other = try await app.createKey(client, #"{"name": "other", "kind": "service", "app": "other-app"}"#)
            #expect(try await client.complete(key: other, body: Self.premium, headers: alice).status == .ok)
            #expect(try await app.count("end_users") == 3)
        }
    }

    @Test func aPurchaseByOneEndUserUnlocksNothingForAnother() async throws {
        try await withFakeStripe { _, app, client in
            let key = try await app.createKey(client, #"{"name": "backend", "kind": "service", "app": "coach-app"}"#)
            func call(_ method: HTTPRequest.Method, _ path: String, as user: String) async throws -> Reply {
                try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(key)", .init("X-Modelgate-User")!: user]) {
                    Reply(status: $0.status, headers: $0.headers, json: (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body))) ?? .null)
                }
            }
            let checkout = try await call(.post, "/api/models/claude-3-opus/checkout", as: "alice")
            let session = try #require(checkout.json["sessionId"]?.stringValue)
            let alice = try await app.endUser("alice")
            let paid = StripeEvents.session("checkout.session.completed", id: "evt_\(session)", session: session, user: alice, model: "claude-3-opus", amount: 499)
            #expect(try await client.deliver(paid, signature: app.sign(paid)).json["outcome"] == .string("granted"))
            func purchased(_ user: String) async throws -> JSONValue? {
                try await call(.get, "/api/models", as: user).json["data"]?["premium"]?.array.first { $0["id"] == .string("claude-3-opus") }?["purchased"]
            }
            #expect(try await purchased("alice") == .bool(true))
            #expect(try await purchased("bob") == .bool(false))
        }
    }

    @Test func aServiceSignsItsEndUserInOnceWithAShortLivedLink() async throws {
        try await withFakeProviders { _, app, client in
            let key = try await app.createKey(client, #"{"name": "backend", "kind": "service", "app": "coach-app"}"#)
            let made = try await client.execute(uri: "/api/keys/self/sign-in-links", method: .post,
                                                headers: [.authorization: "Bearer \(key)", .contentType: "application/json"],
                                                body: ByteBuffer(string: #"{"user": "alice"}"#)) {
                (status: $0.status, json: (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body))) ?? .null)
            }
            #expect(made.status == .created)
            let url = try #require(made.json["url"]?.stringValue)
            let path = try #require(url.range(of: "/login?link=").map { String(url[$0.lowerBound...]) })
            let signedIn = try await client.confirmSignIn(path)
            #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/settings")
            let cookie = try #require(signedIn.cookie("modelgate_session"))
            #expect(try await client.page(.get, "/settings", cookie: cookie).status == .ok)
            #expect(try await client.call(.get, "/api/me", cookie: cookie).json["id"] == .string(try await app.endUser("alice").description))
            // Single use.
            #expect(try await client.page(.get, path).status == .unauthorized)
            // Short-lived.
            let later = try await client.execute(uri: "/api/keys/self/sign-in-links", method: .post,
                                                 headers: [.authorization: "Bearer \(key)", .init("X-Modelgate-User")!: "bob"]) {
                (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body)))?["url"]?.stringValue ?? ""
            }
            app.clock.set(app.clock.now().addingTimeInterval(601))
            let expired = try #require(later.range(of: "/login?link=").map { String(later[$0.lowerBound...]) })
            #expect(try await client.page(.get, expired).status == .unauthorized)
            // A user key or a JWT cannot make one.
            _ = try await client.call(.get, "/api/me", token: try await app.token(testUser(902), email: "me@example.com"))
            let userKey = try await app.createKey(client, #"{"name": "script", "kind": "user", "user": "me@example.com"}"#)
            #expect(try await client.call(.post, "/api/keys/self/sign-in-links", token: userKey).status == .forbidden)
            #expect(try await client.call(.post, "/api/keys/self/sign-in-links", token: try await app.token(testUser(903))).status == .forbidden)
        }
    }

    @Test func aBackgroundCallSpendsTheKeysTaskBudgetNeverTheEndUsersMessages() async throws {
        try await withFakeProviders { fake, app, client in
            let key = try await app.createKey(client, #"{"name": "open-webui", "kind": "service", "limits": {"taskModel": "claude-3-5-haiku", "taskDailyBudget": 5}}"#)
            try await app.sql("UPDATE ai_models SET rate_limit_messages_per_day = 1 WHERE id = 'gpt-4o-mini'")
            let alice: HTTPFields = [.init("X-Modelgate-User")!: "alice"]
            let chat = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            #expect(try await client.complete(key: key, body: chat, headers: alice).status == .ok)
            // Open WebUI's connection header `X-Modelgate-Purpose: {{TASK}}` is empty on a user's message.
            var message = alice
            message[.init("X-Modelgate-Purpose")!] = ""
            #expect(try await client.complete(key: key, body: chat, headers: message).json["error"]?["code"] == .string("rate_limited"))
            // Title generation still works: the key's task model and budget answer it, named as Modelgate
            // names it or as Open WebUI does.
            var task = alice
            for purpose in ["task", "title_generation", "tags_generation"] {
                task[.init("X-Modelgate-Purpose")!] = purpose
                let titled = try await client.complete(key: key, body: chat, headers: task)
                #expect(titled.status == .ok && titled.json["model"] == .string("claude-3-5-haiku"), "\(titled.json)")
            }
            // The Responses and Messages doors tell tasks apart the same way.
            let responses = try await client.complete(key: key, body: #"{"model": "gpt-4o-mini", "input": "Hi"}"#, headers: task, path: "/v1/responses")
            #expect(responses.status == .ok && responses.json["model"] == .string("claude-3-5-haiku"), "\(responses.json)")
            let messages = try await client.complete(key: key, body: #"{"model": "gpt-4o-mini", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}"#,
                                                     headers: task, path: "/v1/messages")
            #expect(messages.status == .ok && messages.json["model"] == .string("claude-3-5-haiku"), "\(messages.json)")
            var unknown = alice
            unknown[.init("X-Modelgate-Purpose")!] = "tsk"
            let refused = try await client.complete(key: key, body: chat, headers: unknown)
            #expect(refused.status == .unprocessableContent && refused.json["error"]?["param"] == .string("X-Modelgate-Purpose"), "\(refused.json)")
            let spent = try await client.complete(key: key, body: chat, headers: task)
            #expect(spent.status == .tooManyRequests && spent.json["error"]?["code"] == .string("task_budget_exhausted"))
            #expect(spent.headers[.init("x-should-retry")!] == "false")
            #expect(fake.requests.filter { $0.path.hasPrefix("/anthropic") }.count == 5)
            // Alice's own count did not move, and no end-user event was written for the tasks. (The tasks'
            // tokens and cost are settled on her day row of the task model, with no message counted.)
            let usage = try await QuotaLedger(database: app.database).usage(of: try await app.endUser("alice"), on: "2026-11-18")
            #expect(usage.filter { $0.value > 0 } == ["gpt-4o-mini": 1])
            #expect(usage["claude-3-5-haiku"] ?? 0 == 0)
            // A key without a task model, or a JWT, cannot make a task call.
            let plain = try await app.createKey(client, #"{"name": "plain", "kind": "service"}"#)
            #expect(try await client.complete(key: plain, body: chat, headers: task).json["error"]?["code"] == .string("task_not_configured"))
        }
    }

    @Test func aKeyAndEachEndUserHoldOnlySoManyOpenCalls() async throws {
        try await withFakeProviders(patientProvider: true) { fake, app, client in
            let key = try await app.createKey(client, #"{"name": "bot", "kind": "service", "limits": {"maxStreams": 2, "maxStreamsPerEndUser": 1}}"#)
            let free = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            // Admitted calls stay open upstream until all five are decided (a timed delay let a
            // slow machine finish one first and admit a third).
            fake.script(.heldUntilReleased(then: "Hello there"), .heldUntilReleased(then: "Hello there"))
            let users = ["alice", "alice", "bob", "carol", "dave"]
            let refused = NIOLockedValueBox(0)
            let outcomes = try await withThrowingTaskGroup(of: (String, String?)?.self) { group in
                for (index, user) in users.enumerated() {
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(index * 20))
                        let reply = try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: user])
                        if reply.status != .ok { refused.withLockedValue { $0 += 1 } }
                        return (user, reply.status == .ok ? "ok" : reply.json["error"]?["code"]?.stringValue)
                    }
                }
                group.addTask {
                    try await releaseHeldCalls(of: fake) { refused.withLockedValue { $0 } + fake.requests.count >= users.count }
                    return nil
                }
                return try await group.reduce(into: [(String, String?)]()) { if let outcome = $1 { $0.append(outcome) } }
            }
            // The key holds two calls, an end user one: two distinct users are answered, the rest refused.
            let answered = outcomes.filter { $0.1 == "ok" }.map(\.0)
            #expect(answered.count == 2 && Set(answered).count == 2, "\(outcomes)")
            #expect(outcomes.filter { $0.1 == "too_many_streams" }.count == 3, "\(outcomes)")
            #expect(fake.requests.count == 2)
            // Closed when the answers were written: the next call has a slot again.
            #expect(try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: "carol"]).status == .ok)
            #expect(try await app.count("key_streams") == 0)
        }
    }

    @Test func eachEndUserHasTheirOwnRequestsPerMinute() async throws {
        try await withFakeProviders { _, app, client in
            let key = try await app.createKey(client, #"{"name": "bot", "kind": "service", "limits": {"rpmPerEndUser": 2}}"#)
            let free = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            func send(_ user: String) async throws -> HTTPResponse.Status {
                try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: user]).status
            }
            #expect(try await [send("alice"), send("alice"), send("alice")] == [.ok, .ok, .tooManyRequests])
            #expect(try await [send("bob"), send("bob")] == [.ok, .ok])
        }
    }

    @Test func aServiceKeyWithoutAnEndUserIsRefusedAndForwardedHeadersNeedConsent() async throws {
        try await withFakeProviders { fake, app, client in
            let free = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            let plain = try await app.createKey(client, #"{"name": "plain", "kind": "service"}"#)
            let webui: HTTPFields = [.init("X-OpenWebUI-User-Id")!: "owui-42", .init("X-OpenWebUI-User-Email")!: "a@example.com"]
            let refused = try await client.complete(key: plain, body: free, headers: webui)
            #expect(refused.status == .badRequest && refused.json["error"]?["code"] == .string("end_user_required"))
            let openWebUI = try await app.createKey(client, #"{"name": "open-webui", "kind": "service", "forwardedUserHeaders": true}"#)
            #expect(try await client.complete(key: openWebUI, body: free, headers: webui).status == .ok)
            let other: HTTPFields = [.init("X-OpenWebUI-User-Id")!: "owui-43"]
            #expect(try await client.complete(key: openWebUI, body: free, headers: other).status == .ok)
            #expect(try await app.endUser("owui-42") != app.endUser("owui-43"))
            #expect(fake.requests.count == 2)
        }
    }

    @Test func revokedExpiredAlteredAndForeignKeysAreRefusedAndNoKeyIsAdmin() async throws {
        try await withFakeProviders { _, app, client in
            let admin = try await app.token(testUser(900), admin: true)
            _ = try await client.call(.get, "/api/me", token: try await app.token(testUser(901), email: "owner@example.com"))
            let key = try await app.createKey(client, #"{"name": "script", "kind": "user", "user": "owner@example.com"}"#)
            let free = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            #expect(try await client.complete(key: key, body: free).status == .ok)
            #expect(try await client.call(.get, "/api/me", token: key).json["id"] == .string(testUser(901).description))
            #expect(try await client.call(.get, "/api/admin/keys", token: key).status == .forbidden)
            #expect(try await client.complete(key: String(key.dropLast()) + "x", body: free).status == .unauthorized)
            #expect(try await client.complete(key: "mg_live_nosuchkey123_abc", body: free).status == .unauthorized)
            let id = try #require(key.split(separator: "_").dropFirst(2).first.map(String.init))
            #expect(try await client.call(.post, "/api/admin/keys/\(id)/revoke", token: admin).json["revoked"] == .bool(true))
            let revoked = try await client.complete(key: key, body: free)
            #expect(revoked.status == .unauthorized && revoked.json["error"]?["message"] == .string("the API key was revoked"))

            let expiring = try await app.createKey(client, #"{"name": "soon", "kind": "service", "expiresAt": "2026-11-18T12:00:00Z"}"#)
            let alice: HTTPFields = [.init("X-Modelgate-User")!: "alice"]
            #expect(try await client.complete(key: expiring, body: free, headers: alice).status == .ok)
            app.clock.set(Date(timeIntervalSince1970: 1_795_000_000 + 3 * 3600))
            #expect(try await client.complete(key: expiring, body: free, headers: alice).status == .unauthorized)
        }
    }

    @Test func theSecretIsShownOnceAndStoredNowhere() async throws {
        try await withFakeProviders { _, app, client in
            let admin = try await app.token(testUser(900), admin: true)
            let key = try await app.createKey(client, #"{"name": "backend", "kind": "service", "limits": {"rpm": 100}}"#)
            let secret = try #require(key.split(separator: "_", maxSplits: 3).last.map(String.init))
            #expect(secret.count == 43)
            let listed = try await client.call(.get, "/api/admin/keys", token: admin)
            let text = String(describing: listed.json)
            #expect(!text.contains(secret) && text.contains(String(key.prefix(20))))
            _ = try await client.complete(key: key, body: Self.premium, headers: [.init("X-Modelgate-User")!: "alice"])
            let metrics = try await client.call(.get, "/metrics", token: nil).json.stringValue ?? ""
            #expect(!metrics.contains(secret))
            // No column of any table holds the secret (or the whole key).
            let dump = try await app.database.read { db in
                var text = ""
                for table in ["api_keys", "apps", "end_users", "key_request_windows", "audit_log", "analytics_outbox", "profiles"] {
                    for row in try await db.raw("SELECT * FROM \(unsafeRaw: table)").all() {
                        for column in row.allColumns { text += (try? row.decode(column: column, as: String.self)) ?? "" }
                    }
                }
                return text
            }
            #expect(!dump.isEmpty && !dump.contains(secret))
        }
    }

    @Test func anAdminCreatesListsAndRevokesKeysInTheConsoleAndSeesTheSecretOnce() async throws {
        try await withFakeProviders { _, app, client in
            let admin = try await app.session(testUser(910), admin: true, client: client)
            let csrf = try #require(try await client.page(.get, "/admin/keys", cookie: admin).csrf)
            #expect(try await client.page(.get, "/admin/keys", cookie: try await app.session(testUser(911), client: client)).status == .forbidden)

            let refused = try await client.page(.post, "/admin/keys", cookie: admin, form: "_csrf=\(csrf)&name=bot&kind=service&rpm=lots")
            #expect(refused.status == .unprocessableContent && refused.html.contains("rpm: must be a whole number"))
            #expect(try await ApiKeyRepository(database: app.database).list().isEmpty)

            let form = "_csrf=\(csrf)&name=console-bot&kind=service&app=coach&rpm=9&taskModel=claude-3-5-haiku&taskDailyBudget=2&environment=live"
            let created = try await client.page(.post, "/admin/keys", cookie: admin, form: form)
            #expect(created.status == .created)
            let key = try #require(created.html.firstMatch(of: /data-secret>(mg_live_[A-Za-z0-9_-]+)</)?.1).description
            let secret = try #require(key.split(separator: "_", maxSplits: 3).last.map(String.init))
            let free = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            #expect(try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: "alice"]).status == .ok)

            let listed = try await client.page(.get, "/admin/keys", cookie: admin)
            #expect(!listed.html.contains(secret) && listed.html.contains(String(key.prefix(20))))
            #expect(listed.html.contains("9/min") && listed.html.contains("tasks: claude-3-5-haiku, 2/day"))
            let id = try #require(listed.html.firstMatch(of: #/"/admin/keys/([a-z0-9]+)/revoke"/#)?.1).description
            let revoked = try await client.page(.post, "/admin/keys/\(id)/revoke", cookie: admin, form: "_csrf=\(csrf)")
            #expect(revoked.status == .seeOther && revoked.headers[.location] == "/admin/keys?notice=revoked")
            #expect(try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: "alice"]).status == .unauthorized)
            let after = try await client.page(.get, "/admin/keys?notice=revoked", cookie: admin)
            #expect(after.html.contains("revoked 20") && !after.html.contains("/admin/keys/\(id)/revoke"))
            for action in ["key.created", "key.revoked"] {
                let audit = try await client.call(.get, "/api/admin/audit?action=\(action)", cookie: admin)
                #expect(audit.json["total"]?.int == 1 && audit.json["data"]?[0]?["targetId"] == .string(id), "\(action)")
                #expect(audit.json["data"]?[0]?["actorId"] == .string(testUser(910).description))
            }
        }
    }

    @Test func noKeySecretSignInLinkOrTokenReachesTheLogs() async throws {
        let capture = LogCapture()
        try await TestApp.run(logger: capture.logger) { app, client in
            let admin = try await app.token(testUser(920), admin: true)
            let key = try await app.createKey(client, #"{"name": "bot", "kind": "service"}"#)
            let secret = try #require(key.split(separator: "_", maxSplits: 3).last.map(String.init))
            let free = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            #expect(try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: "alice"]).status == .ok)
            #expect(try await client.complete(key: key.dropLast(2) + "xx", body: free, headers: [.init("X-Modelgate-User")!: "alice"]).status == .unauthorized)
            let made = try await client.execute(uri: "/api/keys/self/sign-in-links", method: .post,
                                                headers: [.authorization: "Bearer \(key)", .init("X-Modelgate-User")!: "alice"]) {
                (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body)))?["url"]?.stringValue ?? ""
            }
            let link = try #require(made.range(of: "/login?link=").map { String(made[$0.upperBound...]) })
            #expect(try await client.confirmSignIn("/login?link=\(link)").status == .seeOther)
            let session = try await app.session(testUser(920), admin: true, client: client)
            #expect(try await client.page(.get, "/login?token=\(admin)").status == .badRequest)
            let id = try #require(key.split(separator: "_", maxSplits: 3).dropLast().last.map(String.init))
            #expect(try await client.call(.post, "/api/admin/keys/\(id)/revoke", token: admin).status == .ok)
            #expect(try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: "alice"]).status == .unauthorized)

            let logs = capture.text
            #expect(logs.contains("/v1/chat/completions") && logs.contains("/login") && logs.contains(id), "\(logs)")
            for (name, credential) in [("key secret", secret), ("sign-in link", link), ("JWT", admin), ("session", session)] {
                #expect(!logs.contains(credential), "the \(name) is in the logs")
            }
        }
    }

    @Test func unsetLimitsTakeTheConfiguredDefaults() async throws {
        let environment = ["MODELGATE_KEY_RPM": "600", "MODELGATE_KEY_RPM_PER_END_USER": "20", "MODELGATE_KEY_MAX_STREAMS_PER_END_USER": "2"]
        let defaults = try ServerConfiguration.fromEnvironment(environment).keyDefaults
        #expect(defaults == ApiKeyLimits(rpm: 600, rpmPerEndUser: 20, maxStreamsPerEndUser: 2))
        #expect(try ServerConfiguration.fromEnvironment([:]).keyDefaults == ApiKeyLimits())
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.fromEnvironment(["MODELGATE_KEY_MAX_STREAMS": "0"]) }
        try await TestDatabase.with { database, _ in
            let authority = ApiKeyAuthority(database: database, clock: ManualClock(Date(timeIntervalSince1970: 1_795_000_000)), makeID: { UUID() },
                                            defaults: defaults)
            let repository = ApiKeyRepository(database: database)
            let owner = testUser(930)
            _ = try await ProfileRepository(database: database).findOrCreate(owner, email: nil, at: Date(timeIntervalSince1970: 1_795_000_000))
            func create(_ kind: ApiKeyKind, _ limits: ApiKeyLimits) async throws -> ApiKeyLimits? {
                let created = try await authority.createKey(name: "k", kind: kind, app: "app", user: kind == .user ? owner : nil, limits: limits, expiresAt: nil,
                                                            forwardedUserHeaders: false, environment: "live", by: Actor(command: "test"))
                return try await repository.find(created.id)?.limits
            }
            // What the creator sets wins; the rest comes from the defaults.
            let service = try await create(.service, ApiKeyLimits(rpm: 5))
            #expect(service == ApiKeyLimits(rpm: 5, rpmPerEndUser: 20, maxStreamsPerEndUser: 2))
            // A user key has no end users: only the key-wide defaults apply.
            let user = try await create(.user, ApiKeyLimits())
            #expect(user == ApiKeyLimits(rpm: 600))
        }
    }
}
