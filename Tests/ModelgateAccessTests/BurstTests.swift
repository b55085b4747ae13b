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
import NIOConcurrencyHelpers
import Testing

/// A burst of one user, over real HTTP, on two instances that share one PostgreSQL, with the
/// default per-user limits (60 chat requests a minute, 4 open calls). Every request is answered —
/// admitted or refused with a 429 — and the limit holds exactly: the calls that reached the provider
/// are held there until all the others are answered, so they are the peak of open calls. How long
/// the answers took is printed, never asserted (that belongs to the benchmark).
@Suite(.timeLimit(.minutes(5))) struct BurstTests {
    struct Answer: Sendable {
        let status: UInt
        let code: String?
        let seconds: Double
    }

    @Test(.enabled(if: TestDatabase.backend == .postgres, "two instances need a shared PostgreSQL"))
    func twoHundredConcurrentChatsOfOneUserOnTwoInstancesAreEachAnsweredAndTheLimitIsExact() async throws {
        let fake = try await FakeProviderServer.start()
        fake.script(Array(repeating: .heldUntilReleased(then: "Hello"), count: 200))
        var providers = TestApp.providers(fake: fake)
        providers.timeouts = ProviderTimeouts(connect: .seconds(2), firstByte: .seconds(120), idle: .seconds(120))
        let limits = UserLimits()
        try await TestApp.run(providers: providers, test: .live, limits: limits) { app, client in
            let second = try await Database.open(app.databaseURL, logger: TestDatabase.logger)
            var dependencies = TestApp.dependencies(database: second, providers: app.providers, clock: app.clock)
            dependencies.userLimits = limits
            let secondApp = buildApplication(
                configuration: ServerConfiguration(port: 0), dependencies: dependencies,
                services: try await Services(dependencies: dependencies), tokens: app.tokens)
            let token = try await app.token(testUser(170))
            let firstPort = try #require(client.port)
            do {
                try await secondApp.test(.live) { secondClient in
                    let answers = try await Self.burst(ports: [firstPort, try #require(secondClient.port)], token: token, fake: fake)
                    Self.report(answers)
                    #expect(fake.peakHeld == 4, "the most calls open at once")
                    #expect(answers.filter { $0.status == 200 }.count == 4)
                    #expect(answers.filter { $0.status == 429 && $0.code == "user_too_many_streams" }.count == 196)
                }
            } catch {
                await second.shutdown()
                throw error
            }
            await second.shutdown()
            #expect(try await app.count("user_streams") == 0)
            #expect(try await app.count("analytics_outbox WHERE event = 'model_message_sent'") == 4, "only the admitted calls are charged")
        }
        await fake.stop()
    }

    /// Sends 200 chats at once, alternating between the ports; releases the provider's held calls
    /// once every other one has been answered.
    static func burst(ports: [Int], token: String, fake: FakeProviderServer) async throws -> [Answer] {
        let answered = NIOLockedValueBox(0)
        return try await withThrowingTaskGroup(of: Answer?.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let started = ContinuousClock.now
                    let response = try await HTTPClient.shared.execute(
                        LoopbackChat.request(port: ports[index % ports.count], token: token), timeout: .seconds(120))
                    let body = try await response.body.collect(upTo: 1 << 20)
                    answered.withLockedValue { $0 += 1 }
                    let problem = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body))
                    let elapsed = ContinuousClock.now - started
                    return Answer(status: response.status.code, code: problem?["code"]?.stringValue,
                                  seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                }
            }
            group.addTask {
                try await releaseHeldCalls(of: fake) { answered.withLockedValue { $0 } + fake.requests.count >= 200 }
                return nil
            }
            return try await group.reduce(into: [Answer]()) { if let answer = $1 { $0.append(answer) } }
        }
    }

    static func report(_ answers: [Answer]) {
        let refused = answers.filter { $0.status != 200 }.map(\.seconds).sorted()
        guard !refused.isEmpty else { return }
        func percentile(_ p: Double) -> String { String(format: "%.0f ms", refused[min(refused.count - 1, Int(Double(refused.count) * p))] * 1000) }
        let statuses = Dictionary(grouping: answers, by: \.status).mapValues(\.count).sorted { $0.key < $1.key }
        print("burst of 200 chats of one user on two instances: statuses \(statuses); refusals answered in p50 \(percentile(0.5)), "
            + "p99 \(percentile(0.99)), max \(percentile(1))")
    }
}
