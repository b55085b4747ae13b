import Foundation
import Prometheus

/// Plans, credits and metered usage: subscription revenue, Stripe's webhook lag, and the meter
/// events' way to Stripe.
extension ModelgateMetrics {
    public enum MeterOutcome: String, Sendable, CaseIterable { case delivered, failed }

    /// The meter counters start at 0, so the alert sees the first failures.
    func registerPaidAccess() {
        for outcome in MeterOutcome.allCases { _ = registry.makeCounter(descriptor: Self.meterEvents, labels: [("outcome", outcome.rawValue)]) }
        _ = registry.makeGauge(descriptor: Self.meterOutboxDepth)
    }

    static let lagBuckets: [Double] = [1, 5, 15, 30, 60, 120, 300, 900, 1_800, 3_600, 21_600, 86_400]

    /// Seconds from Stripe creating an event to Modelgate processing it (retries included): a
    /// webhook endpoint that falls behind shows here before users miss their plan.
    public func webhookLag(seconds: Double) {
        registry.makeValueHistogram(descriptor: Self.webhookLag, buckets: Self.lagBuckets).record(max(0, seconds))
    }

    public func subscriptionRevenue(plan: String, cents: Int) {
        guard cents > 0 else { return }
        registry.makeCounter(descriptor: Self.subscriptionRevenue, labels: [("plan", plan)]).increment(by: Int64(cents))
    }

    public func meterEvents(_ outcome: MeterOutcome, count: Int) {
        guard count > 0 else { return }
        registry.makeCounter(descriptor: Self.meterEvents, labels: [("outcome", outcome.rawValue)]).increment(by: Int64(count))
    }

    public func meterOutboxDepth(_ rows: Int) { registry.makeGauge(descriptor: Self.meterOutboxDepth).set(Double(rows)) }

    static var webhookLag: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "modelgate_webhook_lag_seconds", unitName: "", helpText: "Seconds from Stripe creating a webhook event to its processing.")
    }
    static var subscriptionRevenue: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "modelgate_subscription_revenue_cents_total", unitName: "",
                             helpText: "Subscription invoices paid, in US cents, by plan.")
    }
    static var meterEvents: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "modelgate_meter_events_total", unitName: "",
                             helpText: "Meter events of metered plans sent to Stripe, by outcome (delivered, failed).")
    }
    static var meterOutboxDepth: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "modelgate_meter_outbox_depth", unitName: "", helpText: "Meter events waiting to be reported to Stripe.")
    }
}
