import AsyncHTTPClient

/// `GET /api/models` (token check, profile read, the user's standing, the catalog view) against
/// `GET /healthz` (no auth, no database) over loopback HTTP/1.1 keep-alive connections.
struct ModelsBenchmark {
    let settings: BenchSettings
    let client: HTTPClient
    static let connections = 64

    func run(on targets: [DatabaseTarget]) async throws -> Findings {
        var findings = Findings()
        findings.notes = [
            "Closed loop, \(Self.connections) connections (one user each) for \(Format.seconds(settings.duration)) per route "
                + "after \(Format.seconds(settings.warmup)) of warm-up; the load generator runs in the same process as Modelgate.",
        ]
        for target in targets {
            findings.append(try await measure(on: target))
        }
        return findings
    }

    private func measure(on target: DatabaseTarget) async throws -> Findings {
        try await RunningModelgate.with(target) { app in
            let tokens = try await app.tokens.issue(users: Self.connections)
            let loop = ClosedLoop(concurrency: Self.connections, warmup: settings.warmup, duration: settings.duration)
            let models = await loop.run { [client] worker in
                try await timed { try await LoadClient.get("\(app.baseURL)/api/models", token: tokens[worker], client: client) }
            }
            let health = await loop.run { [client] _ in
                try await timed { try await LoadClient.get("\(app.baseURL)/healthz", client: client) }
            }
            return findings(target: target, models: models, health: health)
        }
    }

    private func findings(target: DatabaseTarget, models: Measurement, health: Measurement) -> Findings {
        Findings(
            rows: [
                ResultRow(benchmark: "GET /api/models", backend: target.name, concurrency: Self.connections, unit: "req/s",
                          measurement: models),
                ResultRow(benchmark: "GET /healthz", backend: target.name, concurrency: Self.connections, unit: "req/s",
                          measurement: health),
            ],
            checks: [
                TargetCheck(
                    target: "GET /api/models p99 < 10 ms, \(Self.connections) connections (\(target.name))",
                    measured: Format.latency(models.latency.p99), met: models.errors == 0 && models.latency.p99 < .milliseconds(10)),
                TargetCheck(
                    target: "GET /api/models ≥ 3,000 req/s, \(Self.connections) connections (\(target.name))",
                    measured: Format.rate(models.throughput, unit: "req/s"), met: models.errors == 0 && models.throughput >= 3000),
            ])
    }
}
