import Foundation
import HTTPTypes
import HummingbirdTesting
import ModelgateAppTesting
import ModelgateCore
import ModelgateTestSupport
import Testing

/// The names clients send, mapped by an admin to catalog models; an unknown name is refused naming it.
@Suite(.timeLimit(.minutes(5)))
struct ModelAliasTests {
    @Test func anAliasMapsAClientsModelNameAndTheAnswerNamesTheModelThatServedIt() async throws {
        try await TestApp.run(providers: TestApp.providers(fake: nil, demo: true)) { app, client in
            let admin = try await app.adminToken()
            let token = try await app.token(testUser(66))
            func messages(_ model: String) async throws -> (status: HTTPResponse.Status, json: JSONValue) {
                let reply = try await client.call(.post, "/v1/messages", token: token,
                                                  json: #"{"model": "\#(model)", "max_tokens": 32, "messages": [{"role": "user", "content": "Hi"}]}"#)
                return (reply.status, reply.json)
            }
            let unknown = try await messages("claude-sonnet-4-5-20250929")
            #expect(unknown.status == .notFound && unknown.json["error"]?["type"] == .string("not_found_error"))
            #expect(unknown.json["error"]?["message"]?.stringValue?.contains("claude-sonnet-4-5-20250929") == true, "\(unknown.json)")

            #expect(try await client.call(.put, "/api/admin/model-aliases/claude-sonnet-4-5", token: admin,
                                          json: #"{"modelId": "claude-3-5-sonnet", "match": "prefix"}"#).status == .ok)
            #expect(try await client.call(.put, "/api/admin/model-aliases/claude-haiku-4-5-20251001", token: admin,
                                          json: #"{"modelId": "gpt-4o-mini"}"#).status == .ok)
            let refused = try await client.call(.put, "/api/admin/model-aliases/gpt-4o", token: admin, json: #"{"modelId": "gpt-4o-mini"}"#)
            #expect(refused.status == .unprocessableContent, "a catalog id cannot be an alias")
            #expect(try await client.call(.put, "/api/admin/model-aliases/x", token: admin, json: #"{"modelId": "no-such"}"#).status == .unprocessableContent)
            #expect(try await client.call(.put, "/api/admin/model-aliases/x", token: token, json: #"{"modelId": "gpt-4o"}"#).status == .forbidden)

            try await app.sql("UPDATE ai_models SET trial_messages_allowed = 5 WHERE id = 'claude-3-5-sonnet'")
            try await app.services.cache.refresh()
            let dated = try await messages("claude-sonnet-4-5-20250929")
            #expect(dated.status == .ok && dated.json["model"] == .string("claude-3-5-sonnet"), "\(dated.json)")
            let exact = try await client.call(.post, "/v1/chat/completions", token: token,
                                              json: #"{"model": "claude-haiku-4-5-20251001", "messages": [{"role": "user", "content": "Hi"}]}"#)
            #expect(exact.status == .ok && exact.json["model"] == .string("gpt-4o-mini"), "\(exact.json)")
            #expect(try await messages("claude-haiku-4-5").status == .notFound, "an exact alias is not a prefix")

            #expect(try await client.call(.get, "/api/admin/model-aliases", token: admin).json["data"]?.array.count == 2)
            #expect(try await client.call(.delete, "/api/admin/model-aliases/claude-sonnet-4-5", token: admin).status == .noContent)
            #expect(try await messages("claude-sonnet-4-5-20250929").status == .notFound)
            #expect(try await client.call(.delete, "/api/admin/model-aliases/claude-sonnet-4-5", token: admin).status == .notFound)
            let audited = try await app.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM audit_log WHERE target_type = 'model_alias'").first()?.decode(column: "n", as: Int.self)
            }
            #expect(audited == 3)
        }
    }

    @Test func anAdminMapsAndRemovesANameOnTheModelsPage() async throws {
        try await TestApp.run { app, client in
            let admin = try await app.session(testUser(69), admin: true, client: client)
            let page = try await client.page(.get, "/admin/models", cookie: admin)
            let csrf = try #require(page.csrf)
            #expect(page.html.contains("Model names clients send"))
            let saved = try await client.page(.post, "/admin/model-aliases", cookie: admin,
                                              form: "_csrf=\(csrf)&name=gpt-5-codex&match=prefix&modelId=gpt-4o")
            #expect(saved.status == .seeOther || saved.status == .found, "\(saved.status)")
            #expect(app.services.cache.catalog.resolve("gpt-5-codex-mini") == "gpt-4o")
            let listed = try await client.page(.get, "/admin/models?notice=alias-saved", cookie: admin)
            #expect(listed.html.contains("gpt-5-codex") && listed.html.contains("clients sending it get the model now"))
            let refused = try await client.page(.post, "/admin/model-aliases", cookie: admin, form: "_csrf=\(csrf)&name=other&modelId=no-such")
            #expect(refused.status == .unprocessableContent)
            _ = try await client.page(.post, "/admin/model-aliases/remove", cookie: admin, form: "_csrf=\(csrf)&name=gpt-5-codex")
            #expect(app.services.cache.catalog.resolve("gpt-5-codex-mini") == nil)
        }
    }
}
