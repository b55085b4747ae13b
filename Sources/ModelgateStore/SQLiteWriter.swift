import Logging
import NIOConcurrencyHelpers
import SQLKit

/// SQLite's one writer, with group commit: the writes that arrive while a commit is being made
/// wait, then go together in the next transaction, each in its own savepoint (one that fails is
/// undone alone), and are answered once that transaction is on disk. Nothing is acknowledged
/// before its commit, so a durable commit (`synchronous = FULL`) costs one `fsync` per batch
/// rather than per write.
///
/// No thread of its own: the first writer to find the connection idle leads — runs one batch on
/// its own thread — and hands the lead to the oldest writer still waiting, so no request serves
/// others for long.
final class SQLiteWriter: ConnectionLeaser, Sendable {
    private let handle: SQLiteHandle
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    /// Whether the connection's commits fsync now (`synchronous = FULL`, as it is opened).
    private let fsyncsCommits = NIOLockedValueBox(true)
    /// Writes beyond this many wait for the next batch (bounds one commit's latency).
    private static let maxBatch = 256

    private struct State {
        var queue: [WriteJob] = []
        var leading = false
        var closed = false
    }

    init(handle: SQLiteHandle, logger: Logger) {
        self.handle = handle
        self.logger = logger
    }

    var inUse: Int { state.withLockedValue { $0.leading ? 1 : 0 } }
    let capacity = 1

    /// A durable write whose statements may each commit on their own.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection(atomic: false, durability: .durable, body)
    }

    /// `atomic`: all of `body` commits or none of it (`Database.transaction`). A batch is committed
    /// with an fsync (`synchronous = FULL`) when any of its writes is `.durable`.
    func withConnection<T: Sendable>(
        atomic: Bool, durability: Durability, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        let session = SQLiteSession(handle: handle, logger: logger)
        // A write inside a write (one job calling another) joins the batch it is part of.
        if WriteJob.current === self { return try await body(session) }
        let outcome = ResultBox<T>()
        let counterScope = StatementCounter.currentScope
        let job = WriteJob(atomic: atomic, durable: durability == .durable) { [body] session in
            do {
                let value = try await StatementCounter.within(counterScope) { try await body(session) }
                outcome.set(.success(value))
                return nil
            } catch {
                outcome.set(.failure(error))
                return error
            }
        }
        let lead = state.withLockedValue { state -> Bool? in
            if state.closed { return nil }
            state.queue.append(job)
            if state.leading { return false }
            state.leading = true
            return true
        }
        guard let lead else { throw SQLiteFailure.closed }
        var turn: WriteJob.Turn = lead ? .lead : await job.wait()
        while case .lead = turn {
            await runBatch()
            turn = await job.wait()
        }
        if case .failed(let error) = turn { throw error }
        return try outcome.get()
    }

    /// Runs the queued writes as one transaction, answers them, and passes the lead on.
    private func runBatch() async {
        let batch = state.withLockedValue { state -> [WriteJob] in
            let taken = Array(state.queue.prefix(Self.maxBatch))
            state.queue.removeFirst(taken.count)
            return taken
        }
        let session = SQLiteSession(handle: handle, logger: logger)
        var failure: (any Error)?
        do {
            try syncCommits(batch.contains { $0.durable })
            try handle.run("BEGIN IMMEDIATE", binds: []) { _ in }
        } catch {
            // No transaction to be had (the connection is read-only, say): a plain write, whose
            // statements each commit on their own, may still run alone; a transaction may not.
            for job in batch {
                job.finish(job.atomic ? .failed(error) : await runAlone(job, in: session))
            }
            passLead()
            return
        }
        do {
            for job in batch {
                try await run(job, in: session)
            }
            try handle.run("COMMIT", binds: []) { _ in }
        } catch {
            failure = error
            if handle.inTransaction { try? handle.run("ROLLBACK", binds: []) { _ in } }
        }
        for job in batch { job.finish(failure.map { .failed($0) } ?? .done) }
        passLead()
    }

    /// Sets `synchronous` for the next commit when it differs from the last one's (WAL: a commit
    /// without fsync is made durable by the next one with it).
    private func syncCommits(_ durable: Bool) throws {
        guard fsyncsCommits.withLockedValue({ $0 }) != durable else { return }
        try handle.run(durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", binds: []) { _ in }
        fsyncsCommits.withLockedValue { $0 = durable }
    }

    /// Gives the lead to the oldest waiting write, or gives it up when none waits.
    private func passLead() {
        let next = state.withLockedValue { state -> WriteJob? in
            guard let first = state.queue.first else {
                state.leading = false
                return nil
            }
            return first
        }
        next?.finish(.lead)
    }

    private func runAlone(_ job: WriteJob, in session: SQLiteSession) async -> WriteJob.Turn {
        await WriteJob.$current.withValue(self) { await job.work(session) }.map { .failed($0) } ?? .done
    }

    /// One write in its savepoint: its own failure undoes only it. If SQLite ended the whole
    /// transaction (some I/O errors do), the batch fails: nothing in it was committed.
    private func run(_ job: WriteJob, in session: SQLiteSession) async throws {
        try handle.run("SAVEPOINT job", binds: []) { _ in }
        let failed = await WriteJob.$current.withValue(self) { await job.work(session) }
        guard failed != nil else {
            try handle.run("RELEASE job", binds: []) { _ in }
            return
        }
        guard handle.inTransaction else { throw failed ?? SQLiteFailure(code: 1, message: "transaction ended") }
        try handle.run("ROLLBACK TO job", binds: []) { _ in }
        try handle.run("RELEASE job", binds: []) { _ in }
    }

    func shutdown() async {
        state.withLockedValue { $0.closed = true }
        // The last batch may still be running; wait for the lead to be given up.
        while state.withLockedValue({ $0.leading }) { try? await Task.sleep(for: .milliseconds(1)) }
        handle.close()
    }
}

/// A write waiting for its batch. `wait` returns what happened: committed, failed, or its turn to lead.
private final class WriteJob: Sendable {
    enum Turn: Sendable {
        case done
        case failed(any Error)
        case lead
    }

    @TaskLocal static var current: SQLiteWriter?

    private enum Phase {
        case waiting(CheckedContinuation<Turn, Never>?)
        case told(Turn)
    }

    private let phase = NIOLockedValueBox(Phase.waiting(nil))
    /// Runs the caller's statements; returns the error that undoes them, if any.
    let work: @Sendable (SQLiteSession) async -> (any Error)?
    /// All or nothing: it may not run outside a transaction.
    let atomic: Bool
    /// Its commit must be on disk before it is answered.
    let durable: Bool

    init(atomic: Bool, durable: Bool, work: @escaping @Sendable (SQLiteSession) async -> (any Error)?) {
        self.atomic = atomic
        self.durable = durable
        self.work = work
    }

    func wait() async -> Turn {
        if let told = take() { return told }
        return await withCheckedContinuation { continuation in
            let told = phase.withLockedValue { phase -> Turn? in
                if case .told(let turn) = phase {
                    phase = .waiting(nil)
                    return turn
                }
                phase = .waiting(continuation)
                return nil
            }
            if let told { continuation.resume(returning: told) }
        }
    }

    private func take() -> Turn? {
        phase.withLockedValue { phase in
            guard case .told(let turn) = phase else { return nil }
            phase = .waiting(nil)
            return turn
        }
    }

    func finish(_ turn: Turn) {
        let waiter = phase.withLockedValue { phase -> CheckedContinuation<Turn, Never>? in
            if case .waiting(let continuation?) = phase {
                phase = .waiting(nil)
                return continuation
            }
            phase = .told(turn)
            return nil
        }
        waiter?.resume(returning: turn)
    }
}

/// A value set by one task and read by another after a happens-before edge (the batch's lock).
private final class ResultBox<T: Sendable>: Sendable {
    private let value = NIOLockedValueBox<Result<T, any Error>?>(nil)

    func set(_ result: Result<T, any Error>) { value.withLockedValue { $0 = result } }

    func get() throws -> T {
        guard let result = value.withLockedValue({ $0 }) else { throw SQLiteFailure(code: 1, message: "the write did not run") }
        return try result.get()
    }
}
