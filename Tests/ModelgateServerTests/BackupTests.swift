import Foundation
import Hummingbird
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOConcurrencyHelpers
import SQLKit
import Testing

/// `modelgate backup` / `restore` on the embedded database (PostgreSQL: pg_dump, in the runbook).
@Suite(.enabled(if: TestDatabase.backend == .sqlite, "SQLite's backup; PostgreSQL uses pg_dump"), .timeLimit(.minutes(5)))
struct BackupTests {
    static let users = (190..<196).map(testUser)

    static func counts(_ database: Database) async throws -> [String: Int] {
        try await database.read { db in
            try await db.raw("SELECT user_id, SUM(message_count) AS n FROM model_usage_daily GROUP BY user_id").all()
                .reduce(into: [String: Int]()) { $0[try $1.decode(column: "user_id", as: String.self)] = try $1.decode(column: "n", as: Int.self) }
        }
    }

    @Test func aBackupTakenUnderLoadRestoresToAServerWithTheQuotasPurchasesAndHistoryOfItsMoment() async throws {
        try await TestApp.run { app, client in
            try await app.grant("claude-3-opus", to: try await app.services.profiles.findOrCreate(Self.users[0], email: nil, at: app.clock.now()).id)
            let tokens = try await Self.users.asyncMap { try await app.token($0) }
            let running = NIOLockedValueBox(true)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("backup-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let backup = folder.appendingPathComponent("backup.sqlite").path
            let (before, after) = try await withThrowingTaskGroup(of: Void.self) { group in
                for token in tokens {
                    group.addTask {
                        while running.withLockedValue({ $0 }) {
                            _ = try await client.chat(#"{"message": "Hi", "personaId": "career"}"#, token: token)
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(300))
                let before = try await Self.counts(app.database)
                try await Backup.take(of: app.database, to: backup)
                let after = try await Self.counts(app.database)
                try await Task.sleep(for: .milliseconds(300))
                running.withLockedValue { $0 = false }
                try await group.waitForAll()
                return (before, after)
            }
            let live = try await Self.counts(app.database)

            // Restored in place of a fresh database file, then served.
            let target = folder.appendingPathComponent("restored.sqlite").path
            try await Backup.restore(from: backup, to: target, replacing: false)
            await #expect(throws: Backup.Failure.self) { try await Backup.restore(from: backup, to: target, replacing: false) }
            let restored = try await Database.open(.sqliteFile(path: target), logger: TestDatabase.logger)
            let snapshot = try await Self.counts(restored)
            for user in Self.users.map(\.description) {
                let at = snapshot[user] ?? 0
                #expect((before[user] ?? 0) <= at && at <= (after[user] ?? 0), "\(user): \(before[user] ?? 0) ≤ \(at) ≤ \(after[user] ?? 0)")
            }
            #expect(live.values.reduce(0, +) > snapshot.values.reduce(0, +), "the load went on after the backup")
            let dependencies = TestApp.dependencies(database: restored, providers: app.providers, clock: app.clock)
            let router = buildRouter(configuration: app.configuration, dependencies: dependencies,
                                     services: try await Services(dependencies: dependencies), tokens: app.tokens)
            try await Application(router: router).test(.router) { restoredClient in
                for (user, token) in zip(Self.users, tokens) {
                    let models = try await restoredClient.call(.get, "/api/models", token: token)
                    let mini = models.json["data"]?["free"]?.array.first { $0["id"] == "gpt-4o-mini" }
                    #expect(mini?["usageToday"]?["used"] == .number(Double(snapshot[user.description] ?? 0)))
                    let conversations = try await restoredClient.call(.get, "/api/conversations", token: token).json["data"]?.array.count ?? -1
                    let storedTurns = try await restored.read { db in
                        try await db.raw("SELECT COUNT(*) AS n FROM conversations WHERE user_id = \(bind: user.description)").first()?.decode(column: "n", as: Int.self)
                    }
                    #expect(conversations == min(storedTurns ?? -1, 100))
                }
                #expect(try await restoredClient.call(.get, "/api/models", token: tokens[0]).json["data"]?["premium"]?.array
                    .first { $0["id"] == "claude-3-opus" }?["purchased"] == .bool(true))
            }
            await restored.shutdown()
        }
    }
}
