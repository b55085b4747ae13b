import Foundation
import ModelgateCore
import ModelgateHTTP
import ModelgateStore

extension Query {
    /// `from`/`to` days (UTC): the last 30 days by default. The span is checked by arithmetic before
    /// anything is read: `to` on or after `from`, at most `maxDays` days in all.
    func dayRange(now: Date, maxDays: Int) throws -> DayRange {
        let window = StatisticsWindow(now: now)
        let range = DayRange(from: try day("from", default: window.monthStart), to: try day("to", default: window.today))
        guard (1...maxDays).contains(range.dayCount) else {
            throw ModelgateError.validationFailed([FieldError("to", "must be on or after from, at most \(maxDays) days later")])
        }
        return range
    }

    var modelList: ModelListQuery {
        get throws {
            var query = ModelListQuery()
            query.tier = try choice("tier", as: Tier.self)
            query.kind = try choice("kind", as: ModelKind.self)
            query.provider = try choice("provider", as: Provider.self)
            query.enabled = try bool("enabled")
            query.search = string("q")
            query.sort = try choice("sort", as: ModelListQuery.Sort.self) ?? .sortOrder
            query.descending = try choice("order", as: SortOrder.self) == .desc
            query.page = try int("page", default: 1, in: 1...100_000)
            query.perPage = try int("perPage", default: 25, in: 1...200)
            return query
        }
    }

    var audit: AuditQuery {
        get throws {
            var query = AuditQuery()
            query.actor = string("actor")
            query.action = string("action")
            query.targetType = string("targetType")
            query.target = string("target")
            query.since = try string("from").map { _ in DayRange.start(of: try day("from", default: "")) }
            query.until = try string("to").map { _ in DayRange.start(of: try day("to", default: "")).addingTimeInterval(86_400) }
            query.page = try int("page", default: 1, in: 1...100_000)
            query.perPage = try int("perPage", default: 50, in: 1...500)
            return query
        }
    }
}
