import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Testing

extension TestClientProtocol {
    /// A `/v1/chat/completions` call (or one to another door, at `path`) with an API key and extra headers.
    public func complete(key: String, body: String, headers extra: HTTPFields = [:], path: String = "/v1/chat/completions") async throws -> Reply {
        var headers = extra
        headers[.authorization] = "Bearer \(key)"
        headers[.contentType] = "application/json"
        return try await execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
            let data = Data(buffer: response.body)
            return Reply(status: response.status, headers: response.headers,
                         json: (try? JSONDecoder().decode(JSONValue.self, from: data)) ?? .string(String(decoding: data, as: UTF8.self)))
        }
    }
}

extension TestApp {
    /// Creates a key through the admin API and returns the whole key (shown once).
    public func createKey(_ client: any TestClientProtocol, _ json: String) async throws -> String {
        let admin = try await token(testUser(900), admin: true)
        let created = try await client.call(.post, "/api/admin/keys", token: admin, json: json)
        #expect(created.status == .created, "\(created.json)")
        return try #require(created.json["key"]?.stringValue)
    }

    /// The profile an app's end user maps to.
    public func endUser(_ external: String) async throws -> UserID {
        try await database.read { db in
            let row = try #require(try await db.raw("SELECT user_id FROM end_users WHERE external_id = \(bind: external)").first())
            let id = try row.decode(column: "user_id", as: String.self)
            return try #require(UserID(id))
        }
    }
}
