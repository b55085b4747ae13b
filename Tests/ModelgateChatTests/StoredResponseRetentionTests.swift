import Foundation
import HTTPTypes
import HummingbirdTesting
import ModelgateAppTesting
import ModelgateCore
import ModelgateServer
import ModelgateTestSupport
import NIOCore
import Testing

/// Stored Responses API answers over plain HTTP: kept for the retention and then gone, never kept
/// for `store: false` or a failed call, and read by a service key's end user named in a header.
@Suite(.timeLimit(.minutes(5)))
struct StoredResponseRetentionTests {
    static func create(_ client: any TestClientProtocol, _ body: String, token: String, headers extra: HTTPFields = [:]) async throws -> Reply {
        var headers = extra
        headers[.authorization] = "Bearer \(token)"
        headers[.contentType] = "application/json"
        return try await client.execute(uri: "/v1/responses", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
            let data = Data(buffer: response.body)
            return Reply(status: response.status, headers: response.headers,
                         json: (try? JSONDecoder().decode(JSONValue.self, from: data)) ?? .string(String(decoding: data, as: UTF8.self)))
        }
    }

    static func read(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ id: String, token: String, endUser: String? = nil) async throws -> Reply {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if let endUser { headers[.init("X-Modelgate-User")!] = endUser }
        return try await client.execute(uri: "/v1/responses/\(id)", method: method, headers: headers) { response in
            Reply(status: response.status, headers: response.headers,
                  json: (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body))) ?? .null)
        }
    }

    static func stored(_ app: TestApp) async throws -> Int {
        try await app.database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM stored_responses").first()?.decode(column: "n", as: Int.self) ?? -1
        }
    }

    @Test func aStoredResponseIsGoneAfterTheRetentionAndThenPurged() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(173))
            let created = try await Self.create(client, #"{"model": "gpt-4o-mini", "input": "Hi"}"#, token: token)
            #expect(created.status == .ok && created.json["store"]?.bool == true, "\(created.json)")
            let id = try #require(created.json["id"]?.stringValue)
            let start = app.clock.now()
            app.clock.set(start.addingTimeInterval(29 * 86_400))
            let kept = try await Self.read(client, .get, id, token: token)
            #expect(kept.status == .ok && kept.json == created.json, "the same Response object: \(kept.json)")

            app.clock.set(start.addingTimeInterval(30 * 86_400 + 1))
            #expect(try await Self.read(client, .get, id, token: token).json["error"]?["code"]?.stringValue == "response_not_found")
            #expect(try await Self.read(client, .delete, id, token: token).status == .notFound)
            let continued = try await Self.create(client, #"{"model": "gpt-4o-mini", "input": "Hi", "previous_response_id": "\#(id)"}"#, token: token)
            #expect(continued.status == .notFound && continued.json["error"]?["code"]?.stringValue == "response_not_found", "\(continued.json)")
            #expect(try await Self.stored(app) == 1, "expired but not yet purged")
            #expect(try await app.services.storedResponses.purge(at: app.clock.now()) == 1)
            #expect(try await app.services.storedResponses.purge(at: app.clock.now()) == 0)
            #expect(try await Self.stored(app) == 0)
        }
    }

    @Test func theRetentionIsSetInDays() throws {
        #expect(try ServerConfiguration.fromEnvironment([:]).responseRetention == 30 * 86_400)
        #expect(try ServerConfiguration.fromEnvironment(["MODELGATE_RESPONSE_RETENTION_DAYS": "7"]).responseRetention == 7 * 86_400)
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.fromEnvironment(["MODELGATE_RESPONSE_RETENTION_DAYS": "0"]) }
    }

    @Test func storeFalseAndFailedCallsStoreNothing() async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake)) { app, client in
                let token = try await app.token(testUser(174))
                let unstored = try await Self.create(client, #"{"model": "gpt-4o-mini", "input": "Hi", "store": false}"#, token: token)
                #expect(unstored.status == .ok && unstored.json["store"]?.bool == false, "\(unstored.json)")
                let id = try #require(unstored.json["id"]?.stringValue)
                #expect(try await Self.read(client, .get, id, token: token).status == .notFound)

                fake.script(.status(400))
                let refused = try await Self.create(client, #"{"model": "gpt-4o-mini", "input": "Hi"}"#, token: token,
                                                    headers: [.init("X-Modelgate-Failover")!: "off"])
                #expect(refused.status != .ok, "\(refused.json)")
                fake.script(.cutAfter(deltas: 2))
                let cut = try await client.execute(uri: "/v1/responses", method: .post, headers: [
                    .authorization: "Bearer \(token)", .contentType: "application/json", .init("X-Modelgate-Failover")!: "off",
                ], body: ByteBuffer(string: #"{"model": "gpt-4o-mini", "input": "Hi", "stream": true}"#)) { String(buffer: $0.body) }
                #expect(cut.contains("event: response.failed") && cut.contains(#""store":false"#), "\(cut)")
                #expect(try await Self.stored(app) == 0)

                let streamed = try await client.execute(uri: "/v1/responses", method: .post, headers: [
                    .authorization: "Bearer \(token)", .contentType: "application/json",
                ], body: ByteBuffer(string: #"{"model": "gpt-4o-mini", "input": "Hi", "stream": true}"#)) { String(buffer: $0.body) }
                #expect(streamed.contains("event: response.completed"), "\(streamed)")
                #expect(try await Self.stored(app) == 1, "a finished stream is stored")
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }

    @Test func aServiceKeysEndUserIsNamedInAHeaderToReadOrDelete() async throws {
        try await TestApp.run { app, client in
            let key = try await app.createKey(client, #"{"name": "coach-backend", "kind": "service", "app": "coach-app"}"#)
            let created = try await Self.create(client, #"{"model": "gpt-4o-mini", "input": "Hi", "user": "alice"}"#, token: key)
            let id = try #require(created.json["id"]?.stringValue, "\(created.json)")
            #expect(try await Self.read(client, .get, id, token: key).json["error"]?["code"]?.stringValue == "end_user_required")
            #expect(try await Self.read(client, .get, id, token: key, endUser: "bob").status == .notFound)
            #expect(try await Self.read(client, .delete, id, token: key, endUser: "bob").status == .notFound)
            let own = try await Self.read(client, .get, id, token: key, endUser: "alice")
            #expect(own.status == .ok && own.json["id"]?.stringValue == id && own.json["user"]?.stringValue == "alice", "\(own.json)")
            let deleted = try await Self.read(client, .delete, id, token: key, endUser: "alice")
            #expect(deleted.status == .ok && deleted.json == .object(["id": .string(id), "object": .string("response"), "deleted": .bool(true)]))
            #expect(try await Self.read(client, .get, id, token: key, endUser: "alice").status == .notFound)
        }
    }
}
