import AsyncHTTPClient
import Foundation
import ModelgateTestSupport
import NIOCore
import NIOPosix

/// Resident memory of a real `modelgate serve` process (a child, release build, SQLite) while it
/// holds many open chat streams. The fake provider answers each with one delta, then keeps the
/// stream open (a keep-alive comment every 20 ms) until Modelgate lets go.
struct MemoryBenchmark {
    let settings: BenchSettings
    let client: HTTPClient
    let binary: URL

    func run() async throws -> Findings {
        let fake = try await FakeProviderServer.start()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("modelgate-bench-\(UUID().uuidString)")
        return try await withCleanup {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let server = try await ChildModelgate.start(binary: binary, database: folder.appendingPathComponent("memory.sqlite").path, fake: fake)
            return try await withCleanup {
                try await measure(server, fake: fake)
            } cleanup: {
                await server.stop()
            }
        } cleanup: {
            await fake.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    private func measure(_ server: ChildModelgate, fake: FakeProviderServer) async throws -> Findings {
        let token = try await Bench.tokenAuthority().issue(users: 1)[0]
        let chat = StreamRequest.modelgateChat(baseURL: server.baseURL, token: token)
        for _ in 0..<10 { _ = try await chat.exchange(client: client) }
        try await Task.sleep(for: .seconds(1))
        let idle = try server.memory()
        let probe = ProcessInfo.processInfo.environment["DEBUG_DIRECT"] != nil ? StreamRequest.openAIDirect(baseURL: fake.baseURL(for: "openai")) : chat
        let (open, openingTime) = try await holdingStreams(settings.streams, of: probe, fake: fake) {
            try await Task.sleep(for: .seconds(2))
            guard fake.cancellations == 0 else { throw BenchError("\(fake.cancellations) provider streams closed while measuring") }
            return try server.memory()
        }
        let perStream = (open.residentKB - idle.residentKB) * 1024 / settings.streams
        return Findings(
            memory: [
                MemoryRow(label: "`modelgate serve`, idle after 10 exchanges", kilobytes: idle.residentKB),
                MemoryRow(label: "`modelgate serve`, \(Format.count(settings.streams)) open streams", kilobytes: open.residentKB),
                MemoryRow(label: "`modelgate serve`, peak (VmHWM)", kilobytes: open.peakKB),
            ],
            checks: [
                TargetCheck(target: "RSS < 100 MB with \(Format.count(settings.streams)) open streams",
                            measured: Format.megabytes(open.residentKB), met: open.residentKB < 100 * 1024),
            ],
            notes: [
                "`modelgate serve` runs as a child process (\(binary.path), SQLite, log level error); only its memory is counted. "
                    + "The fake provider and the \(Format.count(settings.streams)) clients live in the bench process.",
                "Streams opened one after another (each waits for its first delta) in \(Format.seconds(openingTime)); RSS read from "
                    + "/proc/<pid>/status 2 s after the last one opened, every provider stream still open: "
                    + "≈\(Format.count(perStream)) bytes per open stream above idle.",
            ])
    }

    /// Opens `count` streams that the fake keeps open, runs `body` while they all are, then closes them.
    private func holdingStreams<T: Sendable>(
        _ count: Int, of chat: StreamRequest, fake: FakeProviderServer, while body: () async throws -> T
    ) async throws -> (T, Duration) {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let start = ContinuousClock.now
            for i in 0..<count {
                if i % 50 == 0 { FileHandle.standardError.write("DEBUG \(i) \(ContinuousClock.now - start)\n".data(using: .utf8)!) }
                try await openHangingStream(of: chat, fake: fake, in: &group)
            }
            let openingTime = ContinuousClock.now - start
            let result = try await body()
            group.cancelAll()
            return (result, openingTime)
        }
    }

    /// Scripts the fake's next answer to hang, starts a stream in `group` and waits for its first delta.
    private func openHangingStream(
        of chat: StreamRequest, fake: FakeProviderServer, in group: inout ThrowingTaskGroup<Void, any Error>
    ) async throws {
        fake.script(.hang)
        let (opened, signal) = AsyncStream.makeStream(of: Void.self)
        group.addTask { [client] in
            defer { signal.finish() }
            do {
                _ = try await chat.exchange(client: client) { signal.yield() }
            } catch where Task.isCancelled {
                return
            }
        }
        var iterator = opened.makeAsyncIterator()
        let t0 = ContinuousClock.now
        defer { let d = ContinuousClock.now - t0; if d > .milliseconds(100) { FileHandle.standardError.write("DEBUG \(Date()) slow open \(d) cancellations=\(fake.cancellations) requests=\(fake.requests.count)\n".data(using: .utf8)!) } }
        guard await iterator.next() != nil else {
            try await group.next()  // the stream's own error, if it failed
            throw BenchError("a stream closed before its first delta")
        }
    }
}

/// `modelgate serve` started from the release build as a child process, on a free loopback port.
final class ChildModelgate {
    let baseURL: String
    private let process: Process

    private init(baseURL: String, process: Process) {
        self.baseURL = baseURL
        self.process = process
    }

    static func start(binary: URL, database: String, fake: FakeProviderServer) async throws -> ChildModelgate {
        let port = try await freeLoopbackPort()
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve"]
        process.environment = environment(port: port, database: database, fake: fake)
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

    private static func environment(port: Int, database: String, fake: FakeProviderServer) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MODELGATE_") }
        environment["MODELGATE_PORT"] = String(port)
        environment["MODELGATE_DATABASE_URL"] = "sqlite:\(database)"
        environment["MODELGATE_JWT_SECRET"] = Bench.jwtSecret
        environment["MODELGATE_LOG_LEVEL"] = "error"
        environment["MODELGATE_OPENAI_API_KEY"] = "key-openai"
        environment["MODELGATE_OPENAI_BASE_URL"] = fake.baseURL(for: "openai")
        return environment
    }

    private static func freeLoopbackPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw BenchError("no free loopback port") }
        return port
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

    /// Resident and peak resident memory from `/proc/<pid>/status`, in kB.
    func memory() throws -> (residentKB: Int, peakKB: Int) {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        func kilobytes(_ field: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
            return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        }
        return (kilobytes("VmRSS"), kilobytes("VmHWM"))
    }

    /// SIGTERM (graceful shutdown), then SIGKILL if it is still running after 10 s.
    func stop() async {
        process.terminate()
        for _ in 0..<200 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
