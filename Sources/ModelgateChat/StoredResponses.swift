import Foundation
import ModelgateCore
import ModelgateStore
import SQLKit

/// A Responses API answer to keep: what `GET /v1/responses/{id}` answers and what a
/// `previous_response_id` continues from.
struct StoredResponse: Sendable {
    enum Status: String, Sendable {
        case completed, incomplete
    }

    let id: String
    let owner: UserID
    let model: ModelID
    let status: Status
    /// The whole conversation the answer replied to, the chain before it included, so that
    /// continuing it is one lookup.
    let input: [ResponsesRequest.Item]
    let output: [JSONValue]
    /// The Response object as it was answered.
    let object: JSONValue
}

/// The stored Responses API answers. Every query is filtered by the owner (the user, or a service
/// key's end user) and by expiry: another caller's answer, and an expired one, are not there.
public struct StoredResponses: Sendable {
    let database: Database
    /// How long an answer is kept after it was made.
    public let retention: TimeInterval

    public init(database: Database, retention: TimeInterval) {
        self.database = database
        self.retention = retention
    }

    func save(_ response: StoredResponse, at now: Date) async throws {
        // The output lives in its own column; the object keeps the other fields.
        var fields: [String: JSONValue] = [:]
        if case .object(let answered) = response.object { fields = answered }
        fields["output"] = nil
        let object = JSONValue.object(fields)
        let input = try JSONColumn.text(response.input)
        try await database.write { db in
            try await db.raw("""
                INSERT INTO stored_responses (id, user_id, model_id, status, input_items, output_items, response, created_at, expires_at)
                VALUES (\(bind: response.id), \(bind: response.owner.description), \(bind: response.model.rawValue), \(bind: response.status.rawValue),
                        \(bind: input), \(bind: JSONValue.array(response.output).jsonText), \(bind: object.jsonText), \(bind: now),
                        \(bind: now.addingTimeInterval(retention)))
                """).run()
        }
    }

    /// The Response object `id` as it was answered, if `user` owns it and it has not expired.
    func object(_ id: String, ownedBy user: UserID, at now: Date) async throws -> JSONValue? {
        try await database.read { db in
            try await db.raw("""
                SELECT output_items, response FROM stored_responses
                WHERE id = \(bind: id) AND user_id = \(bind: user.description) AND expires_at > \(bind: now)
                """).first().map { row in
                var fields = try row.decodeJSON(column: "response", as: [String: JSONValue].self)
                fields["output"] = try row.decodeJSON(column: "output_items", as: JSONValue.self)
                return .object(fields)
            }
        }
    }

    /// The conversation a response continuing `id` starts from: everything `id` replied to, then
    /// its output; nil unless `user` owns it and it has not expired.
    func conversation(through id: String, ownedBy user: UserID, at now: Date) async throws -> [ResponsesRequest.Item]? {
        try await database.read { db in
            try await db.raw("""
                SELECT input_items, output_items FROM stored_responses
                WHERE id = \(bind: id) AND user_id = \(bind: user.description) AND expires_at > \(bind: now)
                """).first().map { row in
                try row.decodeJSON(column: "input_items", as: [ResponsesRequest.Item].self)
                    + row.decodeJSON(column: "output_items", as: [ResponsesRequest.Item].self)
            }
        }
    }

    /// Deletes `id` if `user` owns it and it has not expired; false when there was none.
    func delete(_ id: String, ownedBy user: UserID, at now: Date) async throws -> Bool {
        try await database.write { db in
            try await db.raw("""
                DELETE FROM stored_responses
                WHERE id = \(bind: id) AND user_id = \(bind: user.description) AND expires_at > \(bind: now) RETURNING id
                """).first() != nil
        }
    }

    /// Deletes every answer past its expiry, `batch` rows a statement so that other writers never
    /// wait long; returns how many.
    public func purge(at now: Date, batch: Int = 1000) async throws -> Int {
        var purged = 0
        while true {
            let deleted = try await database.write { db in
                try await db.raw("""
                    DELETE FROM stored_responses
                    WHERE id IN (SELECT id FROM stored_responses WHERE expires_at <= \(bind: now) LIMIT \(bind: batch)) RETURNING id
                    """).all().count
            }
            purged += deleted
            if deleted < batch { return purged }
        }
    }
}
