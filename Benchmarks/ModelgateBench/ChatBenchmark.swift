import AsyncHTTPClient
import ModelgateTestSupport

/// Streaming chat against the fake provider on loopback: time to first token with and without
/// Modelgate in the path, then complete exchanges per second.
struct ChatBenchmark {
    let settings: BenchSettings
    let client: HTTPClient
    static let ttftStreams = 200
    static let throughputStreams = 64

    func run(on targets: [DatabaseTarget]) async throws -> Findings {
        let fake = try await FakeProviderServer.start()
        return try await withCleanup {
            var findings = Findings()
            findings.notes = [
                "The fake provider (FakeProviderServer, OpenAI format, reply \"Hello there\" in two deltas), Modelgate and the load "
                    + "generator share this process and its cores.",
                "TTFT: \(Self.ttftStreams) concurrent streams in a closed loop for \(Format.seconds(settings.ttftDuration)) each; "
                    + "direct = the fake's `/openai/v1/chat/completions` until the first chunk with content; via Modelgate = "
                    + "`POST /api/chat` (auth, selection, quota charge, provider call) until the first `event: delta`.",
                "Exchanges: complete `POST /api/chat` streams (selected, quota-charged, streamed, stored as a new conversation), "
                    + "\(Self.throughputStreams) concurrent for \(Format.seconds(settings.duration)); latency is the whole exchange.",
            ]
            findings.append(try await timeToFirstToken(fake: fake))
            for target in targets {
                findings.append(try await exchanges(on: target, fake: fake))
            }
            return findings
        } cleanup: {
            await fake.stop()
        }
    }

    private func timeToFirstToken(fake: FakeProviderServer) async throws -> Findings {
        let loop = ClosedLoop(concurrency: Self.ttftStreams, warmup: settings.warmup, duration: settings.ttftDuration)
        let direct = StreamRequest.openAIDirect(baseURL: fake.baseURL(for: "openai"))
        let directTTFT = await loop.run { [client] _ in try await direct.exchange(client: client).firstToken }
        let viaModelgate = try await RunningModelgate.with(.sqlite, fake: fake) { app in
            let requests = try await chatRequests(to: app, users: Self.ttftStreams)
            return await loop.run { [client] worker in try await requests[worker].exchange(client: client).firstToken }
        }
        return ttftFindings(direct: directTTFT, viaModelgate: viaModelgate)
    }

    /// One `/api/chat` request per load worker, each for its own new user.
    private func chatRequests(to app: RunningModelgate, users: Int) async throws -> [StreamRequest] {
        try await app.tokens.issue(users: users).map { StreamRequest.modelgateChat(baseURL: app.baseURL, token: $0) }
    }

    private func ttftFindings(direct: Measurement, viaModelgate: Measurement) -> Findings {
        let p50Overhead = viaModelgate.latency.p50 - direct.latency.p50
        let p99Overhead = viaModelgate.latency.p99 - direct.latency.p99
        return Findings(
            rows: [
                ResultRow(benchmark: "TTFT, fake provider direct", backend: "—", concurrency: Self.ttftStreams, unit: "streams/s",
                          measurement: direct),
                ResultRow(benchmark: "TTFT via Modelgate `/api/chat`", backend: "SQLite", concurrency: Self.ttftStreams, unit: "streams/s",
                          measurement: viaModelgate),
            ],
            checks: [
                TargetCheck(
                    target: "TTFT overhead p99 < 1 ms, \(Self.ttftStreams) concurrent streams",
                    measured: "\(Format.latency(p99Overhead)) (p50 \(Format.latency(p50Overhead)))",
                    met: direct.errors == 0 && viaModelgate.errors == 0 && p99Overhead < .milliseconds(1)),
            ],
            notes: ["TTFT overhead (via Modelgate − direct): p50 \(Format.latency(p50Overhead)), p99 \(Format.latency(p99Overhead))."])
    }

    private func exchanges(on target: DatabaseTarget, fake: FakeProviderServer) async throws -> Findings {
        let measurement = try await RunningModelgate.with(target, fake: fake) { app in
            let requests = try await chatRequests(to: app, users: Self.throughputStreams)
            let loop = ClosedLoop(concurrency: Self.throughputStreams, warmup: settings.warmup, duration: settings.duration)
            return await loop.run { [client] worker in try await requests[worker].exchange(client: client).total }
        }
        var findings = Findings(rows: [
            ResultRow(benchmark: "chat exchange `/api/chat`", backend: target.name, concurrency: Self.throughputStreams, unit: "msg/s",
                      measurement: measurement),
        ])
        if case .sqlite = target {
            findings.checks = [TargetCheck(
                target: "≥ 2,000 chat messages/s (SQLite, \(Self.throughputStreams) concurrent)",
                measured: Format.rate(measurement.throughput, unit: "msg/s"),
                met: measurement.errors == 0 && measurement.throughput >= 2000)]
        }
        return findings
    }
}
