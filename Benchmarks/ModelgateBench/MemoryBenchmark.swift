import AsyncHTTPClient
import Dispatch
import Foundation
import NIOCore
import NIOPosix

/// Resident memory of a real `modelgate serve` process (a child, release build, SQLite) while it
/// holds many open chat streams, each waiting on a provider that sent one delta and went quiet.
struct MemoryBenchmark {
    let settings: BenchSettings
    let client: HTTPClient
    let binary: URL
    static let warmupStreams = 10

    func run() async throws -> Findings {
        let provider = try await HangingProvider.start()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("modelgate-bench-\(UUID().uuidString)")
        return try await withCleanup {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let server = try await ChildModelgate.start(
                binary: binary, database: folder.appendingPathComponent("memory.sqlite").path, openAIBaseURL: provider.baseURL)
            return try await withCleanup {
                try await measure(server, provider: provider)
            } cleanup: {
                await server.stop()
            }
        } cleanup: {
            await provider.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    private func measure(_ server: ChildModelgate, provider: HangingProvider) async throws -> Findings {
        // Free models allow a user 200 messages a day: enough users that none runs out.
        let tokens = try await Bench.tokenAuthority().issue(users: settings.streams / 100 + 1)
        let chats = tokens.map { StreamRequest.modelgateChat(baseURL: server.baseURL, token: $0) }
        _ = try await holdingStreams(Self.warmupStreams, of: chats) {}
        try await Task.sleep(for: .seconds(1))
        let idle = try server.memory()
        let (open, openingTime) = try await holdingStreams(settings.streams, of: chats) {
            try await Task.sleep(for: .seconds(2))
            let held = provider.openStreams
            guard held >= settings.streams else { throw BenchError("only \(held) of \(settings.streams) provider streams open") }
            return try server.memory()
        }
        return findings(idle: idle, open: open, openingTime: openingTime)
    }

    private func findings(idle: ProcessMemory, open: ProcessMemory, openingTime: Duration) -> Findings {
        let streams = Format.count(settings.streams)
        let perStream = (open.residentKB - idle.residentKB) * 1024 / settings.streams
        // The targets of issue 18: 100 MB with 1,000 open streams, 300 MB with 10,000.
        let targetMB = settings.streams <= 1_000 ? 100 : 300
        return Findings(
            memory: [
                MemoryRow(label: "`modelgate serve`, idle (after \(Self.warmupStreams) streams opened and closed)",
                          kilobytes: idle.residentKB),
                MemoryRow(label: "`modelgate serve`, \(streams) open streams", kilobytes: open.residentKB),
                MemoryRow(label: "`modelgate serve`, peak (VmHWM)", kilobytes: open.peakKB),
            ],
            checks: [
                TargetCheck(target: "RSS ≤ \(targetMB) MB with \(streams) open streams", measured: Format.megabytes(open.residentKB),
                            met: open.residentKB * 1024 <= targetMB * 1_000_000),
            ],
            notes: [
                "`modelgate serve` runs as a child process (\(binary.path), SQLite, log level error); only its memory is counted. "
                    + "The provider and the \(streams) clients live in the bench process.",
                "Each stream is a `POST /api/chat` whose provider (OpenAI format) sends one delta, then a keep-alive comment every "
                    + "5 s; Modelgate sends its heartbeat every second. Opened one after another, each waiting for its first delta, "
                    + "in \(Format.seconds(openingTime)).",
                "RSS from /proc/<pid>/status 2 s after the last stream opened, all \(streams) provider streams still open: "
                    + "≈\(Format.count(perStream)) bytes per open stream above idle.",
            ])
    }

    /// Opens `count` streams, runs `body` while they are all open, then closes them; also returns
    /// how long opening took.
    private func holdingStreams<T: Sendable>(
        _ count: Int, of chats: [StreamRequest], while body: () async throws -> T
    ) async throws -> (T, Duration) {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let start = ContinuousClock.now
            for index in 0..<count {
                try await openStream(chats[index % chats.count], in: &group)
            }
            let openingTime = ContinuousClock.now - start
            let result = try await body()
            group.cancelAll()
            return (result, openingTime)
        }
    }

    /// Starts a stream in `group` that reads until cancelled, and waits for its first delta.
    private func openStream(_ chat: StreamRequest, in group: inout ThrowingTaskGroup<Void, any Error>) async throws {
        let (opened, signal) = AsyncStream.makeStream(of: Void.self)
        group.addTask { [client] in
            defer { signal.finish() }
            do {
                _ = try await chat.exchange(client: client) { signal.yield() }
            } catch where Task.isCancelled {
                return
            }
        }
        var firstDelta = opened.makeAsyncIterator()
        guard await firstDelta.next() != nil else {
            try await group.next()  // rethrows the stream's own error
            throw BenchError("a stream closed before its first delta")
        }
    }
}

struct ProcessMemory: Sendable {
    let residentKB: Int
    let peakKB: Int
}

/// `modelgate serve` from the release build as a child process on a free loopback port. Foundation
/// starts it in its own process group, so an interrupt of the bench is passed on to it.
final class ChildModelgate {
    let baseURL: String
    private let process: Process
    private let interrupts: [any DispatchSourceSignal]

    private init(baseURL: String, process: Process) {
        self.baseURL = baseURL
        self.process = process
        self.interrupts = Self.forwardInterrupts(to: process.processIdentifier)
    }

    static func start(binary: URL, database: String, openAIBaseURL: String) async throws -> ChildModelgate {
        let port = try await freeLoopbackPort()
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve"]
        process.environment = environment(port: port, database: database, openAIBaseURL: openAIBaseURL)
        try process.run()
        let child = ChildModelgate(baseURL: "http://127.0.0.1:\(port)", process: process)
        do {
            try await child.waitUntilHealthy()
        } catch {
            await child.stop()
            throw error
        }
        return child
    }

    private static func environment(port: Int, database: String, openAIBaseURL: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MODELGATE_") }
        environment["MODELGATE_PORT"] = String(port)
        environment["MODELGATE_DATABASE_URL"] = "sqlite:\(database)"
        environment["MODELGATE_JWT_SECRET"] = Bench.jwtSecret
        environment["MODELGATE_LOG_LEVEL"] = "error"
        environment["MODELGATE_OPENAI_API_KEY"] = "key-openai"
        environment["MODELGATE_OPENAI_BASE_URL"] = openAIBaseURL
        // Many streams from few users: the per-user abuse limits would refuse them, and the
        // connection cap (4,096 by default) would queue the clients beyond it.
        environment["MODELGATE_USER_RPM"] = "off"
        environment["MODELGATE_USER_MAX_STREAMS"] = "off"
        environment["MODELGATE_MAX_CONNECTIONS"] = "65536"
        return environment
    }

    private static func freeLoopbackPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw BenchError("no free loopback port") }
        return port
    }

    /// On SIGINT or SIGTERM: stop the child, then exit as the signal would have.
    private static func forwardInterrupts(to pid: Int32) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber)
            source.setEventHandler {
                kill(pid, SIGTERM)
                exit(128 + signalNumber)
            }
            source.resume()
            return source
        }
    }

    private func waitUntilHealthy() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw BenchError("modelgate serve exited during start-up") }
            if (try? await LoadClient.get("\(baseURL)/healthz", client: .shared)) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("modelgate serve did not answer /healthz within 30 s")
    }

    /// Resident and peak resident memory from `/proc/<pid>/status`.
    func memory() throws -> ProcessMemory {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        func kilobytes(_ field: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
            return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        }
        return ProcessMemory(residentKB: kilobytes("VmRSS"), peakKB: kilobytes("VmHWM"))
    }

    /// SIGTERM (graceful shutdown), then SIGKILL if it is still running after 10 s.
    func stop() async {
        process.terminate()
        for _ in 0..<200 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for source in interrupts { source.cancel() }
        for signalNumber in [SIGINT, SIGTERM] { signal(signalNumber, SIG_DFL) }
    }
}
