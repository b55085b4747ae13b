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

/// The one door to the database. Reads and writes go through separate pools so that SQLite can
/// keep a single writer (its busy handler would otherwise spin) while readers run side by side in
/// WAL mode; on PostgreSQL both are the same pool.
public final class Database: Sendable {
    public let backend: SQLBackend
    private let writer: any ConnectionLeaser
    private let reader: any ConnectionLeaser
    private let logger: Logger
    /// Every statement sent through this database, reads and writes alike.
    public let statements = StatementCounter()

    init(backend: SQLBackend, writer: any ConnectionLeaser, reader: any ConnectionLeaser, logger: Logger) {
        self.backend = backend
        self.writer = writer
        self.reader = reader
        self.logger = logger
    }

    public static func open(_ url: DatabaseURL, logger: Logger, poolSize: Int = 4) async throws -> Database {
        let group = MultiThreadedEventLoopGroup.singleton
        switch url {
        case .sqliteFile(let path):
            let source = SQLiteSource(storage: .file(path: path), journalWAL: true)
            let writer = GroupPool(source: source, perLoop: 1, group: group.next(), logger: logger) { $0.sql() }
            // Touch the writer first so the file and WAL mode exist before readers open it.
            _ = try await writer.withConnection { try await $0.raw("SELECT 1").all() }
            let reader = GroupPool(source: source, perLoop: max(1, poolSize / 2), group: group, logger: logger) { $0.sql() }
            return Database(backend: .sqlite, writer: writer, reader: reader, logger: logger)
        case .sqliteMemory:
            let source = SQLiteSource(storage: .memory, journalWAL: false)
            let writer = GroupPool(source: source, perLoop: 1, group: group.next(), logger: logger) { $0.sql() }
            return Database(backend: .sqlite, writer: writer, reader: writer, logger: logger)
        case .postgres(let url):
            let configuration = try SQLPostgresConfiguration(url: url)
            let source = PostgresConnectionSource(sqlConfiguration: configuration)
            let pool = GroupPool(source: source, perLoop: poolSize, group: group, logger: logger) { $0.sql() }
            return Database(backend: .postgres, writer: pool, reader: pool, logger: logger)
        }
    }

    /// Runs statements that only read.
    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await reportingFaults { try await reader.withConnection { try await body(CountingSQLDatabase(base: $0, counter: statements)) } }
    }

    /// Runs one or more statements that write, each atomic on its own.
    public func write<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await reportingFaults { try await writer.withConnection { try await body(CountingSQLDatabase(base: $0, counter: statements)) } }
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
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await reportingFaults { try await runTransaction(body) }
    }

    private func runTransaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let begin = backend == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN"
        return try await writer.withConnection { base in
            let connection = CountingSQLDatabase(base: base, counter: statements)
            try await connection.raw(SQLQueryString(begin)).run()
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
        let leasers: [any ConnectionLeaser] = reader === writer ? [writer] : [writer, reader]
        return (leasers.map(\.inUse).reduce(0, +), leasers.map(\.capacity).reduce(0, +))
    }

    public func shutdown() async {
        await writer.shutdown()
        if reader !== writer { await reader.shutdown() }
    }
}

protocol ConnectionLeaser: AnyObject, Sendable {
    func withConnection<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
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
        // A request waits at most 30 s for a connection, then answers 503. A burst of charges to
        // one row (SQLite's one writer; a user's counter on PostgreSQL) queues for seconds on a
        // busy machine: 5 s and 10 s both refused some of them. AsyncKit's wait cannot be
        // cancelled, so a stopping instance does not wait for it (`runUntilStopped`).
        self.pool = EventLoopGroupConnectionPool(
            source: source, maxConnectionsPerEventLoop: perLoop, requestTimeout: .seconds(30), logger: logger, on: group)
        self.toSQL = toSQL
        self.capacity = perLoop * Array(group.makeIterator()).count
    }

    var inUse: Int { leased.withLockedValue { $0 } }

    func withConnection<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
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

/// SQLite connections with the settings Modelgate relies on: foreign keys always, WAL for files.
struct SQLiteSource: ConnectionPoolSource {
    let base: SQLiteConnectionSource
    let journalWAL: Bool

    init(storage: SQLiteConfiguration.Storage, journalWAL: Bool) {
        self.base = SQLiteConnectionSource(configuration: .init(storage: storage, enableForeignKeys: true))
        self.journalWAL = journalWAL
    }

    func makeConnection(logger: Logger, on eventLoop: any EventLoop) -> EventLoopFuture<SQLiteConnection> {
        let pragmas = journalWAL ? ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL"] : []
        return base.makeConnection(logger: logger, on: eventLoop).flatMap { connection in
            pragmas.reduce(eventLoop.makeSucceededVoidFuture()) { chain, pragma in
                chain.flatMap { connection.query(pragma).map { _ in } }
            }.map { connection }
        }
    }
}
