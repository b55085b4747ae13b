import Foundation
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
@testable import ModelgateHTTP
import ModelgateKeys
@testable import ModelgateServer
import Testing

/// What a test reads back from a chart's markup, by scanning the text as a browser would see it.
private enum ChartMarkup {
    struct Bar {
        let x, y, width, height: Double
        let series, label: String
        let value: Int
    }

    /// The attributes of one start tag, e.g. `<rect x="1" …>`.
    static func attributes(_ tag: Substring) -> [String: String] {
        var result: [String: String] = [:]
        for match in tag.matches(of: /([a-zA-Z][a-zA-Z0-9-]*)="([^"]*)"/) { result[String(match.1)] = String(match.2) }
        return result
    }

    /// Every `<rect>` that stands for a value (the ones carrying `data-value`).
    static func bars(_ html: String) throws -> [Bar] {
        var bars: [Bar] = []
        for tag in html.matches(of: /<rect [^>]*>/) {
            let a = attributes(tag.0)
            guard let value = a["data-value"] else { continue }
            let number = { (name: String) throws -> Double in try #require(a[name].flatMap(length)) }
            bars.append(Bar(x: try number("x"), y: try number("y"), width: try number("width"), height: try number("height"),
                            series: try #require(a["data-series"]), label: try #require(a["data-label"]),
                            value: try #require(Int(value))))
        }
        return bars
    }

    /// The table's cells as "label|series" → data-value, read by position under the column headings.
    static func table(_ html: String) throws -> [String: Int] {
        let head = try #require(html.firstMatch(of: /<thead>(.*?)<\/thead>/)?.1)
        let headings = head.matches(of: /<th scope="col">([^<]*)<\/th>/).map { String($0.1) }.dropFirst()
        let body = try #require(html.firstMatch(of: /<tbody>(.*?)<\/tbody>/)?.1)
        var cells: [String: Int] = [:]
        for row in body.matches(of: /<tr>(.*?)<\/tr>/) {
            guard let label = row.1.firstMatch(of: /<th scope="row">([^<]*)<\/th>/)?.1 else { continue }
            let values = row.1.matches(of: /<td data-value="(-?\d+)">/).compactMap { Int($0.1) }
            #expect(values.count == headings.count, "one cell per series in row \(label)")
            for (series, value) in zip(headings, values) { cells["\(label)|\(series)"] = value }
        }
        return cells
    }

    /// A coordinate: CSS pixels, or a percentage of the drawing's width ("12.5%" reads 12.5).
    static func length(_ text: String) -> Double? {
        Double(text.hasSuffix("%") ? String(text.dropLast()) : text)
    }

    /// The markup a drawing `width` pixels wide shows: the groups of labels written for other widths
    /// (`<g class="chart-from-520 chart-below-960">`, as app.css reads them) left out.
    static func shown(_ html: String, at width: Double) -> String {
        html.replacing(/<g class="([^"]*)">(.*?)<\/g>/) { group in
            let fits = group.1.split(separator: " ").allSatisfy { name in
                if let from = name.wholeMatch(of: /chart-from-(\d+)/).flatMap({ Double($0.1) }) { return width >= from }
                if let below = name.wholeMatch(of: /chart-below-(\d+)/).flatMap({ Double($0.1) }) { return width < below }
                return true
            }
            return fits ? String(group.2) : ""
        }
    }

    /// The values of every coordinate attribute.
    static func coordinates(_ html: String) -> [(name: String, value: String)] {
        html.matches(of: /\s(x|y|x1|y1|x2|y2|width|height)="([^"]*)"/).map { (String($0.1), String($0.2)) }
    }

    /// The y (columns) or x (bars) of the zero axis.
    static func axis(_ html: String, along coordinate: String) throws -> Double {
        let tag = try #require(html.firstMatch(of: /<line class="chart-axis"[^>]*>/)?.0)
        return try #require(attributes(tag)[coordinate].flatMap(length))
    }
}

@Suite(.timeLimit(.minutes(5))) struct SVGChartTests {
    static let week = Chart(
        id: "usage", title: "Requests per day", kind: .columns, unit: .count,
        labels: ["Mon", "Tue", "Wed"],
        series: [ChartSeries(name: "chat", values: [120, 240, 60]), ChartSeries(name: "embeddings", values: [0, 7, 1_500])],
        labelHeading: "Day")

    @Test(arguments: [Chart.Kind.columns, .bars])
    func everyBarHasTheValueOfItsTableCell(kind: Chart.Kind) throws {
        let chart = Chart(id: "c", title: "t", kind: kind, unit: .microdollars, labels: Self.week.labels, series: Self.week.series)
        let bars = try ChartMarkup.bars(chart.svg())
        let cells = try ChartMarkup.table(chart.table())
        #expect(bars.count == 6)
        #expect(cells.count == 6)
        for bar in bars { #expect(cells["\(bar.label)|\(bar.series)"] == bar.value, "\(bar.label) · \(bar.series)") }
        #expect(cells["Wed|embeddings"] == 1_500)
        #expect(chart.table().contains(#"<td data-value="1500">$0.0015</td>"#))
    }

    @Test func columnHeightsAreProportionalToValuesAndStandOnTheAxis() throws {
        let html = Self.week.svg()
        let bars = try ChartMarkup.bars(html)
        let height = { (label: String, series: String) in try #require(bars.first { $0.label == label && $0.series == series }).height }
        #expect(abs(try height("Tue", "chat") - 2 * height("Mon", "chat")) <= 0.02)
        #expect(abs(try height("Mon", "chat") - 2 * height("Wed", "chat")) <= 0.02)
        #expect(try height("Wed", "embeddings") > height("Tue", "chat"), "the largest value is the tallest")
        #expect(try height("Mon", "embeddings") == 0)
        let axis = try ChartMarkup.axis(html, along: "y1")
        for bar in bars { #expect(abs(bar.y + bar.height - axis) <= 0.02, "\(bar.label) · \(bar.series) stands on the axis") }
    }

    @Test func barLengthsAreProportional() throws {
        let chart = Chart(id: "top", title: "Top spenders", kind: .bars, unit: .microdollars,
                          labels: ["ada@example.com", "bob@example.com"], series: [ChartSeries(name: "spend", values: [3_000_000, 1_500_000])])
        let bars = try ChartMarkup.bars(chart.svg())
        let widths = bars.map(\.width)
        #expect(widths.count == 2)
        #expect(abs((widths.first ?? 0) - 2 * (widths.last ?? 0)) <= 0.02)
        #expect(chart.svg().contains(">$3.00</text>"), "one series: the value is written beside its label")
    }

    @Test func negativeValuesGoBelowTheBaseline() throws {
        let chart = Chart(id: "margin", title: "Margin", kind: .columns, unit: .microdollars,
                          labels: ["a", "b"], series: [ChartSeries(name: "margin", values: [3_000_000, -1_500_000])])
        let html = chart.svg()
        let axis = try ChartMarkup.axis(html, along: "y1")
        let bars = try ChartMarkup.bars(html)
        let positive = try #require(bars.first { $0.value > 0 }), negative = try #require(bars.first { $0.value < 0 })
        #expect(abs(positive.y + positive.height - axis) <= 0.02, "above: ends at the axis")
        #expect(abs(negative.y - axis) <= 0.02, "below: starts at the axis")
        #expect(abs(positive.height - 2 * negative.height) <= 0.02)
        #expect(negative.height > 0)
        #expect(html.contains("−$1.50"), "the lowest value labels its gridline")

        let sideways = Chart(id: "m2", title: "Margin", kind: .bars, unit: .microdollars, labels: chart.labels, series: chart.series)
        let zero = try ChartMarkup.axis(sideways.svg(), along: "x1")
        let rows = try ChartMarkup.bars(sideways.svg())
        let right = try #require(rows.first { $0.value > 0 }), left = try #require(rows.first { $0.value < 0 })
        #expect(abs(right.x - zero) <= 0.02)
        #expect(abs(left.x + left.width - zero) <= 0.02, "a negative bar ends at the axis, to its left")
        #expect(abs(right.width - 2 * left.width) <= 0.02)
    }

    @Test func textIsEscapedEverywhere() throws {
        let hostile = #"<script>"&"#
        let chart = Chart(id: "x", title: "<b>Title</b>", kind: .bars, unit: .count, labels: [hostile, "ok"],
                          series: [ChartSeries(name: "s'1<", values: [1, 2]), ChartSeries(name: hostile, values: [3, 4])],
                          labelHeading: "<th>")
        for html in [chart.svg(), chart.table()] {
            #expect(!html.contains("<script"))
            #expect(!html.contains("<b>"))
            #expect(!html.contains("<th>"))
            #expect(html.contains("&lt;script&gt;&quot;&amp;"))
        }
        #expect(chart.svg().contains(#"data-label="&lt;script&gt;&quot;&amp;""#))
        #expect(chart.svg().contains(#"data-series="s&#39;1&lt;""#))
        #expect(chart.svg().contains("<title>&lt;script&gt;&quot;&amp; · s&#39;1&lt;: 1</title>"))
        // The table still pairs each cell with its escaped label and series.
        #expect(try ChartMarkup.table(chart.table())["&lt;script&gt;&quot;&amp;|&lt;script&gt;&quot;&amp;"] == 3)
    }

    @Test func emptyOrAllZeroChartsAreValid() throws {
        let noLabels = Chart(id: "e", title: "Empty", kind: .columns, unit: .count, labels: [], series: [ChartSeries(name: "s", values: [])])
        #expect(noLabels.svg().contains("No data"))
        #expect(noLabels.table().contains("No data"))
        let noSeries = Chart(id: "e2", title: "Empty", kind: .bars, unit: .count, labels: ["a"], series: [])
        #expect(noSeries.svg().contains("No data"))

        for kind in [Chart.Kind.columns, .bars] {
            let zeros = Chart(id: "z", title: "Zeros", kind: kind, unit: .microdollars, labels: ["a", "b"],
                              series: [ChartSeries(name: "s", values: [0, 0]), ChartSeries(name: "short", values: [])])
            let html = zeros.html
            let bars = try ChartMarkup.bars(html)
            #expect(bars.count == 4, "a short series counts as zeros")
            #expect(bars.allSatisfy { $0.height == 0 || $0.width == 0 })
            // The zero axis sits where it does for positive values: at the bottom, or on the left.
            let positive = Chart(id: "p", title: "P", kind: kind, unit: .count, labels: ["a", "b"], series: [ChartSeries(name: "s", values: [1, 2])])
            let coordinate = kind == .columns ? "y1" : "x1"
            let axis = try ChartMarkup.axis(html, along: coordinate)
            #expect(axis == (try ChartMarkup.axis(positive.svg(), along: coordinate)))
            for bar in bars { #expect((kind == .columns ? bar.y : bar.x) == axis, "\(bar.label) · \(bar.series) lies on the axis") }
            for html in [html, noLabels.html, noSeries.html] {
                #expect(!html.lowercased().contains("nan"))
                for coordinate in ChartMarkup.coordinates(html) {
                    #expect(ChartMarkup.length(coordinate.value)?.isFinite == true, "\(coordinate.name)=\(coordinate.value)")
                }
            }
        }
    }

    @Test func markupHasNoInlineStyleOrScriptAndScales() throws {
        let charts = [Self.week, Chart(id: "b", title: "B", kind: .bars, unit: .microdollars, labels: ["x"], series: [ChartSeries(name: "y", values: [-5])])]
        for chart in charts {
            let html = chart.html
            #expect(!html.contains("style="))
            #expect(!html.contains("<style"))
            #expect(!html.contains("<script"))
            let svg = try #require(html.firstMatch(of: /<svg [^>]*>/)?.0)
            let attributes = ChartMarkup.attributes(svg)
            // The card's full width at a height in pixels, with no viewBox to scale the text.
            #expect(attributes["width"] == "100%")
            #expect(attributes["height"].flatMap(Double.init).map { $0 > 0 } == true)
            #expect(attributes["viewBox"] == nil)
            #expect(attributes["role"] == "img")
            // The accessible name and description point at elements that exist.
            for reference in [attributes["aria-labelledby"], attributes["aria-describedby"]] {
                #expect(html.contains("id=\"\(try #require(reference))\""))
            }
            // Every coordinate has at most two decimals; horizontal ones are percentages of the width.
            for coordinate in ChartMarkup.coordinates(html) {
                #expect(coordinate.value.wholeMatch(of: /-?[0-9]+(\.[0-9]{1,2})?%?/) != nil, "\(coordinate.name)=\(coordinate.value)")
                if ["y", "y1", "y2", "height"].contains(coordinate.name) { #expect(!coordinate.value.hasSuffix("%"), "\(coordinate.name)=\(coordinate.value)") }
            }
        }
        #expect(Self.week.svg().contains("chart-legend"), "several series: a legend")
        #expect(!charts[1].svg().contains("chart-legend"), "one series: no legend")
    }

    @Test func theTableIsFoldedUnderItsChartClosed() {
        let html = Self.week.html
        #expect(html.contains(#"</figure><details class="chart-figures"><summary>Show the figures<span class="visually-hidden"> of Requests per day</span></summary>"#
            + #"<div class="table-scroll"><table class="chart-table chart-days">"#))
        #expect(html.hasSuffix("</table></div></details>"))
        #expect(!html.contains(" open"))
    }

    /// Thirty days, in drawings as wide as planned or wider (a phone's card at 375 px, a tablet's, a
    /// desktop's): the labels shown fit side by side, none leaves the drawing, the last day is always
    /// labelled, and a wider drawing labels more days.
    @Test(arguments: [280.0, 333, 520, 542, 702, 960, 1214])
    func dayLabelsFitTheirDrawing(width: Double) throws {
        let days = (1...30).map { "2026-11-" + ($0 < 10 ? "0" : "") + String($0) }
        let chart = Chart(id: "d", title: "Days", kind: .columns, unit: .count, labels: days,
                          series: [ChartSeries(name: "s", values: days.map { _ in 1 })], labelHeading: "Day")
        func ticks(at width: Double) -> [Regex<(Substring, Substring, Substring, Substring)>.Match] {
            ChartMarkup.shown(chart.svg(), at: width)
                .matches(of: /<text class="chart-tick" x="([0-9.]+)%" y="[0-9.]+" text-anchor="(start|middle|end)">([0-9-]{10})<\/text>/)
        }
        let shown = ticks(at: width)
        #expect(shown.last?.3 == "2026-11-30")
        #expect(shown.count > 1)
        if width >= 960 { #expect(shown.count > ticks(at: 280).count, "a desktop's drawing labels more days than a phone's") }
        var extents: [(left: Double, right: Double)] = []
        for tick in shown {
            let x = try #require(Double(tick.1)) / 100 * width, length = Double(tick.3.count) * 7  // 7 px a character
            let left = tick.2 == "start" ? x : tick.2 == "middle" ? x - length / 2 : x - length
            extents.append((left, left + length))
        }
        #expect(extents.allSatisfy { $0.left >= -0.5 && $0.right <= width + 0.5 }, "\(extents)")
        #expect(zip(extents, extents.dropFirst()).allSatisfy { $0.right + 8 <= $1.left + 0.5 }, "\(extents)")
    }

    /// A long label is cut short on a phone and written out in full where the drawing has room,
    /// once per row at every width.
    @Test func longLabelsUseTheRoomOfWiderDrawings() {
        let long = "benedict.cumberbatch-with-a-long-address@subdomain.example.com"
        let chart = Chart(id: "s", title: "Top spenders", kind: .bars, unit: .microdollars, labels: [long, "ana@example.com"],
                          series: [ChartSeries(name: "Provider cost", values: [95, 260])], labelHeading: "User")
        for width in Chart.plannedWidths {
            let labels = ChartMarkup.shown(chart.svg(), at: width).matches(of: /<text class="chart-label" x="6" [^>]*>([^<]*)<\/text>/).map { String($0.1) }
            #expect(labels.count == 2 && labels.last == "ana@example.com", "\(width): \(labels)")
            if width == Chart.plannedWidths.first { #expect(labels.first?.hasSuffix("…") == true, "\(labels)") }
            if width == Chart.plannedWidths.last { #expect(labels.first == long) }
        }
    }

    /// app.css shows each width's labels from that width up: its container queries name the same widths.
    @Test func theStylesheetKnowsThePlannedWidths() throws {
        let css = try String(contentsOf: PythonSDK.repository.appendingPathComponent("Sources/ModelgateHTTP/Resources/static/app.css"), encoding: .utf8)
        let wider = Chart.plannedWidths.dropFirst().map { Int($0) }
        #expect(css.contains(wider.map { ".chart-from-\($0)" }.joined(separator: ", ") + " { display: none; }"), "hidden by default")
        for width in wider {
            #expect(css.contains("@container (min-width: \(width)px) { .chart-from-\(width) { display: inline; } .chart-below-\(width) { display: none; } }"))
        }
    }

    @Test func coordinatesNeverReadNanOrInfinity() {
        #expect(Chart.number(.nan) == "0")
        #expect(Chart.number(.infinity) == "0")
        #expect(Chart.number(12.345) == "12.35" || Chart.number(12.345) == "12.34")
        #expect(Chart.number(-0.001) == "0")
        #expect(Chart.number(3.1) == "3.1")
        #expect(Chart.number(0.07) == "0.07")
        #expect(Chart.number(-3) == "-3")
    }

    @Test func microdollarsReadAsDollars() {
        let dollars = ChartUnit.microdollars
        #expect(dollars.format(0) == "$0.00")
        #expect(dollars.format(105) == "$0.000105")
        #expect(dollars.format(5_000) == "$0.005")
        #expect(dollars.format(9_999) == "$0.009999")
        #expect(dollars.format(10_000) == "$0.01")
        #expect(dollars.format(1_234_567) == "$1.23")
        #expect(dollars.format(1_235_000) == "$1.24")
        #expect(dollars.format(1_234_567_890) == "$1,234.57")
        #expect(dollars.format(-1_200_000) == "\u{2212}$1.20")
        #expect(dollars.format(-105) == "\u{2212}$0.000105")
        #expect(dollars.format(Int.min).hasPrefix("\u{2212}$9,223,372,036,854."))
    }

    @Test func countsHaveThousandsSeparators() {
        let count = ChartUnit.count
        #expect(count.format(0) == "0")
        #expect(count.format(999) == "999")
        #expect(count.format(1_234) == "1,234")
        #expect(count.format(1_000_000) == "1,000,000")
        #expect(count.format(-1_234_567) == "\u{2212}1,234,567")
        #expect(count.format(Int.max) == "9,223,372,036,854,775,807")
    }
}
