import AsyncHTTPClient
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
import ModelgateProviders
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Testing

/// Daily budgets: a model's tokens per user and day, and a user's provider cost per day. Each call
/// holds its worst case while it streams and settles to what the provider reported; these tests
/// check the holds never let more through than the budget, give back what was not used, refuse
/// at exactly the right amount, and show up in the model list.
@Suite(.timeLimit(.minutes(5))) struct BudgetTests {
    /// "Hi" to the career coach, as admission estimates it: a token for the two characters plus 23
    /// for the coach's 89-character system prompt (a token per 4 characters, rounded up).
    static let promptTokens = 24

    /// A message's worst case in tokens: its prompt plus the longest reply it asks for.
    static func worstCaseTokens(maxTokens: Int) -> Int { promptTokens + maxTokens }

    /// gpt-4o-mini's seeded prices: $0.15 input, $0.60 output, $0.075 cached input per million tokens.
    static let miniPrices = TokenPrices(inputMicrosPerMillion: 150_000, outputMicrosPerMillion: 600_000, cachedInputMicrosPerMillion: 75_000)

    /// What the fake's reply (12 prompt tokens of which 4 cached, 2 out) costs on gpt-4o-mini:
    /// ceil((8 × 150,000 + 4 × 75,000 + 2 × 600,000) / 10⁶) = ceil(2.7) = 3 micro-dollars.
    static let replyCostMicros = 3

    static func body(maxTokens: Int) -> String {
        #"{"message": "Hi", "personaId": "career", "modelId": "gpt-4o-mini", "maxTokens": \#(maxTokens)}"#
    }

    @Test func theHelpersAgreeWithTheSeedAndThePriceFormula() throws {
        let career = try #require(Seed.personas.first { $0.id == "career" })
        #expect(TurnTokens.estimate(characters: "Hi".count) + TurnTokens.estimate(characters: career.systemPrompt.count) == Self.promptTokens)
        #expect(Seed.models.first { $0.id == "gpt-4o-mini" }?.prices == Self.miniPrices)
        #expect(Self.miniPrices.cost(of: TurnTokens(
            inputTokens: FakeProviderServer.usage.input, outputTokens: FakeProviderServer.usage.output,
            cachedInputTokens: FakeProviderServer.usage.cached)) == Self.replyCostMicros)
        // The worst cases the dollar test relies on, rounding included.
        #expect(Self.miniPrices.worstCase(inputTokens: Self.promptTokens, outputTokens: 96) == 62)  // 61.2 → 62
        #expect(Self.miniPrices.worstCase(inputTokens: Self.promptTokens, outputTokens: 289) == 177)  // 177.0 exactly
        #expect(Self.miniPrices.worstCase(inputTokens: Self.promptTokens, outputTokens: 290) == 178)  // 177.6 → 178
        #expect(Self.miniPrices.worstCase(inputTokens: Self.promptTokens, outputTokens: 1) == 5)  // 4.2 → 5
        #expect(Self.miniPrices.worstCase(inputTokens: Self.promptTokens, outputTokens: 576) == 350)  // 349.2 → 350
    }

    // MARK: - Concurrency

    /// 200 calls from one user at once, half on each of two instances (each its own connection pool,
    /// catalog cache and HTTP server) on one PostgreSQL database.
    @Test(.enabled(if: TestDatabase.backend == .postgres, "two instances need a shared PostgreSQL"))
    func twoHundredConcurrentCallsAcrossTwoInstancesNeverExceedATokenBudget() async throws {
        try await Self.withLiveFakeProviders { fake, app, firstPort in
            try await Self.prepareTokenBudgetRace(app)
            let second = try await Database.open(app.databaseURL, logger: TestDatabase.logger)
            let http = Self.makeHTTPClient()
            do {
                let dependencies = TestApp.dependencies(database: second, providers: app.providers, clock: app.clock)
                let secondApp = buildApplication(
                    configuration: ServerConfiguration(port: 0), dependencies: dependencies,
                    services: try await Services(dependencies: dependencies), tokens: app.tokens)
                let token = try await app.token(Self.raceUser)
                try await secondApp.test(.live) { secondClient in
                    let secondPort = try #require(secondClient.port)
                    try await Self.raceTwoHundred(app: app, fake: fake) { index in
                        try await Self.post(http, port: index.isMultiple(of: 2) ? firstPort : secondPort, token: token,
                                            body: Self.body(maxTokens: Self.raceMaxTokens))
                    }
                }
            } catch {
                fake.release()
                try? await http.shutdown()
                await second.shutdown()
                throw error
            }
            try await http.shutdown()
            await second.shutdown()
        }
    }

    /// The same race on either backend: two services (each its own catalog cache) over one database
    /// handle, called through their routers.
    @Test func twoHundredConcurrentCallsOnTwoServicesOfOneDatabaseNeverExceedATokenBudget() async throws {
        try await withFakeProviders(patientProvider: true) { fake, app, firstClient in
            try await Self.prepareTokenBudgetRace(app)
            let dependencies = TestApp.dependencies(database: app.database, providers: app.providers, clock: app.clock)
            let second = buildRouter(configuration: ServerConfiguration(), dependencies: dependencies,
                                     services: try await Services(dependencies: dependencies), tokens: app.tokens)
            let token = try await app.token(Self.raceUser)
            do {
                try await Application(router: second).test(.router) { secondClient in
                    try await Self.raceTwoHundred(app: app, fake: fake) { index in
                        let client: any TestClientProtocol = index.isMultiple(of: 2) ? firstClient : secondClient
                        return try await Self.chat(client, token: token, body: Self.body(maxTokens: Self.raceMaxTokens))
                    }
                }
            } catch {
                fake.release()
                throw error
            }
        }
    }

    static let raceUser = testUser(700)
    static let raceBudget = 10_000
    /// A worst case of 1,000 tokens: ten calls fill the budget of 10,000 while they are held open.
    static let raceMaxTokens = 976
    static let heldCalls = 10

    static func prepareTokenBudgetRace(_ app: TestApp) async throws {
        #expect(worstCaseTokens(maxTokens: raceMaxTokens) * heldCalls == raceBudget)
        // Messages are not the limit here: no per-model limit, no default limit for free models.
        try await app.sql("UPDATE catalog_settings SET free_daily_limit = NULL")
        try await app.sql("""
            UPDATE ai_models SET daily_token_budget = \(bind: raceBudget), rate_limit_messages_per_day = NULL WHERE id = 'gpt-4o-mini'
            """)
    }

    /// Sends 200 calls at once. The first ten admitted are held open upstream, so together they hold
    /// exactly the whole budget and the next one decided must be refused; the first refusal lets them
    /// go. From then on the rest race with the settlements, which give back all but the 14 tokens each
    /// reply used, so how many more get through is not fixed — what is checked is what must hold
    /// whatever the order.
    static func raceTwoHundred(app: TestApp, fake: FakeProviderServer, send: @escaping @Sendable (Int) async throws -> BudgetReply) async throws {
        let held = FakeProviderServer.Scenario.heldUntilReleased(then: "Hello there")
        fake.script(held, held, held, held, held, held, held, held, held, held)
        let day = QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key
        let refused = NIOLockedValueBox(0)
        let atFirstRefusal = NIOLockedValueBox<(requests: Int, ledger: LedgerRow)?>(nil)
        let replies = try await withThrowingTaskGroup(of: BudgetReply?.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let reply = try await send(index)
                    guard reply.status == 429, refused.withLockedValue({ $0 += 1; return $0 == 1 }) else { return reply }
                    // The first refusal: nothing has been let go yet, so nothing is settled. Look at
                    // the ledger, then let the held calls go while most others are still undecided.
                    let requests = fake.requests.count
                    let ledger = try await ledgerRow(app.database, user: raceUser, day: day)
                    atFirstRefusal.withLockedValue { $0 = (requests, ledger) }
                    fake.release()
                    return reply
                }
            }
            group.addTask {
                // Waits for the first refusal, which lets the held calls go once its ledger is read;
                // should no call ever be refused (a broken budget), the suite's time limit fails the test.
                _ = try await eventually { atFirstRefusal.withLockedValue { $0 } != nil }
                return nil
            }
            return try await group.reduce(into: [BudgetReply]()) { if let reply = $1 { $0.append(reply) } }
        }
        #expect(replies.count == 200)

        // The refusal was right: the ten admitted calls held the whole budget (their 10 × 1,000 tokens,
        // none settled yet), and an eleventh's 1,000 would have passed it. No eleventh call got in.
        let snapshot = try #require(atFirstRefusal.withLockedValue { $0 }, "no call was refused while ten held the whole budget")
        #expect(snapshot.ledger.tokensReserved == raceBudget)
        #expect(snapshot.ledger.inputTokens + snapshot.ledger.outputTokens == 0)
        #expect(snapshot.requests <= heldCalls, "only the calls that fit reached the provider")

        // Every call was answered or refused for the budget; none failed.
        let answered = replies.filter { $0.status == 200 }
        let refusals = replies.filter { $0.status == 429 }
        #expect(answered.count + refusals.count == 200, "statuses: \(Set(replies.map(\.status)))")
        let secondsToMidnight = Int(try Date("2026-11-19T00:00:00Z", strategy: .iso8601).timeIntervalSince(app.clock.now()).rounded(.up))
        for refusal in refusals {
            #expect(refusal.problem?["code"] == .string("token_budget_exhausted"))
            #expect(refusal.problem?["budget"] == .string("tokens"))
            #expect(refusal.problem?["limit"]?.int == raceBudget)
            #expect(refusal.retryAfter == String(secondsToMidnight))
        }
        for reply in answered {
            #expect(reply.done?["usage"]?["inputTokens"]?.int == FakeProviderServer.usage.input)
            #expect(reply.done?["usage"]?["outputTokens"]?.int == FakeProviderServer.usage.output)
            #expect(reply.errorEvent == nil)
        }
        // The ten held calls were answered, and a refusal happened: both are certain, not timing.
        // (At any refusal settled + held tokens were over 9,000, and each answered call accounts for
        // at most its 1,000-token worst case, so at least ⌈9,001 / 1,000⌉ = 10 calls were answered:
        // the budget was never under-used by more than one worst case.)
        #expect(answered.count >= raceBudget / worstCaseTokens(maxTokens: raceMaxTokens))
        #expect(!refusals.isEmpty)
        // Refused calls never reached the provider; every answered one did, once.
        #expect(fake.requests.count == answered.count)

        // Each answered call was charged once and settled exactly once; every hold was returned.
        let ledger = try await ledgerRow(app.database, user: raceUser, day: day)
        let tokensPerReply = FakeProviderServer.usage.input + FakeProviderServer.usage.output
        #expect(ledger.tokensReserved == 0)
        #expect(ledger.inputTokens == FakeProviderServer.usage.input * answered.count)
        #expect(ledger.outputTokens == FakeProviderServer.usage.output * answered.count)
        #expect(ledger.cachedInputTokens == FakeProviderServer.usage.cached * answered.count)
        #expect(ledger.inputTokens + ledger.outputTokens == tokensPerReply * answered.count)
        #expect(ledger.inputTokens + ledger.outputTokens <= raceBudget)
        #expect(ledger.calls == answered.count)
        #expect(ledger.messages == answered.count)
        let spend = try await spendRow(app.database, user: raceUser, day: day)
        #expect(spend.tokens == tokensPerReply * answered.count)
        #expect(spend.costMicros == replyCostMicros * answered.count)
        #expect(spend.reservedMicros == 0)
    }

    // MARK: - Exact refusals

    @Test func aTokenBudgetRefusesExactlyWhatDoesNotFitAndReturnedHoldsAreReused() async throws {
        try await withFakeProviders(patientProvider: true) { fake, app, client in
            let user = testUser(701)
            let day = QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key
            try await app.sql("UPDATE ai_models SET daily_token_budget = 1000 WHERE id = 'gpt-4o-mini'")
            let token = try await app.token(user)
            func send(worstCase: Int) async throws -> BudgetReply {
                try await Self.chat(client, token: token, body: Self.body(maxTokens: worstCase - Self.promptTokens))
            }

            // A: worst case 600, held open upstream.
            fake.script(.heldUntilReleased(then: "Hello there"))
            let first = Task { try await send(worstCase: 600) }
            do {
                #expect(try await Self.eventually { fake.requests.count == 1 })
                #expect(try await Self.ledgerRow(app.database, user: user, day: day).tokensReserved == 600)

                // B: another 600 does not fit beside A's hold: 429, until the user's midnight, not charged.
                let refused = try await send(worstCase: 600)
                #expect(refused.status == 429)
                #expect(refused.problem?["code"] == .string("token_budget_exhausted"))
                #expect(refused.problem?["budget"] == .string("tokens"))
                #expect(refused.problem?["modelId"] == .string("gpt-4o-mini"))
                #expect(refused.problem?["limit"]?.int == 1000)
                #expect(refused.problem?["resetAt"] == .string("2026-11-19T00:00:00Z"))
                let expected = Int(try Date("2026-11-19T00:00:00Z", strategy: .iso8601).timeIntervalSince(app.clock.now()).rounded(.up))
                #expect(refused.retryAfter == String(expected))
                #expect(refused.shouldRetry == "false")

                // C and D: 600 + 401 is one token too many; 600 + 400 is exactly the budget.
                #expect(try await send(worstCase: 401).status == 429)
                let exact = try await send(worstCase: 400)
                #expect(exact.status == 200 && exact.done != nil)
                let ledger = try await Self.ledgerRow(app.database, user: user, day: day)
                #expect(ledger.tokensReserved == 600, "D settled to 14 and gave the rest of its 400 back; A still holds 600")
                #expect(ledger.inputTokens + ledger.outputTokens == 14)
                #expect(ledger.messages == 2, "refused calls are not charged")
                #expect(fake.requests.count == 2)
            } catch {
                fake.release()
                throw error
            }

            // A finishes: its hold becomes the 14 tokens the provider reported.
            fake.release()
            let answered = try await first.value
            #expect(answered.status == 200)
            #expect(answered.done?["usage"]?["inputTokens"]?.int == 12 && answered.done?["usage"]?["outputTokens"]?.int == 2)
            var ledger = try await Self.ledgerRow(app.database, user: user, day: day)
            #expect(ledger.tokensReserved == 0)
            #expect(ledger.inputTokens + ledger.outputTokens == 28)

            // The returned hold is reusable: a second 600 now fits (28 + 600 ≤ 1,000).
            #expect(try await send(worstCase: 600).status == 200)
            ledger = try await Self.ledgerRow(app.database, user: user, day: day)
            #expect(ledger.inputTokens + ledger.outputTokens == 42 && ledger.tokensReserved == 0)

            // Settled tokens count exactly: 958 are left, so 959 is refused and 958 admitted.
            let over = try await send(worstCase: 959)
            #expect(over.status == 429 && over.problem?["budget"] == .string("tokens"))
            #expect(try await send(worstCase: 958).status == 200)
            ledger = try await Self.ledgerRow(app.database, user: user, day: day)
            #expect(ledger.inputTokens + ledger.outputTokens == 56 && ledger.tokensReserved == 0)
            // Answered: A, D, the second 600 and the 958; refused: B, C and the 959.
            #expect(ledger.messages == 4 && ledger.calls == 4)
            #expect(fake.requests.count == 4)
        }
    }

    @Test func aDollarBudgetAdmitsExactlyTheWorstCasesThatFitAndSettlesToTheReportedCost() async throws {
        try await withFakeProviders(patientProvider: true) { fake, app, client in
            let user = testUser(702)
            let day = QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key
            // A call with maxTokens 96 may cost ceil((24 × 150,000 + 96 × 600,000) / 10⁶) = ceil(61.2) = 62
            // micro-dollars: three fit in 186, a fourth does not.
            let worstCost = 62, fitting = 3, budget = 186
            try await app.sql("UPDATE catalog_settings SET user_daily_cost_budget_micros = \(bind: budget)")
            let token = try await app.token(user)
            func send(maxTokens: Int) async throws -> BudgetReply {
                try await Self.chat(client, token: token, body: Self.body(maxTokens: maxTokens))
            }

            let held = FakeProviderServer.Scenario.heldUntilReleased(then: "Hello there")
            fake.script(held, held, held)
            let calls = (0..<fitting).map { _ in Task { try await send(maxTokens: 96) } }
            do {
                #expect(try await Self.eventually { fake.requests.count == fitting })
                var spend = try await Self.spendRow(app.database, user: user, day: day)
                #expect(spend.reservedMicros == fitting * worstCost)
                #expect(spend.costMicros == 0)

                // The fourth is refused on the dollar budget, and so is even the cheapest call (5 micros).
                let refused = try await send(maxTokens: 96)
                #expect(refused.status == 429)
                #expect(refused.problem?["code"] == .string("token_budget_exhausted"))
                #expect(refused.problem?["budget"] == .string("costMicros"))
                #expect(refused.problem?["limit"]?.int == budget)
                #expect(refused.retryAfter != nil)
                let cheapest = try await send(maxTokens: 1)
                #expect(cheapest.status == 429 && cheapest.problem?["budget"] == .string("costMicros"))
                spend = try await Self.spendRow(app.database, user: user, day: day)
                #expect(spend.reservedMicros == budget)
                #expect(fake.requests.count == fitting)
            } catch {
                fake.release()
                throw error
            }

            fake.release()
            for call in calls {
                let reply = try await call.value
                #expect(reply.status == 200)
                #expect(reply.done?["costMicros"]?.int == Self.replyCostMicros)
            }
            var spend = try await Self.spendRow(app.database, user: user, day: day)
            #expect(spend.costMicros == fitting * Self.replyCostMicros)
            #expect(spend.reservedMicros == 0)
            #expect(spend.tokens == fitting * 14)
            var ledger = try await Self.ledgerRow(app.database, user: user, day: day)
            #expect(ledger.costMicros == fitting * Self.replyCostMicros)
            #expect(ledger.tokensReserved == 0, "gpt-4o-mini has no token budget: no tokens are held")

            // 186 − 9 = 177 micros are left: a call that may cost 178 is refused, one of exactly 177 admitted.
            let over = try await send(maxTokens: 290)
            #expect(over.status == 429 && over.problem?["budget"] == .string("costMicros"))
            let exact = try await send(maxTokens: 289)
            #expect(exact.status == 200 && exact.done?["costMicros"]?.int == Self.replyCostMicros)
            spend = try await Self.spendRow(app.database, user: user, day: day)
            #expect(spend.costMicros == 4 * Self.replyCostMicros && spend.reservedMicros == 0)
            ledger = try await Self.ledgerRow(app.database, user: user, day: day)
            #expect(ledger.calls == 4 && ledger.messages == 4)
        }
    }

}
