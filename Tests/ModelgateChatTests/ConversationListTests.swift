import Foundation
import HummingbirdTesting
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
import Testing

/// `GET /api/conversations` pages with a cursor instead of stopping silently at a hundred.
@Suite(.timeLimit(.minutes(5))) struct ConversationListTests {
    @Test func theConversationListIsPagedByACursorAndShowsOnlyTheCallersOwn() async throws {
        try await TestApp.run { app, client in
            let alice = try await app.token(testUser(60)), bob = try await app.token(testUser(61))
            var started: [String] = []
            // Seven conversations, two of them at the same moment (ordered by id then).
            for index in 0..<7 {
                if index != 4 { app.clock.set(app.clock.now().addingTimeInterval(60)) }
                let reply = try await client.chat(#"{"message": "Hi \#(index)", "personaId": "career"}"#, token: alice)
                started.append(try #require(reply.meta?["conversationId"]?.stringValue))
            }
            _ = try await client.chat(#"{"message": "Bob's", "personaId": "career"}"#, token: bob)

            var listed: [String] = [], cursor: String?, pages = 0
            repeat {
                let path = "/api/conversations?limit=3" + (cursor.map { "&after=\($0)" } ?? "")
                let page = try await client.call(.get, path, token: alice).json
                listed += page["data"]?.array.compactMap { $0["id"]?.stringValue } ?? []
                cursor = page["nextAfter"]?.stringValue
                #expect(page["nextAfter"] != nil, "nextAfter is always present, null on the last page")
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            let newestFirst = Array(started[5...].reversed()) + [started[3], started[4]].sorted() + started[0...2].reversed()
            #expect(listed == newestFirst)

            // One user's cursor opens no page of another's.
            let probe = try await client.call(.get, "/api/conversations?after=\(started[6])", token: bob).json
            #expect(probe["data"]?.array.isEmpty == true && probe["nextAfter"] == .null)
            let refused = try await client.call(.get, "/api/conversations?limit=0", token: alice)
            #expect(refused.status == .unprocessableContent)
        }
    }
}
