import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ModelgateAccess
import ModelgateAdmin
import ModelgateAnalytics
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateMetrics
import ModelgateProviders
import ModelgateStore
import ServiceLifecycle

/// Everything the service depends on, passed in as values: tests swap the clock and database.
public struct Dependencies: Sendable {
    public var database: Database
    public var features = FeatureFlags()
    /// Limits a new API key gets where its creator sets none.
    public var keyDefaults = ApiKeyLimits()
    /// Per-user abuse limits on chat and checkout.
    public var userLimits = UserLimits()
    /// How long a plan whose payment failed keeps its models unlocked.
    public var planGrace: TimeInterval = 3 * 86_400
    /// How long a stored Responses API answer is kept (OpenAI's 30 days unless configured).
    public var responseRetention: TimeInterval = 30 * 86_400
    /// Draining on the shutdown signal, with its grace period for open streams.
    public var shutdown = ShutdownState()
    public var providers: ProviderRouter
    /// `nil` closes purchases (no Stripe key).
    public var stripe: StripeClient?
    public var clock: any WallClock
    public var makeID: @Sendable () -> UUID
    public var logger: Logger
    public var metrics: ModelgateMetrics

    public init(
        database: Database, providers: ProviderRouter, stripe: StripeClient? = nil, clock: any WallClock = SystemClock(),
        makeID: @escaping @Sendable () -> UUID = { UUID() }, logger: Logger, metrics: ModelgateMetrics = ModelgateMetrics()
    ) {
        self.metrics = metrics
        self.database = database
        self.providers = providers
        self.stripe = stripe
        self.clock = clock
        self.makeID = makeID
        self.logger = logger
    }
}

/// The domain services built from the dependencies, shared by the HTTP routes and the CLI.
public struct Services: Sendable {
    public let cache: CatalogCache
    public let access: ModelAccessService
    public let profiles: ProfileRepository
    public let apiKeys: ApiKeyAuthority
    let sessions: SessionAuthority
    /// The app's clock: everything that reads "now" reads it here.
    let clock: any WallClock
    let limits: UserLimitGuard
    /// The instance's shutdown state: readiness and open streams follow it.
    public let shutdown: ShutdownState
    let userModels: UserModelsService
    let chat: ChatService
    public let purchases: PurchaseService
    public let paidAdministration: PaidAdministration
    public let paid: PaidAccessReader
    public let paidAccount: PaidAccount
    let pages: PageRenderer
    let admin: AdminService
    /// The Responses API's stored answers.
    public let storedResponses: StoredResponses

    public init(dependencies: Dependencies, billing: BillingConfiguration = .init()) async throws {
        let database = dependencies.database
        clock = dependencies.clock
        cache = try await CatalogCache(database: database)
        profiles = ProfileRepository(database: database)
        let gate = OpenCallGate()
        apiKeys = ApiKeyAuthority(database: database, clock: dependencies.clock, makeID: dependencies.makeID, metrics: dependencies.metrics,
                                  defaults: dependencies.keyDefaults, gate: gate)
        sessions = SessionAuthority(
            sessions: SessionRepository(database: database), profiles: profiles, apiKeys: apiKeys, clock: dependencies.clock,
            secureCookies: billing.publicURL.lowercased().hasPrefix("https://"))
        let spend = SpendLedger(database: database)
        access = ModelAccessService(
            cache: cache, entitlements: EntitlementRepository(database: database), ledger: QuotaLedger(database: database), spend: spend,
            paid: PaidAccessReader(database: database),
            outbox: AnalyticsOutbox(makeID: dependencies.makeID), metrics: dependencies.metrics, clock: dependencies.clock,
            makeID: dependencies.makeID, keys: TaskBudgetLedger(database: database), configuredProviders: Set(Provider.allCases.filter(dependencies.providers.isAvailable)),
            modelSelection: dependencies.features.modelSelection, planGrace: dependencies.planGrace)
        dependencies.metrics.register(models: cache.catalog.models)
        shutdown = dependencies.shutdown
        limits = UserLimitGuard(
            limits: dependencies.userLimits, repository: UserLimitRepository(database: database), database: database,
            outbox: AnalyticsOutbox(makeID: dependencies.makeID), clock: dependencies.clock, makeID: dependencies.makeID,
            gate: gate)
        userModels = UserModelsService(
            access: access, profiles: profiles, providers: dependencies.providers, outbox: AnalyticsOutbox(makeID: dependencies.makeID),
            limits: limits, clock: dependencies.clock)
        chat = ChatService(
            access: access, conversations: ConversationRepository(database: database), failovers: Failovers(database: database), spend: spend,
            outbox: AnalyticsOutbox(makeID: dependencies.makeID), providers: dependencies.providers, limits: limits,
            shutdown: dependencies.shutdown, metrics: dependencies.metrics, clock: dependencies.clock, makeID: dependencies.makeID)
        purchases = PurchaseService(
            stripe: dependencies.stripe, configuration: billing, database: database, clock: dependencies.clock,
            makeID: dependencies.makeID, logger: dependencies.logger)
        paidAdministration = PaidAdministration(database: database, cache: cache, clock: dependencies.clock, makeID: dependencies.makeID)
        paid = PaidAccessReader(database: database)
        let catalogCache = cache
        paidAccount = PaidAccount(purchases: purchases, paid: paid, catalog: { catalogCache.catalog }, clock: dependencies.clock,
                                  planGrace: dependencies.planGrace)
        pages = try await PageRenderer()
        admin = AdminService(database: database, cache: cache, outbox: AnalyticsOutbox(makeID: dependencies.makeID), clock: dependencies.clock)
        storedResponses = StoredResponses(database: database, retention: dependencies.responseRetention)
    }
}

extension Services {
    /// A one-time, 15-minute sign-in link for a demo user (`serve --demo` prints it on a terminal).
    public func demoSignInURL(email: String, base: String) async throws -> String {
        let user = TokenAuthority.userID(forEmail: email)
        let identity = TokenIdentity(user: user, email: email, claimsAdmin: false, expiresAt: clock.now().addingTimeInterval(86_400))
        return "\(base)/login?code=\(try await sessions.code(for: identity, lifetime: 900).code)"
    }
}

/// Builds the router: one function, used by `serve` and by every server test.
public func buildRouter(
    configuration: ServerConfiguration, dependencies: Dependencies, services: Services, tokens: TokenAuthority
) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: SecurityHeadersMiddleware(publicURL: configuration.billing.publicURL))
    router.add(middleware: DrainingMiddleware(shutdown: services.shutdown))
    router.add(middleware: MetricsMiddleware(metrics: dependencies.metrics))
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: RequestLogMiddleware())
    HealthRoutes(database: dependencies.database, shutdown: services.shutdown).register(on: router)
    MetricsRoutes(metrics: dependencies.metrics, database: dependencies.database, token: configuration.metricsToken).register(on: router)

    router.add(middleware: FileMiddleware(PageRenderer.staticDirectory, urlBasePath: "/static", logger: dependencies.logger))
    let auth = AuthMiddleware(tokens: tokens, sessions: services.sessions, apiKeys: services.apiKeys, profiles: services.profiles, clock: dependencies.clock,
                              bodyLimit: configuration.maxChatBodyBytes)
    // A chat call (`/api/chat`, `/v1/chat/completions`) runs in a child task and is admitted
    // against the open-call and per-minute limits; these groups hold the chat routes only.
    let chatCalls = ChatCallMiddleware(limits: services.limits, apiKeys: services.apiKeys)
    func callGroup(_ prefix: String) -> RouterGroup<AppRequestContext> {
        router.group(RouterPath(prefix)).add(middleware: ChildTaskMiddleware()).add(middleware: auth).add(middleware: chatCalls)
    }
    let api = router.group("api").add(middleware: auth)
    UserRoutes(service: services.userModels, maxBodyBytes: configuration.maxBodyBytes).register(on: api)
    let recorder = ReplyRecorder(chat: services.chat, logger: dependencies.logger)
    ChatRoutes(chat: services.chat, maxBodyBytes: configuration.maxChatBodyBytes, recorder: recorder).register(on: api, calls: callGroup("api"))
    SignInLinkRoutes(apiKeys: services.apiKeys, sessions: services.sessions, tokens: tokens, publicURL: configuration.billing.publicURL).register(on: api)
    let openAI = router.group("v1").add(middleware: auth)
    OpenAICompatibleRoutes(
        chat: services.chat, userModels: services.userModels, clock: dependencies.clock, maxBodyBytes: configuration.maxChatBodyBytes,
        recorder: recorder, storedResponses: services.storedResponses
    ).register(on: openAI, calls: callGroup("v1"))
    AnthropicMessagesRoutes(chat: services.chat, userModels: services.userModels, maxBodyBytes: configuration.maxChatBodyBytes, recorder: recorder)
        .register(on: openAI, calls: callGroup("v1"))
    BillingRoutes(purchases: services.purchases, userModels: services.userModels, metrics: dependencies.metrics).register(api: api, router: router)
    PaidRoutes(account: services.paidAccount, userModels: services.userModels).register(on: api)
    PageRoutes(
        renderer: services.pages, tokens: tokens, sessions: services.sessions, apiKeys: services.apiKeys, userModels: services.userModels,
        purchases: services.purchases, paidAccount: services.paidAccount, admin: services.admin, conversations: services.chat.conversations, maxBodyBytes: configuration.maxBodyBytes
    ).register(on: router, auth: auth)
    let admin = api.group("admin").add(middleware: RequireAdminMiddleware())
    AdminRoutes(admin: services.admin, maxBodyBytes: configuration.maxBodyBytes).register(on: admin)
    ApiKeyRoutes(apiKeys: services.apiKeys, profiles: services.profiles, maxBodyBytes: configuration.maxBodyBytes).register(on: admin)
    let apiKeys = services.apiKeys
    let paidAdmin = PaidAdminRoutes(administration: services.paidAdministration, paid: services.paid, profiles: services.profiles,
                                    endUser: { try await apiKeys.endUser(app: $0, externalID: $1) }, maxBodyBytes: configuration.maxBodyBytes)
    paidAdmin.register(on: admin)
    paidAdmin.registerReports(on: api)
    return router
}

public func buildApplication(
    configuration: ServerConfiguration, dependencies: Dependencies, services: Services, tokens: TokenAuthority
) -> some ApplicationProtocol {
    let router = buildRouter(configuration: configuration, dependencies: dependencies, services: services, tokens: tokens)
    let refresher = CatalogRefresher(cache: services.cache, interval: .milliseconds(250), logger: dependencies.logger)
    let sender = PostHogSender(
        configuration: configuration.analytics, database: dependencies.database, http: .shared, clock: dependencies.clock,
        metrics: dependencies.metrics, logger: dependencies.logger)
    // Several instances share one PostgreSQL: they share the catalog and the providers' circuits too.
    let circuits = services.chat.circuitSync(database: dependencies.database, interval: .milliseconds(500), logger: dependencies.logger)
    let holds = HoldSweeper(database: dependencies.database, clock: dependencies.clock, logger: dependencies.logger)
    let sweeper = PeriodicService(interval: .seconds(30), work: holds.sweepOnce)
    let responses = ResponsePurger(responses: services.storedResponses, clock: dependencies.clock, logger: dependencies.logger)
    let purger = PeriodicService(interval: .seconds(600), work: responses.purgeOnce)
    // Plans with a meter: their calls reach Stripe from the outbox, whichever instance settled them.
    let meters = dependencies.stripe.map { MeterEventSender(stripe: $0, database: dependencies.database, clock: dependencies.clock, metrics: dependencies.metrics,
                                                              logger: dependencies.logger) }
    let services: [any Service] = (dependencies.database.backend == .postgres ? [refresher, circuits, sender, sweeper, purger] : [sender, sweeper, purger])
        + (meters.map { [$0] } ?? [])
    return Application(
        router: router,
        // The idle timeout also closes a connection that sends its request head or body too slowly;
        // a response being streamed is never cut by it.
        server: .http1(configuration: .init(idleTimeout: .init(configuration.idleTimeout))),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "modelgate",
            // A burst of new connections waits in the kernel's queue instead of being dropped and retried.
            backlog: 4096, availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
        services: services,
        logger: dependencies.logger)
}
