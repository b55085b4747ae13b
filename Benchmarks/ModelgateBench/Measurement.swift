/// Latency percentiles of one run (nearest rank on the sorted samples).
struct LatencySummary: Sendable {
    let count: Int
    let p50: Duration
    let p90: Duration
    let p99: Duration
    let max: Duration

    init(_ samples: [Duration]) {
        let sorted = samples.sorted()
        count = sorted.count
        p50 = Self.percentile(50, of: sorted)
        p90 = Self.percentile(90, of: sorted)
        p99 = Self.percentile(99, of: sorted)
        max = sorted.last ?? .zero
    }

    static func percentile(_ percent: Double, of sorted: [Duration]) -> Duration {
        guard !sorted.isEmpty else { return .zero }
        let rank = Int((percent / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.max(0, Swift.min(sorted.count, rank) - 1)]
    }
}

/// What one measured phase produced: its latencies, failures and wall time.
struct Measurement: Sendable {
    let latency: LatencySummary
    let errors: Int
    let firstError: String?
    let elapsed: Duration

    /// Successful operations per second of wall time.
    var throughput: Double { elapsed > .zero ? Double(latency.count) / elapsed.seconds : 0 }
}

/// `concurrency` tasks each run an operation back to back until time is up (a closed loop):
/// first a warm-up whose samples are dropped, then the measured phase.
struct ClosedLoop: Sendable {
    let concurrency: Int
    let warmup: Duration
    let duration: Duration

    /// `operation` gets its worker's index and returns the latency to record.
    func run(_ operation: @escaping @Sendable (_ worker: Int) async throws -> Duration) async -> Measurement {
        _ = await phase(warmup, operation)
        return await phase(duration, operation)
    }

    private func phase(_ length: Duration, _ operation: @escaping @Sendable (Int) async throws -> Duration) async -> Measurement {
        let start = ContinuousClock.now
        let deadline = start + length
        let tallies = await withTaskGroup(of: WorkerTally.self) { group in
            for worker in 0..<concurrency {
                group.addTask { await Self.work(worker, until: deadline, operation) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        return Measurement(
            latency: LatencySummary(tallies.flatMap(\.samples)), errors: tallies.map(\.errors).reduce(0, +),
            firstError: tallies.lazy.compactMap(\.firstError).first, elapsed: ContinuousClock.now - start)
    }

    private static func work(
        _ worker: Int, until deadline: ContinuousClock.Instant, _ operation: @Sendable (Int) async throws -> Duration
    ) async -> WorkerTally {
        var tally = WorkerTally()
        while ContinuousClock.now < deadline {
            do {
                tally.samples.append(try await operation(worker))
            } catch {
                tally.errors += 1
                if tally.firstError == nil { tally.firstError = String(describing: error) }
            }
        }
        return tally
    }
}

private struct WorkerTally: Sendable {
    var samples: [Duration] = []
    var errors = 0
    var firstError: String?
}

/// How long `work` took.
func timed(_ work: () async throws -> Void) async throws -> Duration {
    let start = ContinuousClock.now
    try await work()
    return ContinuousClock.now - start
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    var milliseconds: Double { seconds * 1000 }
}
