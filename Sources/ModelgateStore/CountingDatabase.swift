import Logging
import NIOConcurrencyHelpers
import NIOCore
import SQLKit

/// Counts statements as they are sent, so tests can prove a route's query count does not grow
/// with the data, and operators can see database load.
public final class StatementCounter: Sendable {
    private let value = NIOLockedValueBox(0)
    public init() {}
    public var count: Int { value.withLockedValue { $0 } }

    func increment() {
        value.withLockedValue { $0 += 1 }
        Self.scope?.withLockedValue { $0 += 1 }
    }

    @TaskLocal private static var scope: NIOLockedValueBox<Int>?

    /// The scope counting now, to carry into work another task runs on this one's behalf.
    static var currentScope: NIOLockedValueBox<Int>? { scope }

    /// Runs `body` counting into `scope` (SQLite's group commit runs writes in the leader's task).
    static func within<T: Sendable>(_ scope: NIOLockedValueBox<Int>?, _ body: () async throws -> T) async rethrows -> T {
        try await $scope.withValue(scope) { try await body() }
    }

    /// Runs `body` and counts the statements it (and the tasks it starts) ran on any database,
    /// leaving out background work such as a poller on the same database.
    public static func counting<T: Sendable>(_ body: () async throws -> T) async rethrows -> (result: T, statements: Int) {
        let box = NIOLockedValueBox(0)
        let result = try await $scope.withValue(box) { try await body() }
        return (result, box.withLockedValue { $0 })
    }
}

/// An `SQLDatabase` that forwards everything to `base` and counts each statement.
struct CountingSQLDatabase: SQLDatabase {
    let base: any SQLDatabase
    let counter: StatementCounter

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        counter.increment()
        return base.execute(sql: query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        counter.increment()
        try await base.execute(sql: query, onRow)
    }
}
