import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// The app's answer to a tool call, sent with the next user turn.
public struct StoredToolResult: Sendable, Equatable, Codable {
    public let toolCallId: String
    public let content: String

    public init(toolCallId: String, content: String) {
        self.toolCallId = toolCallId
        self.content = content
    }
}

/// An image attached to a user turn. Stored once in `attachments`; turns refer to it by id, so a
/// photo is not copied into every history row that replays it.
public struct StoredAttachment: Sendable, Equatable {
    public let id: String
    public let mediaType: String
    /// Base64 bytes of an uploaded image, or nil for a linked one.
    public let data: String?
    /// The https URL of a linked image, or nil for an uploaded one.
    public let url: String?

    public init(id: String, mediaType: String, data: String?, url: String?) {
        self.id = id
        self.mediaType = mediaType
        self.data = data
        self.url = url
    }

    public var byteCount: Int { data.map { $0.utf8.count * 3 / 4 } ?? 0 }
}

/// An attachment as the history API lists it: where to fetch it, never its bytes.
public struct AttachmentSummary: Sendable, Equatable, Codable {
    public let id: String
    public let mediaType: String
    /// Where to fetch the image: the linked https URL, or for an uploaded one its path under the
    /// conversation (`/api/conversations/{id}/attachments/{attachment}`, the owner's token needed).
    public let url: String
    public let byteCount: Int
}

extension ConversationRepository {
    /// The user's own attachments among `ids`, with their bytes, for replaying history to a provider.
    public func attachments(_ ids: [String], ownedBy user: UserID) async throws -> [StoredAttachment] {
        guard !ids.isEmpty else { return [] }
        return try await database.read { db in
            try await db.raw("""
                SELECT id, media_type, data, url FROM attachments WHERE user_id = \(bind: user.description) AND id IN (\(binds: ids))
                """).all().map { row in
                StoredAttachment(id: try row.decode(column: "id", as: String.self), mediaType: try row.decode(column: "media_type", as: String.self),
                                 data: try row.decode(column: "data", as: String?.self), url: try row.decode(column: "url", as: String?.self))
            }
        }
    }

    /// Summaries of the user's own attachments among `ids`, in `conversation`.
    func attachmentSummaries(_ ids: [String], in conversation: String, ownedBy user: UserID, in db: any SQLDatabase) async throws -> [String: AttachmentSummary] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await db.raw("""
            SELECT id, media_type, url, byte_count FROM attachments WHERE user_id = \(bind: user.description) AND id IN (\(binds: ids))
            """).all()
        return Dictionary(uniqueKeysWithValues: try rows.map { row in
            let id = try row.decode(column: "id", as: String.self)
            let url = try row.decode(column: "url", as: String?.self) ?? "/api/conversations/\(conversation)/attachments/\(id)"
            return (id, AttachmentSummary(id: id, mediaType: try row.decode(column: "media_type", as: String.self), url: url,
                                          byteCount: try row.decode(column: "byte_count", as: Int.self)))
        })
    }

    static func insert(_ attachments: [StoredAttachment], user: UserID, at now: Date, in db: any SQLDatabase) async throws {
        for attachment in attachments {
            try await db.raw("""
                INSERT INTO attachments (id, user_id, media_type, data, url, byte_count, created_at)
                VALUES (\(bind: attachment.id), \(bind: user.description), \(bind: attachment.mediaType), \(bind: attachment.data),
                        \(bind: attachment.url), \(bind: attachment.byteCount), \(bind: now))
                """).run()
        }
    }
}
