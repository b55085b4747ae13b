import Foundation
import ModelgateCore

extension JSONValue {
    /// The value as `JSONSerialization` objects, for request bodies built as dictionaries.
    var foundationObject: Any {
        switch self {
        case .null: NSNull()
        case .bool(let value): value
        case .number(let value): value.rounded() == value && abs(value) < 1e15 ? Int(value) as Any : value as Any
        case .string(let value): value
        case .array(let values): values.map(\.foundationObject)
        case .object(let values): values.mapValues(\.foundationObject)
        }
    }

    /// A value built as `JSONSerialization` objects (request bodies, parsed chunks), so it can be
    /// written by `jsonText` rather than by `JSONSerialization`, which the profile of a chat
    /// message showed as its largest single cost. `nil` for what JSON cannot hold.
    init?(foundation value: Any) {
        switch value {
        case let value as String: self = .string(value)
        // Exact Swift types first: on Linux any number casts to Bool (and back) through NSNumber.
        case let value as Bool where type(of: value) == Bool.self: self = .bool(value)
        case let value as Int where type(of: value) == Int.self: self = .number(Double(value))
        case let value as Double where type(of: value) == Double.self: self = .number(value)
        case let value as [Any]:
            var items: [JSONValue] = []
            for item in value {
                guard let item = JSONValue(foundation: item) else { return nil }
                items.append(item)
            }
            self = .array(items)
        case let value as [String: Any]:
            var members: [String: JSONValue] = [:]
            for (key, item) in value {
                guard let item = JSONValue(foundation: item) else { return nil }
                members[key] = item
            }
            self = .object(members)
        case is NSNull: self = .null
        // Parsed by JSONSerialization: a boolean is the NSNumber of C type `c`.
        case let value as NSNumber: self = String(cString: value.objCType) == "c" ? .bool(value.boolValue) : .number(value.doubleValue)
        default: return nil
        }
    }
}

extension ProviderJSON {
    /// JSON text of a `JSONSerialization` value (an object, array or fragment); `"{}"` when it has none.
    static func text(_ value: Any?) -> String {
        guard let value, !(value is NSNull), let json = JSONValue(foundation: value) else { return "{}" }
        return json.jsonText
    }
}
