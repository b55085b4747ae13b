import Foundation
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateTestSupport
import SQLKit
import Testing

/// A deploy stops an instance: it stops being ready at once, open streams get the grace period,
/// then end with an `error` event, and what was delivered is stored. (The whole process under
/// SIGTERM, behind nginx, under load: `scripts/chaos`.)
@Suite(.timeLimit(.minutes(5))) struct GracefulShutdownTests {
    @Test func drainingTurnsReadinessOffAndEndsAStreamPastTheGraceWithAnErrorItsTurnStored() async throws {
        let shutdown = ShutdownState(grace: .milliseconds(300))
        try await withFakeProviders(patientProvider: true, shutdown: shutdown) { fake, app, client in
            let token = try await app.token(testUser(180))
            fake.script(.hang)
            #expect(try await client.call(.get, "/readyz").status == .ok)
            async let chat = client.chat(#"{"message": "Hi", "personaId": "career"}"#, token: token)
            while fake.requests.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            shutdown.beginDraining()
            let ready = try await client.call(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable && ready.code == "shutting_down" && ready.headers[.retryAfter] == "1")
            #expect(ready.headers[.connection] == "close", "a proxy stops reusing its connections to a draining instance")
            let result = try await chat
            #expect(result.events.contains { $0.event == "delta" })
            let last = try #require(result.events.last)
            #expect(last.event == "error" && last.data.contains("shutting_down"), "\(last)")
            let stored = try await app.database.read { db in
                try await db.raw("SELECT role, content FROM messages ORDER BY id").all()
                    .map { "\(try $0.decode(column: "role", as: String.self)):\(try $0.decode(column: "content", as: String.self))" }
            }
            #expect(stored == ["user:Hi", "assistant:Hello"], "the delivered part is kept, charged once")
            #expect(try await app.count("model_usage_daily") == 1)
        }
    }
}
