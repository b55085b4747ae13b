import Foundation
import Hummingbird
import ModelgateCore
import ModelgateStore

/// Typed reading of query parameters; a bad value is a 422 naming the parameter.
public struct Query {
    public let parameters: Parameters

    public init(_ request: Request) { parameters = request.uri.queryParameters }

    public func string(_ name: String) -> String? {
        guard let value = parameters[name[...]].map(String.init)?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    public func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw ModelgateError.invalidField(field: name, reason: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    public func choice<T: RawRepresentable>(_ name: String, as type: T.Type) throws -> T? where T.RawValue == String {
        guard let text = string(name) else { return nil }
        guard let value = T(rawValue: text) else { throw ModelgateError.invalidField(field: name, reason: "'\(text)' is not allowed here") }
        return value
    }

    public func bool(_ name: String) throws -> Bool? {
        guard let text = string(name) else { return nil }
        switch text {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw ModelgateError.invalidField(field: name, reason: "must be true or false")
        }
    }

    public func day(_ name: String, default fallback: String) throws -> String {
        guard let text = string(name) else { return fallback }
        guard DayRange.isValidDay(text) else { throw ModelgateError.invalidField(field: name, reason: "must be a date as YYYY-MM-DD") }
        return text
    }

    public enum SortOrder: String { case asc, desc }
}
