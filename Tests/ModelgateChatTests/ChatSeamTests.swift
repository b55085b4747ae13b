import AsyncHTTPClient
import Foundation
import ModelgateAccess
import ModelgateAppTesting
@testable import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateMetrics
import ModelgateProviders
import ModelgateStore
import ModelgateTestSupport
import NIOConcurrencyHelpers
import Testing

/// Access as a test value: admits every call for free and records what it was asked. Chat's
/// failover runs against it with no quotas, budgets, purchases or HTTP app in the way.
struct AdmitEverything: CallAdmitting {
    let catalog: CatalogSnapshot
    let asked = NIOLockedValueBox<[String]>([])
    let givenBack = NIOLockedValueBox<[ModelID]>([])

    func admit(_ profile: Profile, persona: PersonaID?, explicit: ModelID?, path: ModelgateMetrics.RequestPath, demand: CallDemand,
               check: (AIModel) throws -> Void) async throws -> Admission {
        let model = try #require(catalog.model(explicit ?? catalog.systemDefaultID))
        try check(model)
        asked.withLockedValue { $0.append("admit \(model.id)") }
        return admission(of: model)
    }

    func admitStandIn(_ model: AIModel, for original: Admission, profile: Profile, persona: PersonaID?, demand: CallDemand,
                      check: (AIModel) throws -> Void) async throws -> Admission? {
        try check(model)
        asked.withLockedValue { $0.append("stand-in \(model.id)") }
        var standIn = admission(of: model)
        standIn.failoverFrom = original.choice.model.id
        return standIn
    }

    func admitTask(for key: ApiKey, profile: Profile, check: (AIModel) throws -> Void) async throws -> Admission {
        throw ModelgateError.taskNotConfigured
    }

    private func admission(of model: AIModel) -> Admission {
        Admission(id: UUID().uuidString.lowercased(), choice: ModelChoice(model: model, reason: .explicit, answeredBy: .explicit, skipped: []),
                  payment: .free, usage: DailyUsage(used: 1, limit: nil, resetAt: "2026-12-08T00:00:00Z"), trialMessagesRemaining: nil,
                  systemPrompt: nil, day: "2026-12-07", reservation: nil, release: { [givenBack] in givenBack.withLockedValue { $0.append(model.id) } })
    }
}

@Suite(.timeLimit(.minutes(2))) struct ChatSeamTests {
    @Test func aCallWhoseProviderIsDownIsAnsweredByTheStandInWithAccessAsATestValue() async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await failOver(fake)
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    private func failOver(_ fake: FakeProviderServer) async throws {
        try await TestDatabase.with { database, _ in
            let clock = ManualClock(Date(timeIntervalSince1970: 1_796_000_000))
            let profile = try await ProfileRepository(database: database).findOrCreate(testUser(62), email: "seam@example.com", at: clock.now())
            // OpenAI answers 503 to each of its three attempts; the stand-in then answers.
            fake.script(.status(503), .status(503), .status(503), .reply("Hello from the stand-in"))
            let access = AdmitEverything(catalog: try await CatalogRepository(database: database).snapshot())
            let outbox = AnalyticsOutbox(makeID: { UUID() })
            let chat = ChatService(
                access: access, conversations: ConversationRepository(database: database), failovers: Failovers(database: database),
                spend: SpendLedger(database: database), outbox: outbox, providers: ProviderRouter(configuration: TestApp.providers(fake: fake), httpClient: .shared),
                limits: UserLimitGuard(limits: .off, repository: UserLimitRepository(database: database), database: database, outbox: outbox,
                                       clock: clock, makeID: { UUID() }, gate: OpenCallGate()),
                shutdown: ShutdownState(), metrics: ModelgateMetrics(), clock: clock, makeID: { UUID() })
            let call = ProviderRequest(providerModelID: "", system: nil, messages: [ChatMessage(role: .user, text: "Hi")], endUserID: "")

            let reply = try await chat.complete(call, persona: nil, explicit: "gpt-4o-mini", failover: .models(["claude-3-5-haiku"]), for: profile)
            while try await reply.next() != nil {}

            #expect(reply.admission.choice.model.id == "claude-3-5-haiku")
            #expect(reply.admission.failoverFrom == "gpt-4o-mini")
            #expect(reply.text == "Hello from the stand-in")
            #expect(fake.requests.map(\.path).filter { $0.hasPrefix("/openai") }.count == 3)
            #expect(access.asked.withLockedValue { $0 } == ["admit gpt-4o-mini", "stand-in claude-3-5-haiku"])
            #expect(access.givenBack.withLockedValue { $0 } == ["gpt-4o-mini"], "the failed call's admission is given back, the stand-in's kept")
        }
    }
}
