import Foundation
import ModelgateCore
import SQLKit

/// A stored value that breaks the schema's rules: reported (a 500 `corrupt_row` naming the column,
/// the value logged), never replaced by a made-up value.
public struct CorruptRow: Error, CustomStringConvertible {
    public let column: String
    let value: String
    public var description: String { "column \(column) holds '\(value)'" }
}

extension SQLRow {
    /// A user id column (a UUID).
    public func decodeUserID(column: String) throws -> UserID {
        let text = try decode(column: column, as: String.self)
        guard let id = UserID(text) else { throw CorruptRow(column: column, value: text) }
        return id
    }

    /// A column holding one of an enum's raw values.
    public func decodeEnum<Value: RawRepresentable>(column: String, as type: Value.Type) throws -> Value where Value.RawValue == String {
        let text = try decode(column: column, as: String.self)
        guard let value = Value(rawValue: text) else { throw CorruptRow(column: column, value: text) }
        return value
    }

    /// A nullable column holding one of an enum's raw values.
    public func decodeEnum<Value: RawRepresentable>(column: String, as type: Value?.Type) throws -> Value? where Value.RawValue == String {
        guard let text = try decode(column: column, as: String?.self) else { return nil }
        guard let value = Value(rawValue: text) else { throw CorruptRow(column: column, value: text) }
        return value
    }

    /// A column holding a JSON document.
    public func decodeJSON<Value: Decodable>(column: String, as type: Value.Type) throws -> Value {
        let text = try decode(column: column, as: String.self)
        return try JSONColumn.decode(text, column: column)
    }

    /// A nullable column holding a JSON document.
    public func decodeJSONIfPresent<Value: Decodable>(column: String, as type: Value.Type) throws -> Value? {
        guard let text = try decode(column: column, as: String?.self) else { return nil }
        return try JSONColumn.decode(text, column: column)
    }
}

/// JSON text columns (lists of ids, tool calls, tool results).
public enum JSONColumn {
    /// One value as JSON text.
    public static func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    public static func encode<T: Encodable>(_ values: [T]) -> String? {
        values.isEmpty ? nil : (try? JSONEncoder().encode(values)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A list column; NULL is the empty list, text that is not such a list is a `CorruptRow`.
    public static func decode<T: Decodable>(_ text: String?, column: String) throws -> [T] {
        guard let text else { return [] }
        return try decode(text, column: column)
    }

    public static func decode<T: Decodable>(_ text: String, column: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw CorruptRow(column: column, value: text)
        }
    }
}
