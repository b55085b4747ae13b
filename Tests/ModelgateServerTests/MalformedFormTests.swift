import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateProviders
import ModelgateServer
import ModelgateTestSupport
import NIOCore
import Testing

/// Bad form bodies against every page form of the router, with a valid session and CSRF token:
/// each is answered with a 4xx and the server goes on serving.
@Suite(.timeLimit(.minutes(5))) struct MalformedFormTests {
    /// Every `POST` route of the router outside `/api` and `/v1`: the forms the pages post.
    static func pageFormRoutes() async throws -> [String] {
        try await TestApp.routerRoutes().filter { $0.method == .post }.map(\.path)
            .filter { !$0.hasPrefix("/api/") && !$0.hasPrefix("/v1/") }
            .map { $0.replacingOccurrences(of: "{id}", with: "gpt-4o") }
            .sorted()
    }

    /// Malformed bodies a fuzzer or an attacker sends after a valid `_csrf` field (the invalid
    /// UTF-8 one is raw bytes): each must be refused.
    static let malformed: [(name: String, bytes: [UInt8])] = [
        ("=", Array("=".utf8)),
        ("a=1&=", Array("a=1&=".utf8)),
        ("&&&", Array("&&&".utf8)),
        ("%ZZ=1", Array("%ZZ=1".utf8)),
        ("64 KiB field name", Array((String(repeating: "n", count: 64 * 1024) + "=1").utf8)),
        ("invalid UTF-8", [0x6d, 0x6f, 0x64, 0x65, 0x6c, 0x49, 0x64, 0x3d, 0xff, 0xfe, 0xc3]),
        ("a lone name", Array("modelId".utf8)),
        ("a duplicated field", Array("modelId=a&modelId=b".utf8)),
    ]

    /// Well-formed but odd bodies (the decoder reads them; unknown names are ignored): never a 5xx.
    static let odd: [(name: String, bytes: [UInt8])] = [
        ("percent-encoded invalid UTF-8", Array("modelId=%FF%FE".utf8)),
        ("a bracket soup name", Array("ids[[]=x&ids]=y".utf8)),
        ("a deep name", Array((String(repeating: "[a]", count: 200) + "=1").utf8)),
        ("a huge index", Array("ids[99999999999999999999]=x".utf8)),
    ]

    @Test func everyPageFormAnswersBadBodiesWith4xxAndTheServerKeepsServing() async throws {
        let routes = try await Self.pageFormRoutes()
        #expect(routes.contains("/settings/default-model") && routes.contains("/admin/models/gpt-4o/grants") && routes.contains("/logout"))
        #expect(routes.count >= 10, "\(routes)")
        print("page form routes:", routes.joined(separator: " "))
        try await TestApp.run(test: .live) { app, client in
            let admin = try await app.session(testUser(70), admin: true, client: client)
            let csrf = try #require(try await client.page(.get, "/settings", cookie: admin).csrf)
            func post(_ route: String, _ bytes: [UInt8]) async throws -> HTTPResponse.Status {
                var body = ByteBuffer(string: "_csrf=\(csrf)&")
                body.writeBytes(bytes)
                return try await client.execute(
                    uri: route, method: .post,
                    headers: [.cookie: "modelgate_session=\(admin)", .contentType: "application/x-www-form-urlencoded"], body: body
                ) { $0.status }
            }
            for route in routes {
                for bad in Self.malformed {
                    let status = try await post(route, bad.bytes)
                    #expect((400..<500).contains(status.code), "\(route) with \(bad.name): \(status)")
                }
                #expect(try await client.call(.get, "/healthz", token: nil).status == .ok, "after \(route)")
            }
            // Nothing above changed the user's choices or the catalog.
            #expect(try await client.call(.get, "/api/profile/model-preferences", cookie: admin).json["defaultModelId"] == .null)
            #expect(try await app.count("audit_log") == 0)
            // Signing out (a well-formed post) comes last, so every other route still sees the session.
            for route in routes.filter({ !$0.hasPrefix("/logout") }) + routes.filter({ $0.hasPrefix("/logout") }) {
                for odd in Self.odd {
                    let status = try await post(route, odd.bytes)
                    #expect(status.code < 500, "\(route) with \(odd.name): \(status)")
                }
            }
            #expect(try await client.call(.get, "/healthz", token: nil).status == .ok)
        }
    }

    @Test func aMalformedFormIsA400PageNamingTheProblem() async throws {
        try await TestApp.run { app, client in
            let token = try await app.session(testUser(71), client: client)
            let csrf = try #require(try await client.page(.get, "/settings", cookie: token).csrf)
            let reply = try await client.page(.post, "/settings/default-model", cookie: token, form: "_csrf=\(csrf)&%ZZ=1")
            #expect(reply.status == .badRequest && reply.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(reply.html.contains("malformed_form") && reply.html.contains("not valid percent-encoded UTF-8"))
            let nameless = try await client.page(.post, "/settings/default-model", cookie: token, form: "_csrf=\(csrf)&=x")
            #expect(nameless.status == .badRequest && nameless.html.contains("needs a name"))
            // A well-formed form still saves.
            let saved = try await client.page(.post, "/settings/default-model", cookie: token, form: "_csrf=\(csrf)&modelId=llama-3.1-8b")
            #expect(saved.status == .seeOther)
        }
    }
}
