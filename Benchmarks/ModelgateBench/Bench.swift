import ArgumentParser
import AsyncHTTPClient
import Foundation

enum BenchmarkName: String, CaseIterable, ExpressibleByArgument {
    case admit, models, chat, memory, stats, overhead
}

/// How long and how hard the benchmarks run.
struct BenchSettings: Sendable {
    let warmup: Duration
    let duration: Duration
    let admitDuration: Duration
    let ttftDuration: Duration
    let streams: Int
}

@main
struct ModelgateBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modelgate-bench",
        abstract: "Measures Modelgate's latency, throughput and memory, and prints a Markdown summary.",
        discussion: "SQLite always; PostgreSQL too when --postgres-url or MODELGATE_BENCH_POSTGRES_URL names a server "
            + "whose user may create databases. Run it through scripts/bench, which builds in release mode; "
            + "scripts/bench --postgres also starts a private PostgreSQL.")

    @Argument(help: "Benchmarks to run.")
    var benchmarks: [BenchmarkName] = BenchmarkName.allCases

    @Option(help: "Seconds each HTTP load phase is measured (GET routes, chat exchanges).")
    var duration: Double = 10

    @Option(help: "Seconds each admit phase is measured.")
    var admitDuration: Double = 3

    @Option(help: "Seconds each time-to-first-token phase is measured.")
    var ttftDuration: Double = 5

    @Option(help: "Seconds of unrecorded warm-up before each phase.")
    var warmup: Double = 1

    @Option(help: "Streams held open for the memory benchmark.")
    var streams: Int = 1000

    @Option(help: "A PostgreSQL server URL (env MODELGATE_BENCH_POSTGRES_URL); a database is created and dropped per run.")
    var postgresURL: String?

    @Option(help: "The modelgate executable the memory benchmark runs (default: next to this one).")
    var modelgateBinary: String?

    func run() async throws {
        let loadAverage = Machine.loadAverage
        let settings = BenchSettings(
            warmup: .seconds(warmup), duration: .seconds(duration), admitDuration: .seconds(admitDuration),
            ttftDuration: .seconds(ttftDuration), streams: streams)
        let postgres = postgresURL ?? ProcessInfo.processInfo.environment["MODELGATE_BENCH_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let targets: [DatabaseTarget] = [.sqlite] + (postgres.map { [.postgres(serverURL: $0)] } ?? [])
        let client = LoadClient.make(maxConnections: max(streams, ChatBenchmark.ttftStreams) + 16)
        let findings = try await withCleanup {
            try await runSelected(settings: settings, targets: targets, client: client)
        } cleanup: {
            try? await client.shutdown()
        }
        try await printSummary(findings, targets: targets, loadAverage: loadAverage)
    }

    private func runSelected(settings: BenchSettings, targets: [DatabaseTarget], client: HTTPClient) async throws -> Findings {
        var all = Findings()
        for name in BenchmarkName.allCases where benchmarks.contains(name) {
            let (title, findings) = try await run(name, settings: settings, targets: targets, client: client)
            findings.printSection(title)
            all.append(findings)
        }
        return all
    }

    private func run(
        _ name: BenchmarkName, settings: BenchSettings, targets: [DatabaseTarget], client: HTTPClient
    ) async throws -> (String, Findings) {
        switch name {
        case .admit:
            ("admit: selection + quota consume", try await AdmitBenchmark(settings: settings).run(on: targets))
        case .models:
            ("GET /api/models vs GET /healthz", try await ModelsBenchmark(settings: settings, client: client).run(on: targets))
        case .chat:
            ("chat: time to first token and exchanges per second",
             try await ChatBenchmark(settings: settings, client: client).run(on: targets))
        case .stats:
            ("admin statistics over \(Format.count(StatsBenchmark.users)) users and \(Format.count(StatsBenchmark.messages)) messages",
             try await StatsBenchmark(settings: settings, client: client).run(on: targets))
        case .overhead:
            ("analytics and metrics: what they add to an exchange", try await InstrumentationBenchmark(settings: settings).run(on: targets))
        case .memory:
            ("memory with \(Format.count(settings.streams)) open streams", try await memory(settings: settings, client: client))
        }
    }

    private func memory(settings: BenchSettings, client: HTTPClient) async throws -> Findings {
        let binary = modelgateBinary.map(URL.init(fileURLWithPath:))
            ?? Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("modelgate")
        guard let binary, FileManager.default.isExecutableFile(atPath: binary.path) else {
            return Findings(notes: ["Skipped: no modelgate executable (build it: swift build -c release --product modelgate)."])
        }
        return try await MemoryBenchmark(settings: settings, client: client, binary: binary).run()
    }

    private func printSummary(_ findings: Findings, targets: [DatabaseTarget], loadAverage: String) async throws {
        let command = ProcessInfo.processInfo.environment["MODELGATE_BENCH_COMMAND"]
            ?? CommandLine.arguments.joined(separator: " ")
        print("\n# Summary (Markdown)\n")
        print("Command: `\(command)` (release build)  ")
        print("Machine: \(Machine.description), load average \(loadAverage) before the run  ")
        for target in targets { print("\(try await target.describe())  ") }
        print("HTTP figures: the load generator and the provider run in the bench process, next to Modelgate; "
            + "memory figures are of a separate `modelgate serve` process.")
        if !findings.rows.isEmpty { findings.printRows() }
        if !findings.memory.isEmpty { findings.printMemory() }
        if !findings.checks.isEmpty { findings.printChecks() }
    }
}
