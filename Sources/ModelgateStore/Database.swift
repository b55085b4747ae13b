@preconcurrency import AsyncKit
import Foundation
import Logging
import ModelgateCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit

public enum SQLBackend: String, Sendable {
    case sqlite, postgres
}

/// How long a read may take: a `long` one (statistics, exports) runs away from the request threads.
public enum ReadLength: Sendable {
    case short, long
}

/// What a write needs before it is acknowledged.
public enum Durability: Sendable {
    /// On disk (money, history, audit, identity): SQLite fsyncs its commit.
    case durable
    /// Survives a crash of the process but may be lost with the last moments before a power cut (or
    /// of the database server's crash): counters that only guard capacity (request windows, open-call
    /// slots), which a lost update leaves harmlessly low or expiring. On SQLite such a commit skips
    /// the fsync, and the next durable commit makes it durable too; on PostgreSQL it goes through
    /// connections with `synchronous_commit = off` (no wait for the WAL flush, never inconsistent).
    case crashSafe
}

/// The one door to the database. Reads and writes go through separate pools so that SQLite can
/// keep a single writer (its busy handler would otherwise spin) while readers run side by side in
/// WAL mode; on PostgreSQL both are the same pool.
public final class Database: Sendable {
    public let backend: SQLBackend
    private let writer: any ConnectionLeaser
    private let reader: any ConnectionLeaser
    /// PostgreSQL connections that do not wait for the WAL flush, for `.crashSafe` writes.
    private let crashSafeWriter: (any ConnectionLeaser)?
    private let logger: Logger
    /// Every statement sent through this database, reads and writes alike.
    public let statements = StatementCounter()

    init(
        backend: SQLBackend, writer: any ConnectionLeaser, reader: any ConnectionLeaser, crashSafeWriter: (any ConnectionLeaser)? = nil,
        logger: Logger
    ) {
        self.backend = backend
        self.writer = writer
        self.reader = reader
        self.crashSafeWriter = crashSafeWriter
        self.logger = logger
    }

    public static func open(_ url: DatabaseURL, logger: Logger, poolSize: Int = 4) async throws -> Database {
        let group = MultiThreadedEventLoopGroup.singleton
        switch url {
        case .sqliteFile(let path):
            // Durable: a write is acknowledged only once its commit is on disk (`synchronous = FULL`);
            // group commit (`SQLiteWriter`) makes that one fsync per batch.
            let writer = SQLiteWriter(
                handle: try SQLiteHandle(path: path, pragmas: ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"]), logger: logger)
            let readers = SQLiteReaders(capacity: max(2, poolSize), logger: logger) { try SQLiteHandle(path: path, pragmas: []) }
            return Database(backend: .sqlite, writer: writer, reader: readers, logger: logger)
        case .sqliteMemory:
            let writer = SQLiteWriter(handle: try SQLiteHandle(path: ":memory:", pragmas: []), logger: logger)
            return Database(backend: .sqlite, writer: writer, reader: writer, logger: logger)
        case .postgres(let url):
            let configuration = try SQLPostgresConfiguration(url: url)
            let pool = GroupPool(source: PostgresConnectionSource(sqlConfiguration: configuration), perLoop: poolSize, group: group, logger: logger) {
                $0.sql()
            }
            // A startup parameter, so it costs no statement.
            var relaxed = configuration
            relaxed.coreConfiguration.options.additionalStartupParameters.append(("synchronous_commit", "off"))
            let crashSafe = GroupPool(
                source: PostgresConnectionSource(sqlConfiguration: relaxed), perLoop: max(1, poolSize / 2), group: group, logger: logger
            ) { $0.sql() }
            return Database(backend: .postgres, writer: pool, reader: pool, crashSafeWriter: crashSafe, logger: logger)
        }
    }

    /// Runs statements that only read.
    public func read<T: Sendable>(
        _ length: ReadLength = .short, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        let run = { [reader, statements] in try await reader.withConnection { try await body(CountingSQLDatabase(base: $0, counter: statements)) } }
        guard length == .long, backend == .sqlite else { return try await reportingFaults(run) }
        return try await withTaskExecutorPreference(LongReadExecutor.shared) { try await self.reportingFaults(run) }
    }

    /// Runs one or more statements that write, each atomic on its own.
    public func write<T: Sendable>(
        _ durability: Durability = .durable, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await reportingFaults {
            if let writer = writer as? SQLiteWriter {
                return try await writer.withConnection(atomic: false, durability: durability) { [statements] in
                    try await body(CountingSQLDatabase(base: $0, counter: statements))
                }
            }
            return try await leaser(for: durability).withConnection { [statements] in
                try await body(CountingSQLDatabase(base: $0, counter: statements))
            }
        }
    }

    private func leaser(for durability: Durability) -> any ConnectionLeaser {
        durability == .crashSafe ? crashSafeWriter ?? writer : writer
    }

    /// A database that cannot be reached or written now (restart, lost connection, full disk,
    /// read-only file) becomes `databaseUnavailable` with one clear log line; other errors pass.
    private func reportingFaults<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch where DatabaseFault.isUnavailable(error) {
            logger.error("database unavailable", metadata: ["backend": "\(backend.rawValue)", "error": "\(String(reflecting: error))"])
            throw ModelgateError.databaseUnavailable
        }
    }

    /// Runs `body` in one transaction: all of it is committed, or none of it when `body` throws.
    public func transaction<T: Sendable>(
        _ durability: Durability = .durable, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await reportingFaults { try await runTransaction(durability, body) }
    }

    private func runTransaction<T: Sendable>(
        _ durability: Durability, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        // SQLite's writer runs every write in a savepoint of its group commit's transaction.
        if let writer = writer as? SQLiteWriter {
            return try await writer.withConnection(atomic: true, durability: durability) { [statements] in
                try await body(CountingSQLDatabase(base: $0, counter: statements))
            }
        }
        return try await leaser(for: durability).withConnection { [statements] base in
            let connection = CountingSQLDatabase(base: base, counter: statements)
            try await connection.raw("BEGIN").run()
            do {
                let result = try await body(connection)
                try await connection.raw("COMMIT").run()
                return result
            } catch {
                try? await connection.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// Connections leased right now and the most the pools may open (writer and readers together).
    public var pool: (inUse: Int, max: Int) {
        let leasers: [any ConnectionLeaser] = (reader === writer ? [writer] : [writer, reader]) + [crashSafeWriter].compactMap { $0 }
        return (leasers.map(\.inUse).reduce(0, +), leasers.map(\.capacity).reduce(0, +))
    }

    public func shutdown() async {
        await writer.shutdown()
        if reader !== writer { await reader.shutdown() }
        await crashSafeWriter?.shutdown()
    }
}

protocol ConnectionLeaser: AnyObject, Sendable {
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    func shutdown() async
    var inUse: Int { get }
    var capacity: Int { get }
}

/// An AsyncKit pool leased from async code: one connection per `withConnection`, returned after.
/// The AsyncKit pool locks its own state, so sharing it across tasks is safe.
final class GroupPool<Source: ConnectionPoolSource>: ConnectionLeaser, @unchecked Sendable {
    private let pool: EventLoopGroupConnectionPool<Source>
    private let toSQL: @Sendable (Source.Connection) -> any SQLDatabase
    private let leased = NIOLockedValueBox(0)
    let capacity: Int

    init(
        source: Source, perLoop: Int, group: any EventLoopGroup, logger: Logger,
        toSQL: @escaping @Sendable (Source.Connection) -> any SQLDatabase
    ) {
        // A request waits at most 10 s for a connection, then answers 503 with Retry-After: a pool
        // full for that long is overload, and a client is better told to retry than left waiting.
        // One user's burst cannot fill it: their calls beyond the open-call limit are refused
        // before they ask for a connection. AsyncKit's wait cannot be cancelled, so a stopping
        // instance does not wait for it (`runUntilStopped`).
        self.pool = EventLoopGroupConnectionPool(
            source: source, maxConnectionsPerEventLoop: perLoop, requestTimeout: .seconds(10), logger: logger, on: group)
        self.toSQL = toSQL
        self.capacity = perLoop * Array(group.makeIterator()).count
    }

    var inUse: Int { leased.withLockedValue { $0 } }

    func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let connection = try await pool.requestConnection().get()
        leased.withLockedValue { $0 += 1 }
        defer {
            leased.withLockedValue { $0 -= 1 }
            pool.releaseConnection(connection)
        }
        return try await body(toSQL(connection))
    }

    func shutdown() async {
        try? await pool.shutdownAsync()
    }
}

extension Database {
    /// One trivial read: the database answers (readiness).
    public func ping() async throws {
        _ = try await read { try await $0.raw("SELECT 1 AS one").all() }
    }
}
