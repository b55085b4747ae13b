import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateMetrics
import ModelgateStore

/// What analytics and metrics add to one chat exchange, side by side: the quota charge with and
/// without its analytics events (the only database work they add: one outbox insert of two rows
/// in the charge transaction), and the metric updates an exchange makes, timed in a loop.
struct InstrumentationBenchmark {
    let settings: BenchSettings
    static let concurrency = 16
    static let metricLoops = 200_000

    func run(on targets: [DatabaseTarget]) async throws -> Findings {
        var findings = Findings()
        findings.notes = [
            "`QuotaLedger.consume` for a free unlimited model without events vs with the exchange's two events "
                + "(`model_selected`, `model_message_sent`) in the same transaction; then the exchange's 7 metric updates "
                + "(request counter + histogram, selection, quota outcome, provider request, first token, finished) × \(Format.count(Self.metricLoops)).",
        ]
        for target in targets { findings.append(try await measure(on: target)) }
        findings.append(metrics())
        return findings
    }

    private func measure(on target: DatabaseTarget) async throws -> Findings {
        try await target.withFreshDatabase { database in
            let profiles = ProfileRepository(database: database)
            var users: [UserID] = []
            for index in 0..<Self.concurrency {
                let user = UserID(UUID())
                _ = try await profiles.findOrCreate(user, email: "overhead-\(index)@example.com", at: Date())
                users.append(user)
            }
            let ledger = QuotaLedger(database: database)
            let outbox = AnalyticsOutbox(makeID: { UUID() })
            let day = QuotaCalendar.day(at: Date(), zoneIdentifier: "UTC").key
            let users2 = users
            // The same two events as a free message's charge: model_selected and model_message_sent.
            let catalog = try await CatalogRepository(database: database).snapshot()
            let choice = try ModelSelection.select(catalog: catalog, preferences: ModelPreferences(), persona: "career", explicit: nil)
            let message = AdmittedMessage(choice: choice, persona: "career", payment: .free)
            func consume(events: Bool) -> @Sendable (Int) async throws -> Duration {
                { worker in
                    let charge = QuotaCharge(user: users2[worker], model: choice.model.id, day: day, dailyLimit: nil, trialLimit: nil)
                    let chargeEvents = events ? ChargeEvents(outbox: outbox, at: Date(), of: message) : nil
                    return try await timed { _ = try await ledger.consume(charge, events: chargeEvents) }
                }
            }
            var rows: [ResultRow] = []
            for concurrency in [1, Self.concurrency] {
                let loop = ClosedLoop(concurrency: concurrency, warmup: settings.warmup, duration: settings.admitDuration)
                let without = await loop.run(consume(events: false))
                let with = await loop.run(consume(events: true))
                rows.append(ResultRow(benchmark: "charge without events", backend: target.name, concurrency: concurrency, unit: "ops/s", measurement: without))
                rows.append(ResultRow(benchmark: "charge with events", backend: target.name, concurrency: concurrency, unit: "ops/s", measurement: with))
            }
            return Findings(rows: rows)
        }
    }

    private func metrics() -> Findings {
        let metrics = ModelgateMetrics()
        metrics.register(models: [])
        let start = ContinuousClock.now
        for _ in 0..<Self.metricLoops {
            metrics.request(method: "POST", route: "/api/chat", status: 200, seconds: 0.12)
            metrics.selection(seconds: 0.0001)
            metrics.quota(.allowed, model: "gpt-4o-mini")
            metrics.providerRequest(.openai)
            metrics.providerFirstToken(.openai, seconds: 0.05)
            metrics.providerFinished(.openai, seconds: 0.1)
        }
        let perExchange = (ContinuousClock.now - start) / Self.metricLoops
        return Findings(notes: ["Metric updates of one exchange: \(Format.latency(perExchange)) (mean of \(Format.count(Self.metricLoops)))."])
    }
}
