import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateTestSupport
import Testing

/// Clickjacking, MIME sniffing and a sign-in URL leaking through the Referer header: every answer
/// (pages, JSON, problems, static files) carries the headers that stop them.
@Suite(.timeLimit(.minutes(5))) struct SecurityHeadersTests {
    static let expected: [(String, String)] = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer")]

    @Test func everyAnswerForbidsSniffingFramingAndReferrers() async throws {
        try await TestApp.run { app, client in
            let token = try await app.token(testUser(940))
            let answers = [
                try await client.page(.get, "/settings", cookie: try await app.session(testUser(940), client: client)).headers,
                try await client.page(.post, "/login", form: "token=\(token)").headers,
                try await client.page(.get, "/static/app.css").headers,
                try await client.call(.get, "/api/me", token: token).headers,
                try await client.call(.get, "/api/conversations/none", token: token).headers,
                try await client.call(.get, "/healthz", token: nil).headers,
            ]
            for headers in answers {
                for (name, value) in Self.expected {
                    #expect(headers[try #require(HTTPField.Name(name))] == value, "\(name) in \(headers)")
                }
                #expect(headers[.strictTransportSecurity] == nil)
            }
        }
    }

    @Test func httpsDeploymentsAlsoGetHSTS() async throws {
        try await TestApp.run { app, _ in
            var configuration = ServerConfiguration()
            configuration.billing.publicURL = "https://coach.example"
            let router = buildRouter(configuration: configuration, dependencies: app.dependencies, services: app.services, tokens: app.tokens)
            try await Application(router: router).test(.router) { client in
                let headers = try await client.call(.get, "/healthz", token: nil).headers
                #expect(headers[.strictTransportSecurity] == "max-age=31536000; includeSubDomains")
            }
        }
    }
}
