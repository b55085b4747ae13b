import AsyncHTTPClient
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
import NIOCore
import Testing

/// The server-drawn charts (SVGChart.swift) in headless Chromium: `scripts/e2e/charts_e2e.py`.
@Suite(.enabled(if: Browser.available, "needs MODELGATE_TEST_PYTHON and chromedriver (scripts/test sets them up)"), .timeLimit(.minutes(5)))
struct ChartBrowserTests {
    /// What one `/api/chat` message was answered with: the provider cost of the exchange.
    struct Sent {
        let model: String
        let costMicros: Int
    }

    /// Sends one message through the live app's `/api/chat`, as the app would; the demo provider
    /// answers and reports usage, so the call has a cost. Returns the `done` event's cost.
    static func chat(_ base: String, token: String, model: String) async throws -> Sent {
        var request = HTTPClientRequest(url: base + "/api/chat")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        request.body = .bytes(ByteBuffer(string: #"{"message": "How did my week go?", "personaId": "career", "modelId": "\#(model)"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(response.status == .ok, "\(model): \(response.status) \(body)")
        let done = try #require(body.components(separatedBy: "event: done\ndata: ").dropFirst().first?.split(separator: "\n").first,
                                "\(model): no done event in \(body)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(done.utf8)) as? [String: Any])
        let cost = try #require(json["costMicros"] as? Int, "\(done)")
        #expect(cost > 0, "\(model): the demo provider's usage should cost something: \(done)")
        return Sent(model: model, costMicros: cost)
    }

    @Test func chartsShowTheSameFiguresAsTheirTablesAtThreeWidths() async throws {
        try await Browser.withLiveApp { app, base in
            // Messages on four days of the last 30 (three of the last 7), moving the app's clock;
            // it ends at the real time, so the fake Stripe's signed webhook is on time.
            let now = app.clock.now()
            func day(_ daysAgo: Int) { app.clock.set(now.addingTimeInterval(Double(-daysAgo) * 86_400)) }
            day(20)
            let ana = testUser(330), ben = testUser(331)
            let anaToken = try await app.token(ana, email: "ana@example.com")
            // A long address: the top spenders' labels must stay readable on a phone.
            let benToken = try await app.token(ben, email: "benedict.cumberbatch-with-a-long-address@subdomain.example.com")
            let adminToken = try await app.adminToken()

            var ana7: [Sent] = [], others: [Sent] = [], admins: [Sent] = []
            others.append(try await Self.chat(base, token: benToken, model: "claude-3-5-haiku"))
            day(3)
            for _ in 0..<2 { ana7.append(try await Self.chat(base, token: anaToken, model: "gpt-4o-mini")) }
            others.append(try await Self.chat(base, token: benToken, model: "gpt-4o-mini"))
            day(1)
            ana7.append(try await Self.chat(base, token: anaToken, model: "gpt-4o-mini"))
            for _ in 0..<3 { others.append(try await Self.chat(base, token: benToken, model: "llama-3.1-8b")) }
            day(0)
            for _ in 0..<4 { ana7.append(try await Self.chat(base, token: anaToken, model: "gpt-4o-mini")) }
            ana7.append(try await Self.chat(base, token: anaToken, model: "gpt-4o"))  // a trial message; she buys it in the browser
            admins.append(try await Self.chat(base, token: adminToken, model: "gpt-4o-mini"))

            let all = ana7 + others + admins
            let price = try #require(app.services.cache.catalog.model("gpt-4o")?.priceCents)
            func figures(_ model: String, revenueMicros: Int) -> [String: Int] {
                let sent = all.filter { $0.model == model }
                return ["messages": sent.count, "costMicros": sent.map(\.costMicros).reduce(0, +), "revenueMicros": revenueMicros]
            }
            let out = Browser.outputDirectory + "/charts"
            let result = try await Browser.run("charts_e2e.py", scenario: [
                "base": base, "out": out,
                "user": ["token": anaToken], "admin": ["token": adminToken], "buy": "gpt-4o",
                "expect": [
                    "messages": all.count, "costMicros": all.map(\.costMicros).reduce(0, +), "revenueMicros": price * 10_000,
                    "userWeek": ana7.count, "adminWeek": admins.count,
                    "models": ["gpt-4o-mini": figures("gpt-4o-mini", revenueMicros: 0), "gpt-4o": figures("gpt-4o", revenueMicros: price * 10_000)],
                ] as [String: Any],
            ])
            #expect(result.status == 0, "\(result.output)")

            let pages = ["margin", "stats-gpt-4o-mini", "stats-gpt-4o", "settings-user", "settings-admin"]
            for page in pages {
                for width in [375, 768, 1280] {
                    let path = "\(out)/\(page)-\(width).png"
                    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                    #expect(size > 0, "no screenshot at \(path)")
                }
            }
        }
    }
}
