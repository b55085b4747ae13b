import Foundation
import Synchronization

/// The calendar day a quota counter belongs to: the user's own local date, and the UTC instant of
/// the local midnight that ends it. "What day is it" is decided here and nowhere else.
public struct QuotaDay: Sendable, Equatable {
    /// `YYYY-MM-DD` in the user's zone: the ledger's key.
    public let key: String
    /// The local midnight that starts the next day, as a UTC instant.
    public let resetAt: Date

    public init(key: String, resetAt: Date) {
        self.key = key
        self.resetAt = resetAt
    }
}

/// A user's time zone setting. A change of zone takes effect at the next local midnight of the zone
/// in force when it was made, so a change can never open a second allowance inside one day.
public struct UserTimeZone: Sendable, Equatable {
    public var current: String
    public var pending: String?
    public var pendingFrom: Date?

    public init(current: String = "UTC", pending: String? = nil, pendingFrom: Date? = nil) {
        self.current = current
        self.pending = pending
        self.pendingFrom = pendingFrom
    }

    /// The zone that counts at `instant`.
    public func effective(at instant: Date) -> String {
        if let pending, let pendingFrom, instant >= pendingFrom { return pending }
        return current
    }

    /// The setting after the user asks for `identifier` at `instant`.
    public func changing(to identifier: String, at instant: Date) throws(ModelgateError) -> UserTimeZone {
        guard TimeZone(identifier: identifier) != nil else { throw .invalidTimeZone(identifier) }
        let inForce = effective(at: instant)
        if identifier == inForce { return UserTimeZone(current: inForce) }
        let day = QuotaCalendar.day(at: instant, zoneIdentifier: inForce)
        return UserTimeZone(current: inForce, pending: identifier, pendingFrom: day.resetAt)
    }

    public func day(at instant: Date) -> QuotaDay {
        QuotaCalendar.day(at: instant, zoneIdentifier: effective(at: instant))
    }
}

public enum QuotaCalendar {
    /// The day last computed per zone, with the instant it starts: Foundation's calendar work
    /// was a visible part of every charge's profile, and the answer changes once a day.
    private static let recent = Mutex<[String: (starts: Date, day: QuotaDay)]>([:])

    public static func day(at instant: Date, zoneIdentifier: String) -> QuotaDay {
        if let known = recent.withLock({ $0[zoneIdentifier] }), known.starts <= instant, instant < known.day.resetAt {
            return known.day
        }
        let (starts, day) = compute(at: instant, zoneIdentifier: zoneIdentifier)
        recent.withLock { days in
            if days.count >= 1_024 { days = [:] }
            days[zoneIdentifier] = (starts, day)
        }
        return day
    }

    private static func compute(at instant: Date, zoneIdentifier: String) -> (starts: Date, day: QuotaDay) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zoneIdentifier) ?? .gmt
        let parts = calendar.dateComponents([.year, .month, .day], from: instant)
        let start = calendar.startOfDay(for: instant)
        let next = calendar.date(byAdding: .day, value: 1, to: start) ?? start.addingTimeInterval(86_400)
        let key = String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
        return (start, QuotaDay(key: key, resetAt: calendar.startOfDay(for: next)))
    }
}
