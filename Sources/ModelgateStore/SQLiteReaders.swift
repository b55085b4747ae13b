import Logging
import NIOConcurrencyHelpers
import SQLKit

/// Read-only work on SQLite in WAL mode: each read leases a connection of its own and runs on the
/// caller's thread (reads take microseconds; a hop to another thread and back cost more). Up to
/// `capacity` connections are opened on demand; a read that finds all of them busy waits its turn.
final class SQLiteReaders: ConnectionLeaser, Sendable {
    private let open: @Sendable () throws -> SQLiteHandle
    private let logger: Logger
    let capacity: Int
    private let state = NIOLockedValueBox(State())

    private struct State {
        var idle: [SQLiteHandle] = []
        var opened = 0
        var waiters: [CheckedContinuation<SQLiteHandle?, Never>] = []
        var closed = false
    }

    init(capacity: Int, logger: Logger, open: @escaping @Sendable () throws -> SQLiteHandle) {
        self.capacity = capacity
        self.logger = logger
        self.open = open
    }

    var inUse: Int { state.withLockedValue { $0.opened - $0.idle.count } }

    func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let handle = try await lease()
        defer { giveBack(handle) }
        return try await body(SQLiteSession(handle: handle, logger: logger))
    }

    private enum Lease {
        case idle(SQLiteHandle)
        case openNew
        case wait
        case closed
    }

    private func lease() async throws -> SQLiteHandle {
        let next = state.withLockedValue { state -> Lease in
            if state.closed { return .closed }
            if let handle = state.idle.popLast() { return .idle(handle) }
            guard state.opened < capacity else { return .wait }
            state.opened += 1
            return .openNew
        }
        switch next {
        case .idle(let handle): return handle
        case .closed: throw SQLiteFailure.closed
        case .openNew:
            do {
                return try open()
            } catch {
                state.withLockedValue { $0.opened -= 1 }
                throw error
            }
        case .wait:
            let handed = await withCheckedContinuation { continuation in
                let immediate = state.withLockedValue { state -> Lease in
                    if state.closed { return .closed }
                    if let handle = state.idle.popLast() { return .idle(handle) }
                    state.waiters.append(continuation)
                    return .wait
                }
                switch immediate {
                case .idle(let handle): continuation.resume(returning: handle)
                case .closed: continuation.resume(returning: nil)
                case .openNew, .wait: break
                }
            }
            guard let handed else { throw SQLiteFailure.closed }
            return handed
        }
    }

    private func giveBack(_ handle: SQLiteHandle) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<SQLiteHandle?, Never>? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(handle)
            return nil
        }
        waiter?.resume(returning: handle)
    }

    func shutdown() async {
        let (idle, waiters) = state.withLockedValue { state in
            state.closed = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for handle in idle { handle.close() }
        for waiter in waiters { waiter.resume(returning: nil) }
    }
}
