import Foundation
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore
import ModelgateTestSupport
import SQLKit
import Testing

/// The embedded database read-only or full: 503 `database_unavailable` with one clear log line,
/// nothing charged, and an intact file afterwards. (PostgreSQL restarted under load: `scripts/chaos`.)
@Suite(.enabled(if: TestDatabase.backend == .sqlite, "SQLite's own faults; PostgreSQL's are in scripts/chaos"), .timeLimit(.minutes(5)))
struct DatabaseFaultTests {
    static let chat = #"{"message": "Hi", "personaId": "career"}"#

    @Test func aReadOnlyDatabaseAnswers503AndChargesNothing() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(185))
            #expect(try await client.chat(Self.chat, token: token).status == .ok)
            try await app.sql("PRAGMA query_only = 1")
            let refused = try await client.call(.post, "/api/chat", token: token, json: Self.chat)
            #expect(refused.status == .serviceUnavailable && refused.code == "database_unavailable" && refused.headers[.retryAfter] == "1")
            try await app.sql("PRAGMA query_only = 0")
            #expect(try await app.count("model_usage_daily") == 1)
            let charged = try await app.database.read { try await $0.raw("SELECT message_count FROM model_usage_daily").first()?.decode(column: "message_count", as: Int.self) }
            #expect(charged == 1, "the refused message cost nothing")
            #expect(try await client.chat(Self.chat, token: token).status == .ok, "it serves again once writable")
            let integrity = try await app.database.read { try await $0.raw("PRAGMA integrity_check").first()?.decode(column: "integrity_check", as: String.self) }
            #expect(integrity == "ok")
        }
    }

    @Test func aFullDiskIsDatabaseUnavailableWithOneClearLogLineNotAServerError() async throws {
        let capture = LogCapture()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("full-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let database = try await Database.open(.sqliteFile(path: path), logger: capture.logger)
        do {
            let pages = try await database.read { try await $0.raw("PRAGMA page_count").first()?.decode(column: "page_count", as: Int.self) } ?? 0
            // The writer may not grow the file: what a full disk does to SQLite (SQLITE_FULL).
            try await database.write { try await $0.raw("PRAGMA max_page_count = \(unsafeRaw: String(pages))").run() }
            await #expect(throws: ModelgateError.databaseUnavailable) {
                try await database.write { db in
                    try await db.raw("CREATE TABLE filler (data TEXT)").run()
                    for _ in 0..<64 { try await db.raw("INSERT INTO filler VALUES (\(bind: String(repeating: "x", count: 8192)))").run() }
                }
            }
            #expect(capture.text.contains("database unavailable") && capture.text.contains("full"), "one clear log line")
            let integrity = try await database.read { try await $0.raw("PRAGMA integrity_check").first()?.decode(column: "integrity_check", as: String.self) }
            #expect(integrity == "ok")
        }
        await database.shutdown()
    }
}
