@testable import ModelgateStore
import ModelgateTestSupport
import SQLKit
import Testing

/// SQLite runs on the calling thread: a read that may take long (statistics, exports) must not take
/// one of the few threads that serve requests.
@Suite(.enabled(if: TestDatabase.backend == .sqlite, "PostgreSQL reads wait on the network, not on a thread"), .timeLimit(.minutes(5)))
struct LongReadTests {
    @Test func aLongReadRunsOnThreadsOfItsOwnAndAShortOneWhereItWasCalled() async throws {
        try await TestDatabase.with(seeded: false) { database, _ in
            let long = try await database.read(.long) { db in
                _ = try await db.raw("SELECT 1 AS one").first()
                return LongReadExecutor.isCurrent
            }
            let short = try await database.read { db in
                _ = try await db.raw("SELECT 1 AS one").first()
                return LongReadExecutor.isCurrent
            }
            #expect(long)
            #expect(!short)
        }
    }
}
