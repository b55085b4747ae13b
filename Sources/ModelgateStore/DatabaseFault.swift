@preconcurrency import AsyncKit
import NIOCore
import NIOPosix
import PostgresKit

/// Whether a failure means the database cannot be reached or written right now — restarting,
/// gone, its disk full or read-only — rather than that a statement was wrong. Such failures are
/// answered 503 `database_unavailable` (retry later), never 500.
enum DatabaseFault {
    static func isUnavailable(_ error: any Error) -> Bool {
        switch error {
        case is ConnectionPoolTimeoutError, is ConnectionPoolError, is NIOConnectionError, is ChannelError, is IOError:
            return true
        case let error as PSQLError:
            switch error.code {
            case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed:
                return true
            case .server:
                // Class 08: connection exceptions; 57P0x: the server is shutting down or starting;
                // 53100 disk full, 53300 too many connections, 25006 read-only transaction.
                let state = error.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("08") || state.hasPrefix("57P") || ["53100", "53300", "25006"].contains(state)
            default:
                return false
            }
        case let error as SQLiteFailure:
            return error.meansUnavailable
        default:
            return false
        }
    }
}
