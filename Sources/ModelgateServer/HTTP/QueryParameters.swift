import Foundation
import Hummingbird
import ModelgateCore
import ModelgateStore

/// Typed reading of query parameters; a bad value is a 422 naming the parameter.
struct Query {
    let parameters: Parameters

    init(_ request: Request) { parameters = request.uri.queryParameters }

    func string(_ name: String) -> String? {
        guard let value = parameters[name[...]].map(String.init)?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw ModelgateError.invalidField(field: name, reason: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func choice<T: RawRepresentable>(_ name: String, as type: T.Type) throws -> T? where T.RawValue == String {
        guard let text = string(name) else { return nil }
        guard let value = T(rawValue: text) else { throw ModelgateError.invalidField(field: name, reason: "'\(text)' is not allowed here") }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let text = string(name) else { return nil }
        switch text {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw ModelgateError.invalidField(field: name, reason: "must be true or false")
        }
    }

    func day(_ name: String, default fallback: String) throws -> String {
        guard let text = string(name) else { return fallback }
        guard ExportRange.isValidDay(text) else { throw ModelgateError.invalidField(field: name, reason: "must be a date as YYYY-MM-DD") }
        return text
    }

    /// `from`/`to` days (UTC): the last 30 days by default. The span is checked by arithmetic before
    /// anything is read: `to` on or after `from`, at most `maxDays` days in all.
    func dayRange(now: Date, maxDays: Int) throws -> ExportRange {
        let window = StatisticsWindow(now: now)
        let range = ExportRange(from: try day("from", default: window.monthStart), to: try day("to", default: window.today))
        guard (1...maxDays).contains(range.dayCount) else {
            throw ModelgateError.validationFailed([FieldError("to", "must be on or after from, at most \(maxDays) days later")])
        }
        return range
    }

    var modelList: ModelListQuery {
        get throws {
            var query = ModelListQuery()
            query.tier = try choice("tier", as: Tier.self)
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
            query.since = try string("from").map { _ in ExportRange.start(of: try day("from", default: "")) }
            query.until = try string("to").map { _ in ExportRange.start(of: try day("to", default: "")).addingTimeInterval(86_400) }
            query.page = try int("page", default: 1, in: 1...100_000)
            query.perPage = try int("perPage", default: 50, in: 1...500)
            return query
        }
    }

    enum SortOrder: String { case asc, desc }
}
