import ModelgateAccess
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// `/admin/margin`: provider cost against revenue per day and model, the top spenders, each chart
/// with a table of the same figures.
struct MarginPage: Sendable {
    struct ModelRow: Sendable {
        let id: String
        let name: String
        let messages: String
        let tokens: String
        let estimatedCalls: Int
        let cost: String
        let revenue: String
        let margin: String
        let isLoss: Bool
    }

    let chrome: AdminPage.Chrome
    let from: String
    let to: String
    let revenueRule: String
    let rows: [ModelRow]
    let totals: ModelRow
    let hasEstimates: Bool
    struct SpenderRow: Sendable {
        let user: String
        let cost: String
        let paid: String
        let margin: String
        let isLoss: Bool
    }

    /// Cost and revenue on one scale (how small the cost is next to the revenue), then cost alone (its trend).
    let costRevenueChart: String
    let costChart: String
    let messagesChart: String
    let spendersChart: String
    let spenders: [SpenderRow]
    let hasSpenders: Bool
    let paid: PaidRevenueSection

    init(chrome: AdminPage.Chrome, report: MarginReport, catalog: CatalogSnapshot) {
        self.chrome = chrome
        from = report.from
        to = report.to
        revenueRule = MarginReport.revenueRule
        func row(_ id: String, _ name: String, _ figures: MarginFigures) -> ModelRow {
            ModelRow(id: id, name: name, messages: ChartUnit.count.format(figures.messages),
                     tokens: ChartUnit.count.format(figures.inputTokens + figures.outputTokens), estimatedCalls: figures.estimatedCalls,
                     cost: ChartUnit.microdollars.format(figures.costMicros), revenue: ChartUnit.microdollars.format(figures.revenueCents * 10_000),
                     margin: ChartUnit.microdollars.format(figures.marginMicros), isLoss: figures.marginMicros < 0)
        }
        rows = report.models.map { row($0.modelId.rawValue, catalog.model($0.modelId)?.displayName ?? $0.modelId.rawValue, $0.figures) }
        totals = row("", "All models", report.totals)
        hasEstimates = report.totals.estimatedCalls > 0
        let days = DayRange.days(from: report.from, through: report.to)
        costRevenueChart = Self.perDay(report, days: days, id: "cost-revenue", title: "Provider cost and revenue per day", unit: .microdollars, series: [
            ("Provider cost", { $0.costMicros }), ("Revenue", { $0.revenueCents * 10_000 }),
        ]).html
        costChart = Self.perDay(report, days: days, id: "cost", title: "Provider cost per day", unit: .microdollars,
                                series: [("Provider cost", { $0.costMicros })]).html
        messagesChart = Self.perDay(report, days: days, id: "messages", title: "Messages per day", unit: .count, series: [("Messages", { $0.messages })]).html
        spendersChart = Chart(
            id: "top-spenders", title: "Top spenders (provider cost, all time)", kind: .bars, unit: .microdollars,
            labels: report.topSpenders.map { $0.email ?? $0.userId },
            series: [ChartSeries(name: "Provider cost", values: report.topSpenders.map(\.costMicros))],
            labelHeading: "User").html
        spenders = report.topSpenders.map { spender in
            SpenderRow(user: spender.email ?? spender.userId, cost: ChartUnit.microdollars.format(spender.costMicros),
                       paid: ChartUnit.microdollars.format(spender.revenueCents * 10_000),
                       margin: ChartUnit.microdollars.format(spender.marginMicros), isLoss: spender.marginMicros < 0)
        }
        hasSpenders = !spenders.isEmpty
        paid = PaidRevenueSection(report.paid)
    }

    /// A column chart of every day of the range (days without figures are zero): the models summed,
    /// or `only` one of them.
    static func perDay(_ report: MarginReport, days: [String], id: String, title: String, unit: ChartUnit,
                       series: [(String, (MarginFigures) -> Int)], only model: ModelID? = nil) -> Chart {
        var byDay: [String: MarginFigures] = [:]
        for row in report.days where model == nil || row.modelId == model { byDay[row.day, default: MarginFigures()].add(row.figures) }
        return Chart(id: id, title: title, kind: .columns, unit: unit, labels: days,
                     series: series.map { name, value in ChartSeries(name: name, values: days.map { value(byDay[$0] ?? MarginFigures()) }) },
                     labelHeading: "Day")
    }
}

extension AdminPage.Stats {
    /// The model's messages and its cost against revenue per day over the report's range.
    static func charts(of model: ModelID, in report: MarginReport) -> [String] {
        let days = DayRange.days(from: report.from, through: report.to)
        return [
            MarginPage.perDay(report, days: days, id: "messages", title: "Messages per day", unit: .count,
                              series: [("Messages", { $0.messages })], only: model).html,
            MarginPage.perDay(report, days: days, id: "cost-revenue", title: "Provider cost and revenue per day", unit: .microdollars,
                              series: [("Provider cost", { $0.costMicros }), ("Revenue", { $0.revenueCents * 10_000 })], only: model).html,
        ]
    }
}
