import Foundation

/// Exponential backoff with jitter: `base · 2^(failures-1)`, capped, then a random point in its upper half.
public struct Backoff: Sendable, Equatable {
    public var base: Duration = .seconds(1)
    public var cap: Duration = .seconds(60)

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(60)) {
        self.base = base
        self.cap = cap
    }

    /// `random` in 0..<1 picks the point between half the step and the whole step.
    public func delay(afterFailures failures: Int, random: Double) -> Duration {
        let step = min(cap, base * (1 << min(max(failures - 1, 0), 30)))
        return step / 2 + step / 2 * random
    }
}
