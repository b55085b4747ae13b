import Foundation

/// Where the data lives, parsed from `MODELGATE_DATABASE_URL`.
public enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    /// A file, the embedded default.
    case sqliteFile(path: String)
    /// A private in-memory database that lives as long as the process.
    case sqliteMemory
    /// `postgres://user:password@host:port/database?tlsmode=disable`
    case postgres(url: String)

    public init(parsing value: String) throws(DatabaseURLError) {
        if value == "sqlite::memory:" {
            self = .sqliteMemory
        } else if value.hasPrefix("sqlite:") {
            let path = String(value.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw DatabaseURLError(value: value, reason: "sqlite: needs a file path") }
            self = .sqliteFile(path: path)
        } else if value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") {
            guard URL(string: value)?.host != nil else { throw DatabaseURLError(value: value, reason: "no host in the URL") }
            self = .postgres(url: value)
        } else {
            throw DatabaseURLError(value: value, reason: "expected sqlite:PATH, sqlite::memory: or postgres://…")
        }
    }

    /// The form safe to print: a PostgreSQL password is masked.
    public var description: String {
        switch self {
        case .sqliteFile(let path): return "sqlite:\(path)"
        case .sqliteMemory: return "sqlite::memory:"
        case .postgres(let url):
            guard var parts = URLComponents(string: url), parts.password != nil else { return url }
            parts.password = "***"
            return parts.string ?? "postgres://…"
        }
    }
}

public struct DatabaseURLError: Error, CustomStringConvertible {
    public let value: String
    public let reason: String
    public var description: String { "MODELGATE_DATABASE_URL: \(reason)" }
}
