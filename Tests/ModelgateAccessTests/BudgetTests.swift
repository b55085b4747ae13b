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

    // MARK: - What the user sees

    @Test func theModelListAndThePreviewShowTodaysTokensAndSpendHoldsIncluded() async throws {
        try await withFakeProviders(patientProvider: true) { fake, app, client in
            let user = testUser(703)
            try await app.sql("UPDATE ai_models SET daily_token_budget = 5000 WHERE id = 'gpt-4o-mini'")
            try await app.sql("UPDATE catalog_settings SET user_daily_cost_budget_micros = 1000000")
            let token = try await app.token(user)
            func mini() async throws -> JSONValue? {
                let models = try await client.call(.get, "/api/models", token: token)
                #expect(models.status == .ok)
                return models.json["data"]?["free"]?.array.first { $0["id"] == .string("gpt-4o-mini") }
            }
            func budget(_ used: Int, _ limit: Int?, _ remaining: Int?) -> JSONValue {
                .object(["used": .number(Double(used)), "limit": limit.map { .number(Double($0)) } ?? .null,
                         "remaining": remaining.map { .number(Double($0)) } ?? .null])
            }

            var model = try await mini()
            #expect(model?["usageToday"]?["tokens"] == budget(0, 5000, 5000))
            #expect(model?["usageToday"]?["costMicros"] == budget(0, 1_000_000, 1_000_000))
            #expect(model?["access"] == .string("allowed"))

            // While a call streams, its worst case counts: 600 tokens, 350 micro-dollars.
            fake.script(.heldUntilReleased(then: "Hello there"))
            let call = Task { try await Self.chat(client, token: token, body: Self.body(maxTokens: 576)) }
            do {
                #expect(try await Self.eventually { fake.requests.count == 1 })
                model = try await mini()
                #expect(model?["usageToday"]?["tokens"] == budget(600, 5000, 4400))
                #expect(model?["usageToday"]?["costMicros"] == budget(350, 1_000_000, 999_650))
            } catch {
                fake.release()
                throw error
            }
            fake.release()
            #expect(try await call.value.status == 200)

            // Settled: the 14 tokens and 3 micro-dollars the reply used.
            model = try await mini()
            #expect(model?["usageToday"]?["tokens"] == budget(14, 5000, 4986))
            #expect(model?["usageToday"]?["costMicros"] == budget(3, 1_000_000, 999_997))
            #expect(model?["usageToday"]?["used"]?.int == 1)
            let preview = try await client.call(.post, "/api/selection/preview", token: token, json: #"{"personaId": "career", "modelId": "gpt-4o-mini"}"#)
            #expect(preview.json["outcome"] == .string("allowed"))
            #expect(preview.json["usageInfo"]?["tokens"] == budget(14, 5000, 4986))
            #expect(preview.json["usageInfo"]?["costMicros"] == budget(3, 1_000_000, 999_997))
            // Spend is across models; tokens are per model (another model has no token budget).
            let haiku = try await client.call(.get, "/api/models", token: token).json["data"]?["free"]?.array
                .first { $0["id"] == .string("claude-3-5-haiku") }
            #expect(haiku?["usageToday"]?["tokens"] == budget(0, nil, nil))
            #expect(haiku?["usageToday"]?["costMicros"] == budget(3, 1_000_000, 999_997))

            // A budget used to the last token is shown as such, in the list and the preview.
            try await app.sql("UPDATE ai_models SET daily_token_budget = 14 WHERE id = 'gpt-4o-mini'")
            model = try await mini()
            #expect(model?["usageToday"]?["tokens"] == budget(14, 14, 0))
            #expect(model?["access"] == .string("token_budget_exhausted"))
            let spent = try await client.call(.post, "/api/selection/preview", token: token, json: #"{"personaId": "career", "modelId": "gpt-4o-mini"}"#)
            #expect(spent.json["outcome"] == .string("token_budget_exhausted"))
        }
    }

    /// A free model with a token budget but no daily message limit still shows its budget (it used
    /// to list `usageToday: null`: only premium models and ones with a message limit had one).
    @Test func aTokenBudgetIsShownOnAFreeModelWithoutAMessageLimit() async throws {
        try await withFakeProviders { _, app, client in
            try await app.sql("UPDATE catalog_settings SET free_daily_limit = NULL")
            try await app.sql("UPDATE ai_models SET daily_token_budget = 5000, rate_limit_messages_per_day = NULL WHERE id = 'gpt-4o-mini'")
            let token = try await app.token(testUser(704))
            #expect(try await Self.chat(client, token: token, body: Self.body(maxTokens: 100)).status == 200)
            let preview = try await client.call(.post, "/api/selection/preview", token: token, json: #"{"personaId": "career", "modelId": "gpt-4o-mini"}"#)
            #expect(preview.json["usageInfo"]?["tokens"]?["used"]?.int == 14)
            #expect(preview.json["usageInfo"]?["tokens"]?["remaining"]?.int == 4986)
            let models = try await client.call(.get, "/api/models", token: token)
            let mini = models.json["data"]?["free"]?.array.first { $0["id"] == .string("gpt-4o-mini") }
            #expect(mini?["id"] == .string("gpt-4o-mini"))
            #expect(mini?["usageToday"]?["limit"] == .null, "no message limit")
            #expect(mini?["usageToday"]?["used"]?.int == 1)
            #expect(mini?["usageToday"]?["tokens"]?["used"]?.int == 14)
            #expect(mini?["usageToday"]?["tokens"]?["limit"]?.int == 5000)
            #expect(mini?["usageToday"]?["tokens"]?["remaining"]?.int == 4986)
        }
    }

    // MARK: - Helpers

    /// One user's row of `model_usage_daily` for gpt-4o-mini on `day` (zeros when there is none).
    struct LedgerRow: Sendable {
        var messages = 0, inputTokens = 0, outputTokens = 0, cachedInputTokens = 0, costMicros = 0, calls = 0, tokensReserved = 0
    }

    static func ledgerRow(_ database: Database, user: UserID, day: String, model: ModelID = "gpt-4o-mini") async throws -> LedgerRow {
        try await database.read { db in
            guard let row = try await db.raw("""
                SELECT message_count, input_tokens, output_tokens, cached_input_tokens, cost_micros, calls, tokens_reserved
                FROM model_usage_daily WHERE user_id = \(bind: user.description) AND model_id = \(bind: model.rawValue) AND day = \(bind: day)
                """).first() else { return LedgerRow() }
            return LedgerRow(
                messages: try row.decode(column: "message_count", as: Int.self), inputTokens: try row.decode(column: "input_tokens", as: Int.self),
                outputTokens: try row.decode(column: "output_tokens", as: Int.self),
                cachedInputTokens: try row.decode(column: "cached_input_tokens", as: Int.self),
                costMicros: try row.decode(column: "cost_micros", as: Int.self), calls: try row.decode(column: "calls", as: Int.self),
                tokensReserved: try row.decode(column: "tokens_reserved", as: Int.self))
        }
    }

    /// One user's row of `user_spend_daily` on `day` (zeros when there is none).
    struct SpendRow: Sendable {
        var costMicros = 0, reservedMicros = 0, tokens = 0
    }

    static func spendRow(_ database: Database, user: UserID, day: String) async throws -> SpendRow {
        try await database.read { db in
            guard let row = try await db.raw("""
                SELECT cost_micros, reserved_micros, tokens FROM user_spend_daily WHERE user_id = \(bind: user.description) AND day = \(bind: day)
                """).first() else { return SpendRow() }
            return SpendRow(costMicros: try row.decode(column: "cost_micros", as: Int.self),
                            reservedMicros: try row.decode(column: "reserved_micros", as: Int.self), tokens: try row.decode(column: "tokens", as: Int.self))
        }
    }

    /// Polls `condition` until it holds; returns whether it held. A wait for a state, never a timed
    /// delay: the suite's time limit fails a count that never adds up (the sleep throws when the
    /// limit cancels the test, so this then returns false only by throwing).
    static func eventually(_ condition: @Sendable () async throws -> Bool) async throws -> Bool {
        while try await !condition() { try await Task.sleep(for: .milliseconds(10)) }
        return true
    }

    /// A live app (a real HTTP server) whose providers are `fake`, patient with calls held open.
    static func withLiveFakeProviders(_ body: @escaping @Sendable (FakeProviderServer, TestApp, Int) async throws -> Void) async throws {
        let fake = try await FakeProviderServer.start()
        var providers = TestApp.providers(fake: fake)
        providers.timeouts = ProviderTimeouts(connect: .seconds(2), firstByte: .seconds(120), idle: .seconds(120))
        do {
            try await TestApp.run(providers: providers, test: .live) { app, client in try await body(fake, app, try #require(client.port)) }
        } catch {
            fake.release()
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    /// A client that opens as many connections as there are calls (the shared one opens 8 per host,
    /// which would queue most of 200 "concurrent" calls behind each other).
    static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 512
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// `POST /api/chat` over loopback; the whole body is read, so the call is settled when it returns.
    static func post(_ http: HTTPClient, port: Int, token: String, body: String) async throws -> BudgetReply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/chat")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(request, timeout: .seconds(180))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return BudgetReply(status: Int(response.status.code), contentType: response.headers.first(name: "content-type"),
                           retryAfter: response.headers.first(name: "retry-after"), shouldRetry: response.headers.first(name: "x-should-retry"),
                           body: bytes)
    }

    /// `POST /api/chat` through a test client.
    static func chat(_ client: any TestClientProtocol, token: String, body: String) async throws -> BudgetReply {
        try await client.execute(uri: "/api/chat", method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                                 body: ByteBuffer(string: body)) { response in
            BudgetReply(status: response.status.code, contentType: response.headers[.contentType], retryAfter: response.headers[.retryAfter],
                        shouldRetry: response.headers[HTTPField.Name("x-should-retry")!], body: response.body)
        }
    }
}
