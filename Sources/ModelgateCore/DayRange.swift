import Foundation

/// Inclusive day range (`YYYY-MM-DD`, UTC for instants).
public struct DayRange: Sendable {
    public let from: String
    public let to: String

    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }

    public var start: Date { Self.parse(from) ?? .distantPast }
    public var end: Date { (Self.parse(to) ?? .distantFuture).addingTimeInterval(86_400) }

    static func parse(_ day: String) -> Date? {
        try? Date(day + "T00:00:00Z", strategy: .iso8601)
    }

    public static func isValidDay(_ day: String) -> Bool { day.count == 10 && parse(day) != nil }

    /// The days from `from` through `to`, counted by arithmetic (no day is built): 1 for one day,
    /// 0 or less when `to` is before `from`.
    public var dayCount: Int { Int(((end.timeIntervalSince1970 - start.timeIntervalSince1970) / 86_400).rounded()) }

    /// Midnight UTC at the start of a valid `YYYY-MM-DD`.
    public static func start(of day: String) -> Date { parse(day) ?? .distantPast }

    /// Each day from `start` through `end`; empty when `end` is before `start`.
    public static func days(from start: String, through end: String) -> [String] {
        guard let first = parse(start), let last = parse(end), first <= last else { return [] }
        return stride(from: first.timeIntervalSince1970, through: last.timeIntervalSince1970, by: 86_400).map {
            QuotaCalendar.day(at: Date(timeIntervalSince1970: $0), zoneIdentifier: "UTC").key
        }
    }
}
