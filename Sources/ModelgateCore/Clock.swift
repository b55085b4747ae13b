import Foundation

/// Where "now" comes from. Handlers never call `Date()`: tests pass a clock they can move.
public protocol WallClock: Sendable {
    func now() -> Date
}

public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that stands still until a test moves it.
public final class ManualClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date) { current = start }
    public func now() -> Date { lock.withLock { current } }
    public func set(_ date: Date) { lock.withLock { current = date } }
}

/// Timestamps on the wire: ISO 8601 in UTC, e.g. `2026-11-25T00:00:00Z`.
public enum ISO8601 {
    public static func string(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

extension Duration {
    /// Seconds as a `Double`, for metrics.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
