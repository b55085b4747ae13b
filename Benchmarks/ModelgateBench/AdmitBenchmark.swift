import AsyncHTTPClient
import Foundation
import ModelgateCore
import ModelgateProviders
import ModelgateServer

/// Selection plus quota consumption for one message, called on the service with no HTTP:
/// `ModelAccessService.admit` for the coach "career", which resolves to the unlimited free
/// default gpt-4o-mini, so every call selects, decides and runs one conditional upsert.
struct AdmitBenchmark {
    let settings: BenchSettings
    static let concurrency = 16

    func run(on targets: [DatabaseTarget]) async throws -> Findings {
        var findings = Findings()
        findings.notes = [
            "`services.access.admit(profile, persona: \"career\", explicit: nil)` → gpt-4o-mini (free, unlimited): selection, "
                + "access decision and one `INSERT … ON CONFLICT DO UPDATE … RETURNING` per call; no HTTP.",
            "Sequential: one task, one user. Concurrent: \(Self.concurrency) tasks, one user each (SQLite has one writer connection).",
        ]
        for target in targets {
            findings.append(try await measure(on: target))
        }
        return findings
    }

    private func measure(on target: DatabaseTarget) async throws -> Findings {
        try await target.withFreshDatabase { database in
            let services = try await Services(dependencies: Dependencies(
                database: database, providers: ProviderRouter(configuration: .init(), httpClient: .shared), logger: Bench.logger))
            let profiles = try await makeProfiles(Self.concurrency, in: services)
            let admit: @Sendable (Int) async throws -> Duration = { worker in
                try await timed { _ = try await services.access.admit(profiles[worker], persona: "career", explicit: nil) }
            }
            let sequential = await ClosedLoop(concurrency: 1, warmup: settings.warmup, duration: settings.admitDuration).run(admit)
            let concurrent = await ClosedLoop(concurrency: Self.concurrency, warmup: settings.warmup, duration: settings.admitDuration)
                .run(admit)
            return findings(target: target, sequential: sequential, concurrent: concurrent)
        }
    }

    private func makeProfiles(_ count: Int, in services: Services) async throws -> [Profile] {
        var profiles: [Profile] = []
        for index in 0..<count {
            profiles.append(try await services.profiles.findOrCreate(UserID(UUID()), email: "admit-\(index)@example.com", at: Date()))
        }
        return profiles
    }

    private func findings(target: DatabaseTarget, sequential: Measurement, concurrent: Measurement) -> Findings {
        let limitMilliseconds = if case .sqlite = target { 1 } else { 3 }
        let limit = Duration.milliseconds(limitMilliseconds)
        return Findings(
            rows: [
                ResultRow(benchmark: "admit", backend: target.name, concurrency: 1, unit: "ops/s", measurement: sequential),
                ResultRow(benchmark: "admit", backend: target.name, concurrency: Self.concurrency, unit: "ops/s", measurement: concurrent),
            ],
            checks: [
                TargetCheck(
                    target: "admit p99 < \(limitMilliseconds) ms (\(target.name), sequential)",
                    measured: Format.latency(sequential.latency.p99), met: sequential.errors == 0 && sequential.latency.p99 < limit),
            ])
    }
}
