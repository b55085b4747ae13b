import Foundation
import SQLKit

/// Backups of the embedded database. PostgreSQL has its own tools (`pg_dump`, point-in-time
/// recovery; see docs/operations.md), so these refuse it.
public enum Backup {
    public enum Failure: Error, CustomStringConvertible {
        case notSQLite
        case exists(String)
        case damaged(String, report: String)

        public var description: String {
            switch self {
            case .notSQLite: "backup and restore are for SQLite; on PostgreSQL use pg_dump / pg_restore or point-in-time recovery"
            case .exists(let path): "\(path) exists; choose a new file (or --force to replace a database)"
            case .damaged(let path, let report): "\(path) fails SQLite's integrity check: \(report)"
            }
        }
    }

    /// A consistent copy of a live database at one moment (`VACUUM INTO` inside a read
    /// transaction), taken while it keeps serving: writers go on meanwhile.
    public static func take(of database: Database, to path: String) async throws {
        guard database.backend == .sqlite else { throw Failure.notSQLite }
        guard !FileManager.default.fileExists(atPath: path) else { throw Failure.exists(path) }
        try await database.read { db in try await db.raw("VACUUM INTO \(bind: path)").run() }
    }

    /// Puts a backup in place of the database file of a stopped server, after checking it: the
    /// copy is made beside the target and renamed over it, so a failure leaves the old file whole.
    public static func restore(from backup: String, to target: String, replacing: Bool) async throws {
        try await check(backup)
        let files = FileManager.default
        if files.fileExists(atPath: target) && !replacing { throw Failure.exists(target) }
        let staging = target + ".restoring"
        try? files.removeItem(atPath: staging)
        try files.copyItem(atPath: backup, toPath: staging)
        for stale in [target + "-wal", target + "-shm"] where files.fileExists(atPath: stale) { try files.removeItem(atPath: stale) }
        // rename(2) replaces the target in one step.
        guard rename(staging, target) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// `PRAGMA integrity_check` on a database file.
    public static func check(_ path: String) async throws {
        let database = try await Database.open(.sqliteFile(path: path), logger: .init(label: "modelgate-backup"), poolSize: 1)
        do {
            let report = try await database.read { db in
                try await db.raw("PRAGMA integrity_check").all().map { try $0.decode(column: "integrity_check", as: String.self) }
            }
            await database.shutdown()
            guard report == ["ok"] else { throw Failure.damaged(path, report: report.joined(separator: "; ")) }
        } catch {
            await database.shutdown()
            throw error
        }
    }
}
