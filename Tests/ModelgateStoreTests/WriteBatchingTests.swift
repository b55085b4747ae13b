import ModelgateCore
import ModelgateStore
import ModelgateTestSupport
import SQLKit
import Testing

/// Writes arriving together share a commit on SQLite (group commit); each must still be what it
/// was alone: a failed transaction undoes only itself, every other one is committed whole, and
/// each caller's statements are counted as its own. Run on both backends.
@Suite(.timeLimit(.minutes(5))) struct WriteBatchingTests {
    struct Refused: Error {}

    @Test func aFailingTransactionAmongConcurrentOnesUndoesOnlyItself() async throws {
        try await TestDatabase.with(seeded: false) { database, _ in
            try await database.write { try await $0.raw("CREATE TABLE batch_rows (n INTEGER PRIMARY KEY, pair INTEGER NOT NULL)").run() }
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for n in 0..<200 {
                    group.addTask {
                        do {
                            try await database.transaction { db in
                                // Two rows per transaction: both or neither.
                                try await db.raw("INSERT INTO batch_rows (n, pair) VALUES (\(bind: n * 2), \(bind: n))").run()
                                try await db.raw("INSERT INTO batch_rows (n, pair) VALUES (\(bind: n * 2 + 1), \(bind: n))").run()
                                if n % 10 == 0 { throw Refused() }
                            }
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 180)
            let rows = try await database.read { db in
                try await db.raw("SELECT pair, COUNT(*) AS n FROM batch_rows GROUP BY pair").all().map {
                    (try $0.decode(column: "pair", as: Int.self), try $0.decode(column: "n", as: Int.self))
                }
            }
            #expect(rows.count == 180, "every transaction that went through is stored")
            #expect(rows.allSatisfy { $0.1 == 2 && $0.0 % 10 != 0 }, "each whole, none of the refused ones")
        }
    }

    @Test func eachCallerCountsOnlyItsOwnStatementsWhileOthersWriteInTheSameBatch() async throws {
        try await TestDatabase.with(seeded: false) { database, _ in
            try await database.write { try await $0.raw("CREATE TABLE counted_rows (n INTEGER NOT NULL)").run() }
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<50 {
                    group.addTask {
                        try await StatementCounter.counting {
                            try await database.write { db in
                                for _ in 0...(n % 3) { try await db.raw("INSERT INTO counted_rows (n) VALUES (\(bind: n))").run() }
                            }
                        }.statements
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(counts.sorted() == (0..<50).map { $0 % 3 + 1 }.sorted())
        }
    }

    /// PostgreSQL: capacity counters skip the wait for the WAL flush, everything else waits for it.
    @Test(.enabled(if: TestDatabase.backend == .postgres, "SQLite's commits: the writer's fsync per batch"))
    func crashSafeWritesOnPostgreSQLDoNotWaitForTheFlushAndDurableOnesDo() async throws {
        try await TestDatabase.with(seeded: false) { database, _ in
            let setting: @Sendable (any SQLDatabase) async throws -> String = { db in
                try await db.raw("SHOW synchronous_commit").first()?.decode(column: "synchronous_commit", as: String.self) ?? ""
            }
            let relaxed = (try await database.write(.crashSafe, setting), try await database.transaction(.crashSafe, setting))
            let durable = (try await database.write { try await setting($0) }, try await database.transaction { try await setting($0) })
            #expect(relaxed == ("off", "off"))
            #expect(durable == ("on", "on"))
        }
    }
}
