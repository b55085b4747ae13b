import Foundation
import HummingbirdTesting
import ModelgateAccess
import ModelgateAppTesting
import ModelgateCore
import ModelgateTestSupport
import Testing

/// A real agent client from PyPI, the OpenAI Agents SDK (`openai-agents`), runs a scripted task
/// through the Responses door on a service key: it calls the tool the task needs, reads its
/// result and answers, and each of its model calls is the end user's message, settled once.
@Suite(.enabled(if: PythonSDK.available, "needs MODELGATE_TEST_PYTHON (scripts/test sets it)"), .timeLimit(.minutes(5)))
struct AgentClientTests {
    @Test(arguments: [("gpt-4o-mini", false), ("claude-3-5-haiku", true)])
    func theAgentsSDKCompletesATaskWithAToolCall(model: String, stream: Bool) async throws {
        let fake = try await FakeProviderServer.start()
        do {
            try await TestApp.run(providers: TestApp.providers(fake: fake), test: .live) { app, client in
                try await app.sql("UPDATE ai_models SET trial_messages_allowed = 20 WHERE tier = 'premium'")
                try await app.services.cache.refresh()
                let key = try await app.createKey(client, #"{"name": "agents", "kind": "service"}"#)
                let port = try #require(client.port)
                let arguments = ["http://127.0.0.1:\(port)", key, "agent-user-1", model] + (stream ? ["stream"] : [])
                let result = try await PythonSDK.run(arguments, script: "scripts/agent_checks.py")
                #expect(result.status == 0, "\(result.output)")
                // The tool call and the answer to its result: two messages of the agent's end user.
                let usage = try await QuotaLedger(database: app.database).usage(of: try await app.endUser("agent-user-1"), on: QuotaCalendar.day(at: app.clock.now(), zoneIdentifier: "UTC").key)
                #expect(usage[ModelID(rawValue: model)] == 2, "\(usage)")
                #expect(fake.requests.count == 2)
                let last = String(decoding: try #require(fake.requests.last).body, as: UTF8.self)
                #expect(last.contains("Session booked for"), "the tool's result went back to the model: \(last)")
            }
        } catch {
            await fake.stop()
            throw error
        }
        await fake.stop()
    }
}
