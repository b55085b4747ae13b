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
    func decodeUserID(column: String) throws -> UserID {
        let text = try decode(column: column, as: String.self)
        guard let id = UserID(text) else { throw CorruptRow(column: column, value: text) }
        return id
    }

    /// A column holding one of an enum's raw values.
    func decodeEnum<Value: RawRepresentable>(column: String, as type: Value.Type) throws -> Value where Value.RawValue == String {
        let text = try decode(column: column, as: String.self)
        guard let value = Value(rawValue: text) else { throw CorruptRow(column: column, value: text) }
        return value
    }

    /// A nullable column holding one of an enum's raw values.
    func decodeEnum<Value: RawRepresentable>(column: String, as type: Value?.Type) throws -> Value? where Value.RawValue == String {
        guard let text = try decode(column: column, as: String?.self) else { return nil }
        guard let value = Value(rawValue: text) else { throw CorruptRow(column: column, value: text) }
        return value
    }

    /// A column holding a JSON document.
    func decodeJSON<Value: Decodable>(column: String, as type: Value.Type) throws -> Value {
        let text = try decode(column: column, as: String.self)
        return try JSONColumn.decode(text, column: column)
    }
}
