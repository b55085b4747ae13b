import ModelgateCore
import ModelgateHTTP

/// The margin page's plans and credits: what they brought in, the credits owed, the subscribers,
/// and charts of them per day.
struct PaidRevenueSection: Sendable {
    let rule: String
    let figures: [AdminPage.Figure]
    /// Only when something was sold or is owed: four empty charts would say nothing.
    let charts: [String]

    init(_ report: PaidRevenueReport) {
        rule = PaidRevenueReport.rule
        let money = { (cents: Int) in ChartUnit.microdollars.format(cents * 10_000) }
        figures = [
            .init(label: "Subscription revenue", value: money(report.subscriptionRevenueCents)),
            .init(label: "Credit revenue", value: money(report.creditRevenueCents)),
            .init(label: "Credits sold", value: ChartUnit.count.format(report.creditsSold)),
            .init(label: "Credits spent", value: ChartUnit.count.format(report.creditsSpent)),
            .init(label: "Credits outstanding now (owed to users)", value: ChartUnit.count.format(report.creditsOutstanding)),
            .init(label: "Active subscribers now", value: ChartUnit.count.format(report.activeSubscribers)),
            .init(label: "Monthly recurring revenue now", value: money(report.mrrCents)),
            .init(label: "Subscriptions ended (churn)", value: ChartUnit.count.format(report.churnedSubscribers)),
        ]
        let days = report.days
        func chart(_ id: String, _ title: String, _ unit: ChartUnit, _ series: [(String, (PaidRevenueReport.Day) -> Int)]) -> String {
            Chart(id: id, title: title, kind: .columns, unit: unit, labels: days.map(\.day),
                  series: series.map { name, value in ChartSeries(name: name, values: days.map(value)) }, labelHeading: "Day").html
        }
        let sold = days.contains { $0.subscriptionRevenueCents != 0 || $0.creditRevenueCents != 0 || $0.creditsSold != 0 || $0.creditsSpent != 0
            || $0.activeSubscribers != 0 || $0.newSubscribers != 0 || $0.endedSubscribers != 0 }
        charts = !sold && report.creditsOutstanding == 0 && report.activeSubscribers == 0 ? [] : [
            chart("subscribers", "Active subscribers per day", .count, [("Active subscribers", \.activeSubscribers)]),
            chart("churn", "Subscriptions started and ended per day", .count, [("Started", \.newSubscribers), ("Ended", \.endedSubscribers)]),
            chart("paid-revenue", "Plan and credit revenue per day", .microdollars, [
                ("Subscriptions", { $0.subscriptionRevenueCents * 10_000 }), ("Credits", { $0.creditRevenueCents * 10_000 }),
            ]),
            chart("credits", "Credits sold and spent per day", .count, [("Sold", \.creditsSold), ("Spent", \.creditsSpent)]),
        ]
    }
}
