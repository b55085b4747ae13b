import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import VaporCSQLite

/// One SQLite connection, driven synchronously on the calling thread with its statements
/// prepared once and reused. SQLiteNIO sends every statement to a thread pool and back, three
/// thread switches each; a chat message ran a dozen, and the profile showed the switches, not
/// SQLite, as the cost (Benchmarks/README.md). This uses SQLiteNIO's own vendored SQLite, so one
/// SQLite library (and one set of POSIX file locks) serves the process.
///
/// Not thread-safe: its owner (`SQLiteWriter`, `SQLiteReaders`) lets one task use it at a time.
final class SQLiteHandle: @unchecked Sendable {
    private var raw: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    /// More distinct statements than this are not kept (ad-hoc SQL must not grow memory).
    private static let statementCacheLimit = 512

    init(path: String, pragmas: [String]) throws {
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE
        let opened = sqlite_nio_sqlite3_open_v2(path, &raw, flags, nil)
        guard opened == SQLITE_OK else {
            let failure = SQLiteFailure(code: opened, message: raw.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "cannot open \(path)")
            sqlite_nio_sqlite3_close(raw)
            raw = nil
            throw failure
        }
        // Another process (the CLI beside `serve`) may hold the write lock for a moment.
        sqlite_nio_sqlite3_busy_timeout(raw, 30_000)
        do {
            for pragma in ["PRAGMA foreign_keys = ON"] + pragmas { try run(pragma, binds: []) { _ in } }
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    func close() {
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) }
        statements = [:]
        if let raw { sqlite_nio_sqlite3_close(raw) }
        raw = nil
    }

    /// Whether a transaction is open (SQLite may end one by itself after some errors).
    var inTransaction: Bool { raw.map { sqlite_nio_sqlite3_get_autocommit($0) == 0 } ?? false }

    /// Runs one statement, calling `onRow` with each row.
    func run(_ sql: String, binds: [SQLiteData], onRow: (SQLiteRowValues) throws -> Void) throws {
        guard let raw else { throw SQLiteFailure.closed }
        let statement = try prepared(sql, on: raw)
        defer {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        for (index, value) in binds.enumerated() { try check(bind(value, at: Int32(index + 1), to: statement), raw) }
        var columns: [String]?
        while true {
            let step = sqlite_nio_sqlite3_step(statement)
            guard step == SQLITE_ROW else {
                try check(step, raw)
                return
            }
            let names = columns ?? Self.columnNames(of: statement)
            columns = names
            try onRow(SQLiteRowValues(columns: names, values: try (0..<Int32(names.count)).map { try Self.value(of: statement, at: $0) }))
        }
    }

    private func prepared(_ sql: String, on raw: OpaquePointer) throws -> OpaquePointer {
        if let cached = statements[sql] { return cached }
        var statement: OpaquePointer?
        let result = sqlite_nio_sqlite3_prepare_v3(raw, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else { throw SQLiteFailure(code: result, message: String(cString: sqlite_nio_sqlite3_errmsg(raw))) }
        if statements.count >= Self.statementCacheLimit {
            for old in statements.values { sqlite_nio_sqlite3_finalize(old) }
            statements = [:]
        }
        statements[sql] = statement
        return statement
    }

    private func check(_ result: Int32, _ raw: OpaquePointer) throws {
        guard result == SQLITE_OK || result == SQLITE_DONE || result == SQLITE_ROW else {
            throw SQLiteFailure(code: sqlite_nio_sqlite3_extended_errcode(raw), message: String(cString: sqlite_nio_sqlite3_errmsg(raw)))
        }
    }

    private func bind(_ value: SQLiteData, at index: Int32, to statement: OpaquePointer) -> Int32 {
        switch value {
        case .blob(let bytes):
            bytes.withUnsafeReadableBytes { sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), Self.transient) }
        case .float(let number): sqlite_nio_sqlite3_bind_double(statement, index, number)
        case .integer(let number): sqlite_nio_sqlite3_bind_int64(statement, index, Int64(number))
        case .null: sqlite_nio_sqlite3_bind_null(statement, index)
        case .text(let text): sqlite_nio_sqlite3_bind_text64(statement, index, text, UInt64(text.utf8.count), Self.transient, UInt8(SQLITE_UTF8))
        }
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func columnNames(of statement: OpaquePointer) -> [String] {
        (0..<sqlite_nio_sqlite3_column_count(statement)).map { index in
            sqlite_nio_sqlite3_column_name(statement, index).map { String(cString: $0) } ?? ""
        }
    }

    private static func value(of statement: OpaquePointer, at index: Int32) throws -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(Int(sqlite_nio_sqlite3_column_int64(statement, index)))
        case SQLITE_FLOAT: return .float(sqlite_nio_sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            guard let text = sqlite_nio_sqlite3_column_text(statement, index) else { return .null }
            let length = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: length), as: UTF8.self))
        case SQLITE_BLOB:
            let length = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
            var buffer = ByteBufferAllocator().buffer(capacity: length)
            if let bytes = sqlite_nio_sqlite3_column_blob(statement, index) { buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: length)) }
            return .blob(buffer)
        default: return .null
        }
    }
}

/// A failed SQLite call: its extended result code and SQLite's message.
public struct SQLiteFailure: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String

    /// The primary result code (`SQLITE_FULL`, `SQLITE_CONSTRAINT`, …) without the extended part.
    public var primaryCode: Int32 { code & 0xFF }
    public var description: String { "SQLite error \(code): \(message)" }

    public static let constraintForeignKey: Int32 = 787
    public static let constraintCheck: Int32 = 275
    public static let constraintPrimaryKey: Int32 = 1555
    public static let constraintUnique: Int32 = 2067

    /// The disk is full or read-only, the file is gone or cannot be read, or the database was
    /// closed (the process is stopping): the database is away.
    var meansUnavailable: Bool { [SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_MISUSE].contains(primaryCode) }

    /// What a closed connection answers (SQLite's own code for a call on a closed handle).
    static let closed = SQLiteFailure(code: SQLITE_MISUSE, message: "the database is closed")
}

/// One row as SQLite returned it.
struct SQLiteRowValues: Sendable {
    let columns: [String]
    let values: [SQLiteData]
}

/// A row for SQLKit's decoding, with SQLiteKit's value decoding.
private struct SQLiteSQLRow: SQLRow {
    let row: SQLiteRowValues
    let decoder: SQLiteDataDecoder

    var allColumns: [String] { row.columns }

    private func value(_ column: String) -> SQLiteData? {
        row.columns.firstIndex(of: column).map { row.values[$0] }
    }

    func contains(column: String) -> Bool { row.columns.contains(column) }

    func decodeNil(column: String) throws -> Bool { (value(column) ?? .null) == .null }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let value = value(column) else {
            throw DecodingError.keyNotFound(SQLiteColumnKey(column), .init(codingPath: [], debugDescription: "no column \(column)"))
        }
        return try decoder.decode(D.self, from: value)
    }
}

private struct SQLiteColumnKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// SQLKit over a leased `SQLiteHandle`: statements run at once on the calling thread, so a
/// transaction's statements cost no thread switches.
struct SQLiteSession: SQLDatabase {
    let handle: SQLiteHandle
    let logger: Logger
    private let encoder = SQLiteDataEncoder()
    private let decoder = SQLiteDataDecoder()

    init(handle: SQLiteHandle, logger: Logger) {
        self.handle = handle
        self.logger = logger
    }

    /// SQLKit requires an event loop for its legacy future API; nothing here runs on it.
    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { .debug }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        do {
            try run(query, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        try run(query, onRow)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> ()) throws {
        let (sql, binds) = serialize(query)
        logger.debug("Executing query", metadata: ["sql": .string(sql)])
        try handle.run(sql, binds: try binds.map { try encoder.encode($0) }) { row in
            onRow(SQLiteSQLRow(row: row, decoder: decoder))
        }
    }
}
