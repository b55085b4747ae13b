import ModelgateCore
import SQLKit

/// A stored value that breaks the schema's rules: reported (a 500 with the details logged), never
/// replaced by a made-up value.
struct CorruptRow: Error, CustomStringConvertible {
    let column: String
    let value: String
    var description: String { "column \(column) holds '\(value)'" }
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
}
