import Foundation
import ModelgateCore
import SQLKit

/// A user as the admin console finds them.
public struct UserSummary: Sendable, Equatable, Codable {
    public let id: UserID
    public let email: String?
}

extension ProfileRepository {
    /// A user by id or by exact email (case-insensitive). An email that several profiles carry
    /// (emails are not verified by Modelgate) is refused: access goes only to the user named by id.
    public func findUser(_ reference: String) async throws -> UserSummary? {
        try await database.read { db in
            if UserID(reference) != nil {
                return try await db.raw("SELECT id, email FROM profiles WHERE id = \(bind: reference.lowercased())").first().map(Self.summary)
            }
            let rows = try await db.raw("""
                SELECT id, email FROM profiles WHERE LOWER(email) = \(bind: reference.lowercased()) ORDER BY created_at LIMIT 2
                """).all()
            guard rows.count < 2 else {
                throw ModelgateError.conflict(code: "ambiguous_user", detail: "Several users have the email '\(reference)'; name the user by id.")
            }
            return try rows.first.map(Self.summary)
        }
    }

    /// Users whose email starts with `prefix`, for the grant dialog's autocomplete.
    public func searchUsers(emailPrefix prefix: String, limit: Int = 10) async throws -> [UserSummary] {
        let cleaned = prefix.lowercased().replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "")
        guard !cleaned.isEmpty else { return [] }
        return try await database.read { db in
            try await db.raw("""
                SELECT id, email FROM profiles WHERE LOWER(email) LIKE \(bind: cleaned + "%") ORDER BY email LIMIT \(bind: limit)
                """).all().map(Self.summary)
        }
    }

    public static func summary(_ row: any SQLRow) throws -> UserSummary {
        UserSummary(id: try row.decodeUserID(column: "id"), email: try row.decode(column: "email", as: String?.self))
    }
}
