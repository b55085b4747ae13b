import AsyncHTTPClient
import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// The admin statistics table and one model's detail on a generated history: 100,000 users, each
/// with 10 usage rows of 5 messages spread over the last 90 days (5,000,000 messages in 1,000,000
/// rows), 20,000 trials and 5,000 purchases; against `GET /healthz` on the same server.
struct StatsBenchmark {
    let settings: BenchSettings
    let client: HTTPClient
    static let users = 100_000
    static let messages = users * rowsPerUser * messagesPerRow
    static let rowsPerUser = 10
    static let messagesPerRow = 5
    static let connections = 4
    static let models = ["gpt-4o-mini", "claude-3-5-haiku", "llama-3.1-8b", "gpt-4o", "claude-3-5-sonnet", "gemini-pro-1.5", "claude-3-opus"]

    func run(on targets: [DatabaseTarget]) async throws -> Findings {
        var findings = Findings()
        findings.notes = [
            "Generated history: \(Format.count(Self.users)) users × \(Self.rowsPerUser) (user, model, day) rows × \(Self.messagesPerRow) messages "
                + "over 90 days; closed loop, \(Self.connections) admin connections for \(Format.seconds(settings.duration)) per route.",
        ]
        for target in targets { findings.append(try await measure(on: target)) }
        return findings
    }

    private func measure(on target: DatabaseTarget) async throws -> Findings {
        try await RunningModelgate.with(target) { app in
            let started = ContinuousClock.now
            try await Self.generate(in: app.database)
            let generated = ContinuousClock.now - started
            let admin = try await app.tokens.issue(user: UserID(UUID()), email: "ops@example.com", admin: true, ttl: 3600, now: Date())
            let loop = ClosedLoop(concurrency: Self.connections, warmup: settings.warmup, duration: settings.duration)
            let table = await loop.run { [client] _ in
                try await timed { try await LoadClient.get("\(app.baseURL)/api/admin/stats/models", token: admin, client: client) }
            }
            let detail = await loop.run { [client] worker in
                try await timed {
                    try await LoadClient.get("\(app.baseURL)/api/admin/models/\(Self.models[worker % 7])/stats", token: admin, client: client)
                }
            }
            let margin = await loop.run { [client] _ in
                try await timed { try await LoadClient.get("\(app.baseURL)/api/admin/margin", token: admin, client: client) }
            }
            let health = await loop.run { [client] _ in try await timed { try await LoadClient.get("\(app.baseURL)/healthz", client: client) } }
            var findings = Findings(
                rows: [
                    ResultRow(benchmark: "GET /api/admin/stats/models", backend: target.name, concurrency: Self.connections, unit: "req/s", measurement: table),
                    ResultRow(benchmark: "GET /api/admin/models/{id}/stats", backend: target.name, concurrency: Self.connections, unit: "req/s", measurement: detail),
                    ResultRow(benchmark: "GET /api/admin/margin", backend: target.name, concurrency: Self.connections, unit: "req/s", measurement: margin),
                    ResultRow(benchmark: "GET /healthz", backend: target.name, concurrency: Self.connections, unit: "req/s", measurement: health),
                ],
                checks: [
                    TargetCheck(target: "stats table p99 < 100 ms (\(target.name))", measured: Format.latency(table.latency.p99),
                                met: table.errors == 0 && table.latency.p99 < .milliseconds(100)),
                    TargetCheck(target: "model detail p99 < 100 ms (\(target.name))", measured: Format.latency(detail.latency.p99),
                                met: detail.errors == 0 && detail.latency.p99 < .milliseconds(100)),
                    TargetCheck(target: "margin report p99 < 100 ms (\(target.name))", measured: Format.latency(margin.latency.p99),
                                met: margin.errors == 0 && margin.latency.p99 < .milliseconds(100)),
                ])
            findings.notes.append("\(target.name): generating the history took \(Format.seconds(generated)).")
            return findings
        }
    }

    /// Inserts the history in batches of generated literal rows (no input reaches this SQL);
    /// timestamps are bound, since each backend stores them its own way.
    static func generate(in database: Database) async throws {
        let now = Date()
        func day(_ ago: Int) -> String { QuotaCalendar.day(at: now.addingTimeInterval(Double(-ago) * 86_400), zoneIdentifier: "UTC").key }
        let days = (0..<90).map(day)
        @Sendable func user(_ index: Int) -> String { String(format: "00000000-0000-4000-8000-%012d", index) }
        let batch = 2_000
        for start in stride(from: 0, to: users, by: batch) {
            let range = start..<min(users, start + batch)
            try await database.transaction { db in
                var profiles = SQLQueryString("INSERT INTO profiles (id, email, role, timezone, created_at, updated_at) VALUES ")
                for index in range {
                    profiles += "\(unsafeRaw: index == range.lowerBound ? "" : ", ")('\(unsafeRaw: user(index))', 'user\(unsafeRaw: String(index))@example.com', 'user', 'UTC', \(bind: now), \(bind: now))"
                }
                try await db.raw(profiles).run()
                var usage: [String] = []
                for index in range {
                    for row in 0..<rowsPerUser {
                        // Each message: 1,000 prompt and 200 reply tokens at 1,000 micro-dollars.
                        usage.append("('\(user(index))', '\(models[(index + row) % 7])', '\(days[row * 9 + index % 9])', \(messagesPerRow), "
                            + "\(messagesPerRow), \(messagesPerRow * 1_000), \(messagesPerRow * 200), \(messagesPerRow * 1_000))")
                    }
                }
                try await db.raw("""
                    INSERT INTO model_usage_daily (user_id, model_id, day, message_count, calls, input_tokens, output_tokens, cost_micros)
                    VALUES \(unsafeRaw: usage.joined(separator: ",\n"))
                    """).run()
                let trials = range.filter { $0 % 5 == 0 }.map { "('\(user($0))', '\(models[3 + $0 % 4])', \(1 + $0 % 2))" }
                try await db.raw("INSERT INTO model_trials (user_id, model_id, trial_messages_used) VALUES \(unsafeRaw: trials.joined(separator: ", "))").run()
                var purchases = SQLQueryString("""
                    INSERT INTO purchases (user_id, product_id, stripe_checkout_session_id, amount_cents, currency, status, created_at, updated_at) VALUES
                    """)
                for (offset, index) in range.filter({ $0 % 20 == 0 }).enumerated() {
                    let status = index % 100 == 0 ? "refunded" : "completed"
                    purchases += "\(unsafeRaw: offset == 0 ? "" : ", ")('\(unsafeRaw: user(index))', 'model:\(unsafeRaw: models[3 + index % 4])', 'cs_bench_\(unsafeRaw: String(index))', 299, 'usd', '\(unsafeRaw: status)', \(bind: now), \(bind: now))"
                }
                try await db.raw(purchases).run()
            }
        }
        // What the quota and spend ledgers and the webhook would have kept, had these messages and purchases gone through them.
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO model_user_activity (model_id, user_id, messages, last_day)
                SELECT model_id, user_id, SUM(message_count), MAX(day) FROM model_usage_daily GROUP BY model_id, user_id
                """).run()
            try await db.raw("""
                INSERT INTO user_spend_totals (user_id, cost_micros, tokens, calls)
                SELECT user_id, SUM(cost_micros), SUM(input_tokens + output_tokens), SUM(calls) FROM model_usage_daily GROUP BY user_id
                """).run()
            // Each purchase booked on its buyer's first active day; refunded ones taken back that day.
            for (kind, sign, status) in [("purchase", 1, "'completed', 'refunded'"), ("refund", -1, "'refunded'")] {
                try await db.raw("""
                    INSERT INTO revenue_bookings (purchase_id, kind, model_id, user_id, day, amount_cents, booked_at)
                    SELECT pu.id, '\(unsafeRaw: kind)', pr.model_id, pu.user_id,
                        (SELECT MIN(u.day) FROM model_usage_daily u WHERE u.user_id = pu.user_id), \(unsafeRaw: String(sign)) * pu.amount_cents, pu.created_at
                    FROM purchases pu JOIN products pr ON pr.id = pu.product_id WHERE pu.status IN (\(unsafeRaw: status))
                    """).run()
            }
        }
        // What autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) does for a database that grew
        // over months: planner statistics and, on PostgreSQL, the visibility map index-only scans need.
        try await database.write { db in
            try await db.raw(database.backend == .postgres ? "VACUUM ANALYZE" : "ANALYZE").run()
        }
    }
}
