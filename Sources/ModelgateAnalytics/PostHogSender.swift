import AsyncHTTPClient
import Foundation
import Logging
import ModelgateCore
import ModelgateMetrics
import ModelgateStore
import NIOCore
import ServiceLifecycle
import SQLKit

/// A PostHog project API key (`phc_…`): it goes in the body of `/batch/`, never in a header.
public struct PostHogAPIKey: Sendable, Equatable {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Where and how analytics events are delivered, and how long the outbox keeps them.
public struct AnalyticsConfiguration: Sendable {
    /// `nil`: nothing is sent, events stay in the outbox (`modelgate analytics tail`).
    public var apiKey: PostHogAPIKey?
    public var host: String
    public var batchSize = 100
    /// Pause after the outbox was drained.
    public var pollInterval: Duration = .seconds(1)
    public var backoff = Backoff()
    public var requestTimeout: TimeAmount = .seconds(10)
    /// Delivered rows are purged after this long.
    public var deliveredRetention: TimeInterval = 7 * 86_400
    /// Undelivered rows older than this are dropped (and counted in the log).
    public var maxAge: TimeInterval = 30 * 86_400
    /// How often retention runs.
    public var purgeInterval: TimeInterval = 600

    public init(apiKey: PostHogAPIKey? = nil, host: String = "https://us.i.posthog.com") {
        self.apiKey = apiKey
        self.host = host.hasSuffix("/") ? String(host.dropLast()) : host
    }
}

/// Delivers the analytics outbox to PostHog's `/batch/` API, oldest first, in batches, at least
/// once: a row is marked delivered only after PostHog answered 200, and its id is the event's
/// `uuid`, so a batch sent twice (an instance died before marking it) is de-duplicated by PostHog.
/// On PostgreSQL each batch is claimed with `FOR UPDATE SKIP LOCKED` inside a transaction that
/// lasts until the answer, so several instances never send the same row at the same time; SQLite
/// has one writer process, so rows are read, sent and then marked without holding the writer.
/// Without an API key only retention and the depth gauge run.
public final class PostHogSender: Service, Sendable {
    public enum Pass: Sendable, Equatable {
        case idle
        case delivered(Int)
        case failed(String)
    }

    let configuration: AnalyticsConfiguration
    let outbox: OutboxRepository
    let http: HTTPClient
    let clock: any WallClock
    let metrics: ModelgateMetrics
    let logger: Logger
    let sleep: @Sendable (Duration) async throws -> Void
    let random: @Sendable () -> Double

    public init(
        configuration: AnalyticsConfiguration, database: Database, http: HTTPClient, clock: any WallClock, metrics: ModelgateMetrics,
        logger: Logger, sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.configuration = configuration
        self.outbox = OutboxRepository(database: database)
        self.http = http
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        self.sleep = sleep
        self.random = random
    }

    public func run() async throws {
        if configuration.apiKey == nil {
            logger.info("MODELGATE_POSTHOG_API_KEY is not set: analytics events stay local (modelgate analytics tail)")
        }
        try? await cancelWhenGracefulShutdown { try await self.loop() }
        // Stopping: one last batch, so a deploy leaves as little as possible waiting for the next instance.
        _ = await deliverOnce()
    }

    func loop() async throws {
        var failures = 0
        var lastPurge: Date?
        while !Task.isCancelled {
            if lastPurge.map({ clock.now().timeIntervalSince($0) >= configuration.purgeInterval }) ?? true {
                lastPurge = clock.now()
                do { try await purge() } catch { logger.warning("analytics retention failed", metadata: ["error": "\(error)"]) }
            }
            let pass = await deliverOnce()
            if let depth = try? await outbox.depth() { metrics.outboxDepth(depth) }
            switch pass {
            case .delivered(let count) where count == configuration.batchSize:
                failures = 0
            case .idle, .delivered:
                failures = 0
                try await sleep(configuration.pollInterval)
            case .failed:
                failures += 1
                try await sleep(configuration.backoff.delay(afterFailures: failures, random: random()))
            }
        }
    }

    /// Sends one batch of the oldest pending rows and settles them.
    public func deliverOnce() async -> Pass {
        guard let key = configuration.apiKey else { return .idle }
        do {
            switch outbox.database.backend {
            case .postgres:
                return try await outbox.database.transaction { db in
                    let rows = try await OutboxRepository.pending(limit: self.configuration.batchSize, lock: true, in: db)
                    return try await self.settle(rows, after: await self.send(rows, key: key), in: db)
                }
            case .sqlite:
                let limit = configuration.batchSize
                let rows = try await outbox.database.read { try await OutboxRepository.pending(limit: limit, lock: false, in: $0) }
                let result = await send(rows, key: key)
                return try await outbox.database.write { try await self.settle(rows, after: result, in: $0) }
            }
        } catch {
            if Task.isCancelled { return .idle }
            metrics.analyticsDeliveryFailed()
            logger.warning("analytics outbox unavailable", metadata: ["error": "\(error)"])
            return .failed("\(error)")
        }
    }

    private func settle(_ rows: [OutboxRow], after result: Result<Void, PostHogFailure>?, in db: any SQLDatabase) async throws -> Pass {
        guard let result else { return .idle }
        let ids = rows.map(\.id)
        switch result {
        case .success:
            try await OutboxRepository.markDelivered(ids, at: clock.now(), in: db)
            metrics.analyticsDelivered(ids.count)
            return .delivered(ids.count)
        case .failure(let failure):
            try await OutboxRepository.markFailed(ids, error: failure.description, in: db)
            metrics.analyticsDeliveryFailed()
            logger.warning("PostHog did not accept a batch", metadata: ["events": "\(ids.count)", "error": "\(failure)"])
            return .failed(failure.description)
        }
    }

    /// `nil` when there was nothing to send (or the sender is stopping).
    private func send(_ rows: [OutboxRow], key: PostHogAPIKey) async -> Result<Void, PostHogFailure>? {
        guard !rows.isEmpty else { return nil }
        var request = HTTPClientRequest(url: configuration.host + "/batch/")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "modelgate")
        do {
            request.body = .bytes(ByteBuffer(bytes: try PostHogBatch.body(rows, key: key, sentAt: clock.now())))
            let response = try await http.execute(request, timeout: configuration.requestTimeout)
            let body = try? await response.body.collect(upTo: 64 * 1024)
            guard response.status.code == 200 else {
                return .failure(.status(Int(response.status.code), body.map { String(buffer: $0).prefix(200) }.map(String.init) ?? ""))
            }
            return .success(())
        } catch {
            // Shutting down mid-request: the rows stay pending for the next run, no failure counted.
            if Task.isCancelled { return nil }
            return .failure(.transport("\(error)"))
        }
    }

    /// Applies retention: delivered rows after `deliveredRetention`, undelivered ones after `maxAge`.
    public func purge() async throws {
        let now = clock.now()
        let purged = try await outbox.purge(
            deliveredBefore: now - configuration.deliveredRetention, undeliveredBefore: now - configuration.maxAge)
        if purged.dropped > 0 {
            logger.warning("dropped undelivered analytics events older than the outbox retention", metadata: ["events": "\(purged.dropped)"])
        }
        if let depth = try? await outbox.depth() { metrics.outboxDepth(depth) }
    }
}

enum PostHogFailure: Error, CustomStringConvertible {
    case status(Int, String)
    case transport(String)

    var description: String {
        switch self {
        case .status(let code, let body): "HTTP \(code)\(body.isEmpty ? "" : ": \(body)")"
        case .transport(let reason): reason
        }
    }
}

/// The `/batch/` body of PostHog's capture API (see `../shared/reference/wire-formats.md` §5).
enum PostHogBatch {
    static func body(_ rows: [OutboxRow], key: PostHogAPIKey, sentAt: Date) throws -> [UInt8] {
        let batch: [JSONValue] = rows.map { row in
            var properties: [String: JSONValue] = [:]
            if case .object(let object) = row.properties { properties = object }
            // Server-side events: PostHog must not geolocate Modelgate's own address.
            properties["$lib"] = .string("modelgate")
            properties["$geoip_disable"] = .bool(true)
            return .object([
                "event": .string(row.event), "distinct_id": .string(row.distinctID), "properties": .object(properties),
                "uuid": .string(row.id), "timestamp": .string(ISO8601.string(row.createdAt)),
            ])
        }
        let body: JSONValue = .object([
            "api_key": .string(key.rawValue), "batch": .array(batch), "historical_migration": .bool(false),
            "sent_at": .string(ISO8601.string(sentAt)),
        ])
        return Array(try JSONEncoder().encode(body))
    }
}
