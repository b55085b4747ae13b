import Dispatch

/// Threads of their own for reads that take long on SQLite (admin statistics, exports): SQLite
/// runs on the calling thread, and a 50 ms query on one of Swift's request threads (two on two
/// cores) would stall every request queued behind it. Dispatch adds threads as such reads wait.
final class LongReadExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = LongReadExecutor()
    private let queue = DispatchQueue(label: "modelgate.sqlite.long-reads", attributes: .concurrent)
    private static let marker = DispatchSpecificKey<Bool>()

    init() { queue.setSpecific(key: Self.marker, value: true) }

    /// Whether the calling code runs on one of these threads.
    static var isCurrent: Bool { DispatchQueue.getSpecific(key: marker) == true }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
