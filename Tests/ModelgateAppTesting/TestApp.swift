import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateMetrics
import ModelgateProviders
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Testing

public let testSecret = try! JWTSecret("test-secret-test-secret-test-secret-0123")

/// A running Modelgate on its own database, with a clock the test moves.
public struct TestApp: Sendable {
    public let database: Database
    public let databaseURL: DatabaseURL
    public let clock: ManualClock
    public let tokens: TokenAuthority
    public let services: Services
    public let configuration = ServerConfiguration(maxBodyBytes: 16 * 1024)

    public let providers: ProviderRouter
    public let stripe: StripeClient?
    /// One registry per app: the services and the routes count into it.
    public let metrics: ModelgateMetrics
    public var logger = TestDatabase.logger
    public var dependencies: Dependencies {
        var dependencies = Self.dependencies(database: database, providers: providers, clock: clock, logger: logger)
        dependencies.stripe = stripe
        dependencies.metrics = metrics
        return dependencies
    }

    /// Sequential ids, unique across every app in the test process (two instances may share a database),
    /// in their own range (`…-9000-…`): `testUser(n)` is `…-8000-…n`, and a shared range let the
    /// 901st id made in a run be test user 901 (a duplicate profile on PostgreSQL).
    public static let idCounter = NIOLockedValueBox(0)

    public static func dependencies(database: Database, providers: ProviderRouter, clock: any WallClock, logger: Logger = TestDatabase.logger) -> Dependencies {
        let counter = idCounter
        var dependencies = Dependencies(
            database: database, providers: providers, clock: clock,
            makeID: { UUID(uuidString: String(format: "00000000-0000-4000-9000-%012d", counter.withLockedValue { $0 += 1; return $0 }))! },
            logger: logger)
        dependencies.userLimits = .off
        return dependencies
    }

    public func application() -> some ApplicationProtocol {
        buildApplication(configuration: configuration, dependencies: dependencies, services: services, tokens: tokens)
    }

    /// Changes the catalog behind the service's back, as another instance or an operator would,
    /// then refreshes the in-memory snapshot.
    public func sql(_ statement: SQLQueryString) async throws {
        try await database.write { try await $0.raw(statement).run() }
        try await services.cache.refresh()
    }

    /// `METHOD path` of every route of a default app's router (paths as the router spells them).
    public static func routerRoutes() async throws -> [(method: HTTPRequest.Method, path: String)] {
        try await TestDatabase.with { database, _ in
            let dependencies = dependencies(database: database, providers: ProviderRouter(configuration: .init(), httpClient: .shared), clock: SystemClock())
            let router = buildRouter(
                configuration: ServerConfiguration(), dependencies: dependencies,
                services: try await Services(dependencies: dependencies), tokens: await TokenAuthority(secret: testSecret))
            return router.routes.map { (method: $0.method, path: $0.path.description) }
        }
    }

    /// Gives `user` (who must have signed in once) the premium `model`, as an admin grant would.
    public func grant(_ model: ModelID, to user: UserID) async throws {
        try await database.write { db in
            _ = try await EntitlementRepository.grant(model: model, to: user, source: .adminGrant, grantedBy: nil, at: clock.now(), in: db)
        }
    }

    /// A token issued at the app's time, valid for `ttl` of the app's time (tests move the clock by days).
    public func token(_ user: UserID, email: String? = nil, admin: Bool = false, ttl: TimeInterval = 90 * 86_400) async throws -> String {
        try await tokens.issue(user: user, email: email ?? "\(user)@example.com", admin: admin, ttl: ttl, now: clock.now())
    }

    /// Provider settings that send every provider to `fake`, with short retry delays. The timeouts are
    /// generous: on a loaded machine (the suites run in parallel) a short one would retry a call the
    /// fake answers, and the test would see it twice. Tests of timeouts set `shortTimeouts`.
    public static func providers(fake: FakeProviderServer?, demo: Bool = false) -> ProvidersConfiguration {
        var configuration = ProvidersConfiguration()
        configuration.demo = demo
        configuration.retry = RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 2)
        configuration.timeouts = ProviderTimeouts(connect: .seconds(2), firstByte: .seconds(15), idle: .seconds(15))
        if let fake {
            for provider in Provider.allCases {
                configuration[provider] = ProviderEndpoint(apiKey: "key-\(provider.rawValue)", baseURL: fake.baseURL(for: provider.rawValue))
            }
        }
        return configuration
    }

    /// For tests of a provider that is too slow: the fake's delay is always longer than these.
    public static let shortTimeouts = ProviderTimeouts(connect: .seconds(2), firstByte: .seconds(2), idle: .seconds(2))

    public static let webhookSecret = WebhookSecret("whsec_test_secret")

    /// Billing against a fake Stripe, with the webhook secret tests sign with.
    public static func billing(stripe: FakeStripeServer?) -> BillingConfiguration {
        BillingConfiguration(
            secretKey: stripe.map { _ in StripeSecretKey("sk_test_123") }, webhookSecret: webhookSecret,
            apiBase: stripe?.baseURL ?? "http://127.0.0.1:9", publicURL: "http://127.0.0.1:8080")
    }

    /// A running app; providers answer from the demo responder unless a test says otherwise, so
    /// admission tests need no fake (a provider without a key is refused before any charge).
    /// Per-user abuse limits are off unless a test sets them (`AbuseLimitTests` does).
    public static func run(
        at start: Date = Date(timeIntervalSince1970: 1_795_000_000), providers configuration: ProvidersConfiguration = TestApp.providers(fake: nil, demo: true),
        billing: BillingConfiguration = TestApp.billing(stripe: nil), features: FeatureFlags = .init(), test: TestingSetup = .router,
        limits: UserLimits = .off, shutdown: ShutdownState = .init(), logger: Logger = TestDatabase.logger, _ body: @escaping @Sendable (TestApp, any TestClientProtocol) async throws -> Void
    ) async throws {
        let httpClient = ProviderRouter.makeHTTPClient(configuration.timeouts)
        let providers = ProviderRouter(configuration: configuration, httpClient: httpClient)
        // Its own client: the providers' 2 s idle timeout is for fakes that answer at once, and a busy
        // machine can take longer to answer a Stripe call (a read timeout failed tests under load).
        let stripe = billing.secretKey.map { StripeClient(http: .shared, baseURL: billing.apiBase, key: $0) }
        do {
            try await TestDatabase.with(at: start) { database, url in
                let clock = ManualClock(start)
                var dependencies = dependencies(database: database, providers: providers, clock: clock, logger: logger)
                dependencies.stripe = stripe
                dependencies.features = features
                dependencies.userLimits = limits
                dependencies.shutdown = shutdown
                let services = try await Services(dependencies: dependencies, billing: billing)
                let app = TestApp(
                    database: database, databaseURL: url, clock: clock, tokens: await TokenAuthority(secret: testSecret, clock: clock),
                    services: services, providers: providers, stripe: stripe, metrics: dependencies.metrics, logger: logger)
                try await app.application().test(test) { client in try await body(app, client) }
            }
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }
}

/// What a test reads back from a response.
public struct Reply: Sendable {
    public let status: HTTPResponse.Status
    public let headers: HTTPFields
    public let json: JSONValue

    public init(status: HTTPResponse.Status, headers: HTTPFields, json: JSONValue) {
        self.status = status
        self.headers = headers
        self.json = json
    }

    public var code: String? { json["code"]?.stringValue }
}

extension TestClientProtocol {
    /// A JSON call with a bearer `token`, or with a page session's `cookie` (safe methods only: others need its CSRF token).
    public func call(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, cookie: String? = nil, json: String? = nil) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let cookie { headers[.cookie] = "modelgate_session=\(cookie)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            let data = Data(buffer: response.body)
            let value = (try? JSONDecoder().decode(JSONValue.self, from: data)) ?? .string(String(decoding: data, as: UTF8.self))
            return Reply(status: response.status, headers: response.headers, json: value)
        }
    }
}

extension JSONValue {
    public subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    public var array: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }

    public var int: Int? {
        if case .number(let value) = self { return Int(value) }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}
