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

/// Per-minute and open-call limits of a key, exact on one instance and across two.
extension ApiKeyTests {
    @Test func aKeysRequestsPerMinuteHoldExactlyAndARefusalCostsNothing() async throws {
        try await withFakeProviders { fake, app, client in
            let key = try await app.createKey(client, #"{"name": "bot", "kind": "service", "limits": {"rpm": 5}}"#)
            let free = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<40 {
                    group.addTask { try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: "user-\(index % 4)"]).status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 5)
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 35)
            #expect(fake.requests.count == 5)
            let refused = try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: "user-0"])
            #expect(refused.json["error"]?["code"] == .string("key_rate_limited") && refused.headers[.retryAfter] != nil)
            // /metrics counts them per key id (never the secret).
            let id = try #require(key.split(separator: "_").dropFirst(2).first.map(String.init))
            let metrics = series(app.metrics.exposition())
            #expect(metrics[#"modelgate_key_requests_total{key="\#(id)",outcome="allowed"}"#] == 5)
            #expect(metrics[#"modelgate_key_requests_total{key="\#(id)",outcome="rate_limited"}"#] == 36)
            // The next minute has a new allowance.
            app.clock.set(app.clock.now().addingTimeInterval(60))
            #expect(try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: "user-0"]).status == .ok)
        }
    }

    @Test(.enabled(if: TestDatabase.backend == .postgres, "two instances need a shared PostgreSQL"))
    func aKeysRequestsPerMinuteHoldExactlyAcrossTwoInstances() async throws {
        try await withFakeProviders { fake, first, firstClient in
            let key = try await first.createKey(firstClient, #"{"name": "bot", "kind": "service", "limits": {"rpm": 37}}"#)
            let dependencies = TestApp.dependencies(database: first.database, providers: first.providers, clock: first.clock)
            let router = buildRouter(configuration: ServerConfiguration(), dependencies: dependencies,
                                     services: try await Services(dependencies: dependencies), tokens: first.tokens)
            let free = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            try await Application(router: router).test(.router) { secondClient in
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for index in 0..<200 {
                        let client: any TestClientProtocol = index % 2 == 0 ? firstClient : secondClient
                        group.addTask {
                            try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: "user-\(index % 10)"]).status
                        }
                    }
                    return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == .ok }.count == 37)
                #expect(statuses.filter { $0 == .tooManyRequests }.count == 163)
            }
            #expect(fake.requests.count == 37)
        }
    }

    @Test(.enabled(if: TestDatabase.backend == .postgres, "two instances need a shared PostgreSQL"))
    func aKeysOpenCallsHoldExactlyAcrossTwoInstances() async throws {
        try await withFakeProviders(patientProvider: true) { fake, first, firstClient in
            let key = try await first.createKey(firstClient, #"{"name": "bot", "kind": "service", "limits": {"maxStreams": 7, "maxStreamsPerEndUser": 1}}"#)
            let dependencies = TestApp.dependencies(database: first.database, providers: first.providers, clock: first.clock)
            let router = buildRouter(configuration: ServerConfiguration(), dependencies: dependencies,
                                     services: try await Services(dependencies: dependencies), tokens: first.tokens)
            // Any call that reaches the provider is held until all 200 are decided: the calls that
            // reached it are the peak of open calls.
            fake.script(Array(repeating: .heldUntilReleased(then: "Hello there"), count: 200))
            let free = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            let answered = NIOLockedValueBox(0)
            try await Application(router: router).test(.router) { secondClient in
                let outcomes = try await withThrowingTaskGroup(of: (user: String, reply: Reply)?.self) { group in
                    for index in 0..<200 {
                        let client: any TestClientProtocol = index % 2 == 0 ? firstClient : secondClient
                        let user = "user-\(index % 20)"
                        group.addTask {
                            let reply = try await client.complete(key: key, body: free, headers: [.init("X-Modelgate-User")!: user])
                            answered.withLockedValue { $0 += 1 }
                            return (user, reply)
                        }
                    }
                    group.addTask {
                        try await releaseHeldCalls(of: fake) { answered.withLockedValue { $0 } + fake.requests.count >= 200 }
                        return nil
                    }
                    return try await group.reduce(into: [(user: String, reply: Reply)]()) { if let outcome = $1 { $0.append(outcome) } }
                }
                #expect(fake.peakHeld == 7, "the most calls open at once")
                let answeredUsers = outcomes.filter { $0.reply.status == .ok }.map(\.user)
                #expect(answeredUsers.count == 7 && Set(answeredUsers).count == 7, "\(answeredUsers)")
                #expect(outcomes.filter { $0.reply.status == .tooManyRequests && $0.reply.json["error"]?["code"] == .string("too_many_streams") }.count
                    == 193)
            }
            #expect(fake.requests.count == 7)
            #expect(try await first.count("key_streams") == 0)
        }
    }

    @Test(.enabled(if: TestDatabase.backend == .postgres, "two instances need a shared PostgreSQL"))
    func aKeyRevokedOnOneInstanceIsRefusedByTheOther() async throws {
        try await withFakeProviders { fake, first, firstClient in
            let key = try await first.createKey(firstClient, #"{"name": "shared", "kind": "service"}"#)
            let dependencies = TestApp.dependencies(database: first.database, providers: first.providers, clock: first.clock)
            let second = try await Services(dependencies: dependencies)
            let router = buildRouter(configuration: ServerConfiguration(), dependencies: dependencies, services: second, tokens: first.tokens)
            let free = #"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#
            let alice: HTTPFields = [.init("X-Modelgate-User")!: "alice"]
            try await Application(router: router).test(.router) { secondClient in
                #expect(try await secondClient.complete(key: key, body: free, headers: alice).status == .ok)
                let id = try #require(key.split(separator: "_").dropFirst(2).first.map(String.init))
                let admin = try await first.token(testUser(900), admin: true)
                #expect(try await firstClient.call(.post, "/api/admin/keys/\(id)/revoke", token: admin).json["revoked"] == .bool(true))
                #expect(try await secondClient.complete(key: key, body: free, headers: alice).status == .unauthorized)
            }
            #expect(fake.requests.count == 1)
        }
    }
}
