import ModelgateCore
import Prometheus

/// Every metric Modelgate exports on `GET /metrics`, typed: call sites name an outcome, never a
/// metric. Names, labels and types follow the contract in `scripts/check_ops` (the alerts and the
/// dashboard use them). Metrics live on a `PrometheusCollectorRegistry` of their own, created with
/// help text, because Prometheus' `promtool check metrics` wants a `# HELP` for each family.
public final class ModelgateMetrics: Sendable {
    public enum QuotaOutcome: String, Sendable, CaseIterable {
        case allowed, trial, locked, rateLimited = "rate_limited", trialExhausted = "trial_exhausted", tokenBudgetExhausted = "token_budget_exhausted"
        case planAllowanceExhausted = "plan_allowance_exhausted", creditsInsufficient = "credits_insufficient"
    }
    public enum WebhookOutcome: String, Sendable, CaseIterable { case granted, duplicate, badSignature = "bad_signature", failed, ignored, refunded, disputed, refused }
    /// Where a premium model was asked for without access.
    public enum RequestPath: String, Sendable, CaseIterable { case chat = "api_chat", openAI = "v1", preview, preferences }
    /// What became of a request made with an API key.
    public enum KeyOutcome: String, Sendable, CaseIterable {
        case allowed
        case rateLimited = "rate_limited"
        case endUserRateLimited = "end_user_rate_limited"
        case taskBudgetExhausted = "task_budget_exhausted"
    }
    /// Why a provider request failed: before the first token (`rate_limited` … `cancelled`) or after it (`stream_cut`).
    public enum ProviderErrorCode: String, Sendable, CaseIterable {
        case rateLimited = "rate_limited", unavailable, failed, notConfigured = "not_configured", cancelled, streamCut = "stream_cut"
        /// Not sent: the provider's circuit was open.
        case circuitOpen = "circuit_open"
    }

    public let registry: PrometheusCollectorRegistry

    /// Buckets in seconds; 0.05 and 0.2 are the alert thresholds (selection, `/api/models`).
    static let fastBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10]
    static let slowBuckets: [Double] = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120]

    /// Labelled counters whose label sets are known up front start at 0, so `increase()` sees their first event.
    public init(providers: [Provider] = Provider.allCases) {
        registry = PrometheusCollectorRegistry()
        for provider in providers {
            _ = registry.makeCounter(descriptor: Self.providerRequests, labels: [("provider", provider.rawValue)])
            _ = registry.makeCounter(descriptor: Self.circuitOpenings, labels: [("provider", provider.rawValue)])
            for code in ProviderErrorCode.allCases {
                _ = registry.makeCounter(descriptor: Self.providerErrors, labels: [("provider", provider.rawValue), ("code", code.rawValue)])
            }
        }
        for reason in [SkippedChoice.Why.disabled, .missing, .wrongKind] {
            _ = registry.makeCounter(descriptor: Self.fallbacks, labels: [("reason", reason.rawValue), ("to", SelectionReason.systemDefault.rawValue)])
        }
        for outcome in WebhookOutcome.allCases { _ = registry.makeCounter(descriptor: Self.webhooks, labels: [("outcome", outcome.rawValue)]) }
        _ = registry.makeCounter(descriptor: Self.deliveryFailures)
        _ = registry.makeCounter(descriptor: Self.delivered)
        _ = registry.makeGauge(descriptor: Self.outboxDepth)
        _ = registry.makeValueHistogram(descriptor: Self.selection, buckets: Self.fastBuckets)
        registerPaidAccess()
    }

    /// Starts the per-model counters at 0 (the catalog's models, known once it is loaded).
    public func register(models: [AIModel]) {
        for model in models {
            for outcome in QuotaOutcome.allCases { _ = quotaCounter(model.id, outcome) }
            _ = costCounter(model.id)
            guard model.tier == .premium else { continue }
            _ = revenueCounter(model.id, .purchase)
            _ = revenueCounter(model.id, .refund)
            _ = registry.makeCounter(descriptor: Self.trialFailures, labels: [("model", model.id.rawValue)])
            for path in RequestPath.allCases {
                _ = registry.makeCounter(descriptor: Self.bypass, labels: [("model", model.id.rawValue), ("path", path.rawValue)])
            }
        }
    }

    // MARK: HTTP

    /// One answered request; `route` is the router's template (`/api/models/{id}/checkout`), never the raw path.
    public func request(method: String, route: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: Self.httpRequests, labels: [("method", method), ("route", route), ("status", String(status))]).increment()
        registry.makeValueHistogram(descriptor: Self.httpDuration, labels: [("method", method), ("route", route)], buckets: Self.fastBuckets)
            .record(seconds)
    }

    // MARK: Selection and quota

    public func selection(seconds: Double) {
        registry.makeValueHistogram(descriptor: Self.selection, buckets: Self.fastBuckets).record(seconds)
    }

    public func quota(_ outcome: QuotaOutcome, model: ModelID) { quotaCounter(model, outcome).increment() }

    public func entitlementBypass(model: ModelID, path: RequestPath) {
        registry.makeCounter(descriptor: Self.bypass, labels: [("model", model.rawValue), ("path", path.rawValue)]).increment()
    }

    public func trialTrackingFailure(model: ModelID) {
        registry.makeCounter(descriptor: Self.trialFailures, labels: [("model", model.rawValue)]).increment()
    }

    /// A message answered by another model than the first one asked for: `reason` why (`disabled`,
    /// `missing`), `to` where it landed (`system_default`, `default`, `persona_override`, `fallback`).
    public func selectionFallback(reason: SkippedChoice.Why, to: SelectionReason) {
        registry.makeCounter(descriptor: Self.fallbacks, labels: [("reason", reason.rawValue), ("to", to.rawValue)]).increment()
    }

    // MARK: Providers

    public func providerRequest(_ provider: Provider) {
        registry.makeCounter(descriptor: Self.providerRequests, labels: [("provider", provider.rawValue)]).increment()
    }

    public func providerFirstToken(_ provider: Provider, seconds: Double) {
        registry.makeValueHistogram(descriptor: Self.providerFirstToken, labels: [("provider", provider.rawValue)], buckets: Self.slowBuckets)
            .record(seconds)
    }

    public func providerFinished(_ provider: Provider, seconds: Double) {
        registry.makeValueHistogram(descriptor: Self.providerDuration, labels: [("provider", provider.rawValue)], buckets: Self.slowBuckets)
            .record(seconds)
    }

    public func providerError(_ provider: Provider, code: ProviderErrorCode) {
        registry.makeCounter(descriptor: Self.providerErrors, labels: [("provider", provider.rawValue), ("code", code.rawValue)]).increment()
    }

    /// What a call cost at the provider, in micro-dollars, by model: the alert compares it with revenue.
    public func providerCost(model: ModelID, micros: Int) {
        guard micros > 0 else { return }
        costCounter(model).increment(by: Int64(micros))
    }

    /// A message answered by a stand-in because `from`'s provider failed before the first token.
    public func failover(from: ModelID, to: ModelID) {
        registry.makeCounter(descriptor: Self.failovers, labels: [("from", from.rawValue), ("to", to.rawValue)]).increment()
    }

    /// A provider's circuit opened: its requests go to stand-ins until a probe answers.
    public func circuitOpened(_ provider: Provider) {
        registry.makeCounter(descriptor: Self.circuitOpenings, labels: [("provider", provider.rawValue)]).increment()
    }

    // MARK: Payments, analytics, database

    public enum RevenueKind: String, Sendable, CaseIterable { case purchase, refund }

    /// Money booked for a model: a completed purchase, or a refund (counted apart, as counters only grow).
    public func revenue(model: ModelID, _ kind: RevenueKind, cents: Int) {
        guard cents > 0 else { return }
        revenueCounter(model, kind).increment(by: Int64(cents))
    }

    public func webhook(_ outcome: WebhookOutcome) {
        registry.makeCounter(descriptor: Self.webhooks, labels: [("outcome", outcome.rawValue)]).increment()
    }

    public func outboxDepth(_ rows: Int) { registry.makeGauge(descriptor: Self.outboxDepth).set(Double(rows)) }
    public func analyticsDeliveryFailed() { registry.makeCounter(descriptor: Self.deliveryFailures).increment() }
    public func analyticsDelivered(_ events: Int) { registry.makeCounter(descriptor: Self.delivered).increment(by: Int64(events)) }

    public func databaseConnections(inUse: Int, max: Int) {
        registry.makeGauge(descriptor: Self.connectionsInUse).set(Double(inUse))
        registry.makeGauge(descriptor: Self.connectionsMax).set(Double(max))
    }

    /// A request made with an API key, labelled by the key's id (never its secret).
    public func keyRequest(key: String, outcome: KeyOutcome) {
        registry.makeCounter(descriptor: Self.keyRequests, labels: [("key", key), ("outcome", outcome.rawValue)]).increment()
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> String { registry.emitToString() }

    private func costCounter(_ model: ModelID) -> Counter {
        registry.makeCounter(descriptor: Self.providerCost, labels: [("model", model.rawValue)])
    }

    private func revenueCounter(_ model: ModelID, _ kind: RevenueKind) -> Counter {
        registry.makeCounter(descriptor: Self.revenue, labels: [("model", model.rawValue), ("kind", kind.rawValue)])
    }

    private func quotaCounter(_ model: ModelID, _ outcome: QuotaOutcome) -> Counter {
        registry.makeCounter(descriptor: Self.quota, labels: [("model", model.rawValue), ("outcome", outcome.rawValue)])
    }

    // MARK: The contract

    private static func metric(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    static var httpRequests: MetricNameDescriptor { metric("modelgate_http_requests_total", "HTTP requests answered, by method, route template and status.") }
    static var httpDuration: MetricNameDescriptor { metric("modelgate_http_request_duration_seconds", "Time to answer an HTTP request (until the response head), by method and route template.") }
    static var selection: MetricNameDescriptor { metric("modelgate_selection_duration_seconds", "Time to choose a message's model and decide its access.") }
    static var quota: MetricNameDescriptor { metric("modelgate_quota_outcomes_total", "Messages by model and quota outcome (allowed, trial, locked, rate_limited, trial_exhausted, token_budget_exhausted, plan_allowance_exhausted, credits_insufficient).") }
    static var providerRequests: MetricNameDescriptor { metric("modelgate_provider_requests_total", "Requests sent to an LLM provider.") }
    static var providerErrors: MetricNameDescriptor { metric("modelgate_provider_errors_total", "Failed LLM provider requests, by provider and error code.") }
    static var providerDuration: MetricNameDescriptor { metric("modelgate_provider_duration_seconds", "Duration of a provider stream, from request to its end.") }
    static var providerFirstToken: MetricNameDescriptor { metric("modelgate_provider_time_to_first_token_seconds", "Time from a provider request to its first event.") }
    static var webhooks: MetricNameDescriptor { metric("modelgate_webhook_events_total", "Stripe webhook deliveries by outcome.") }
    static var bypass: MetricNameDescriptor { metric("modelgate_entitlement_bypass_attempts_total", "Premium models requested without purchase, grant or trial left, by model and path.") }
    static var trialFailures: MetricNameDescriptor { metric("modelgate_trial_tracking_failures_total", "Trial messages whose counter could not be updated or given back.") }
    static var fallbacks: MetricNameDescriptor { metric("modelgate_selection_fallbacks_total", "Messages answered by another model than the one chosen, by reason and target.") }
    static var outboxDepth: MetricNameDescriptor { metric("modelgate_analytics_outbox_depth", "Analytics events waiting for delivery to PostHog.") }
    static var deliveryFailures: MetricNameDescriptor { metric("modelgate_analytics_delivery_failures_total", "Batches of analytics events PostHog did not accept.") }
    static var delivered: MetricNameDescriptor { metric("modelgate_analytics_events_delivered_total", "Analytics events PostHog accepted.") }
    static var connectionsInUse: MetricNameDescriptor { metric("modelgate_database_connections_in_use", "Database connections leased right now.") }
    static var keyRequests: MetricNameDescriptor { metric("modelgate_key_requests_total", "Requests made with an API key, by key id and outcome (allowed, rate_limited, end_user_rate_limited, task_budget_exhausted).") }
    static var providerCost: MetricNameDescriptor { metric("modelgate_provider_cost_micros_total", "Provider cost of calls at list prices, in micro-dollars, by model (estimated when a provider reported no usage).") }
    static var revenue: MetricNameDescriptor { metric("modelgate_revenue_cents_total", "Money booked for a model in US cents, by model and kind (purchase, refund).") }
    static var failovers: MetricNameDescriptor { metric("modelgate_failovers_total", "Messages answered by a stand-in, by the model meant (from) and the one that answered (to).") }
    static var circuitOpenings: MetricNameDescriptor { metric("modelgate_provider_circuit_openings_total", "Times a provider's circuit opened after repeated failures before the first token.") }
    static var connectionsMax: MetricNameDescriptor { metric("modelgate_database_connections_max", "Database connections the pools may open.") }
}
