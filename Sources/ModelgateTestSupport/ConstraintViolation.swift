import ModelgateStore
import PostgresKit

/// Which database rule refused a write, read the same way on SQLite and PostgreSQL, so schema
/// tests expect the specific refusal instead of any error.
public enum ConstraintViolation: Equatable, Sendable {
    case foreignKey
    case check
    /// PostgreSQL refuses text that is not JSON before any CHECK runs (SQLite's CHECK does it).
    case invalidJSON
    case unique

    public init?(_ error: any Error) {
        if let error = error as? SQLiteFailure {
            switch error.code {
            case SQLiteFailure.constraintForeignKey: self = .foreignKey
            case SQLiteFailure.constraintCheck: self = .check
            case SQLiteFailure.constraintUnique, SQLiteFailure.constraintPrimaryKey: self = .unique
            default: return nil
            }
        } else if let error = error as? PSQLError {
            switch error.serverInfo?[.sqlState] {
            case "23503": self = .foreignKey
            case "23514": self = .check
            case "22P02": self = .invalidJSON
            case "23505": self = .unique
            default: return nil
            }
        } else {
            return nil
        }
    }
}
