/// Charts drawn on the server as inline SVG. The pages' Content-Security-Policy
/// (`default-src 'self'; img-src 'self' data:`) blocks scripts, `<style>` elements and `style="…"`
/// attributes, so the markup carries only geometry and CSS classes; the colours live in app.css
/// ("charts (SVGChart.swift)"). Every chart comes with a table of the same figures.
///
/// The drawing has no viewBox: it takes its card's full width and a fixed height in CSS pixels, with
/// horizontal positions as percentages of that width, so its text keeps the page's size at any width
/// instead of growing and shrinking with the drawing. A wider drawing has room for more labels, or
/// longer ones: they are written for each of `plannedWidths`, and app.css shows the set that fits.

public struct ChartSeries: Sendable {
    public let name: String
    /// One value per label of the chart, in the same order.
    public let values: [Int]

    public init(name: String, values: [Int]) {
        self.name = name
        self.values = values
    }

    /// A value missing at the end of a short series counts as zero, in the chart and in the table alike.
    public func value(at index: Int) -> Int { values.indices.contains(index) ? values[index] : 0 }
}

/// A chart and the table with the same figures, for screen readers and for people who read numbers.
public struct Chart: Sendable {
    public enum Kind: Sendable {
        /// Vertical columns, grouped per label (one per series): a few labels read left to right, e.g. days.
        case columns
        /// Horizontal bars, one row per label with the label written above its bars: long labels, e.g. top spenders.
        case bars
    }

    /// Prefix of the element ids (`<id>-title`, `<id>-desc`): the caller passes a slug unique on the page.
    public let id: String
    public let title: String
    public let kind: Kind
    public let unit: ChartUnit
    public let labels: [String]
    public let series: [ChartSeries]
    /// The table's heading of the label column, e.g. "Day" or "User".
    public let labelHeading: String

    public init(id: String, title: String, kind: Kind, unit: ChartUnit, labels: [String], series: [ChartSeries], labelHeading: String = "Label") {
        self.id = id
        self.title = title
        self.kind = kind
        self.unit = unit
        self.labels = labels
        self.series = series
        self.labelHeading = labelHeading
    }

    /// The chart, then its table folded under it, in the page's horizontally scrolling wrapper
    /// (phones): a month of mostly-zero rows would otherwise push the next chart a screen away.
    public var html: String {
        svg() + "<details class=\"chart-figures\"><summary>Show the figures<span class=\"visually-hidden\"> of \(esc(title))</span></summary>"
            + "<div class=\"table-scroll\">" + table() + "</div></details>"
    }

    /// The drawing widths planned for, in CSS pixels, from a 320 px phone's card up. Labels are spaced
    /// and cut short to fit each, and a drawing shows the set of the widest one it reaches (app.css,
    /// `.chart-from-…` and `.chart-below-…`): they fit at any width from the first up.
    public static let plannedWidths = [280.0, 520, 960]

    private var isEmpty: Bool { labels.isEmpty || series.isEmpty }
    private var allValues: [Int] { series.flatMap { s in labels.indices.map { s.value(at: $0) } } }

    /// `<figure class="chart">`: a caption, the SVG (or "No data") and, for several series, a legend.
    public func svg() -> String {
        let caption = "<figcaption>\(esc(title))</figcaption>"
        guard !isEmpty else {
            return "<figure class=\"chart\">\(caption)<p class=\"chart-nodata\">No data</p></figure>"
        }
        let scale = ChartScale(values: allValues, wholeNumbers: unit == .count)
        let (height, body) = kind == .columns ? columns(scale) : bars(scale)
        var out = "<figure class=\"chart chart-\(kind == .columns ? "columns" : "bars")\">\(caption)"
        out += "<svg class=\"chart-svg\" width=\"100%\" height=\"\(num(height))\" role=\"img\" focusable=\"false\""
        out += " aria-labelledby=\"\(esc(id))-title\" aria-describedby=\"\(esc(id))-desc\">"
        out += "<title id=\"\(esc(id))-title\">\(esc(title))</title><desc id=\"\(esc(id))-desc\">\(esc(summary))</desc>"
        out += body + "</svg>"
        if series.count > 1 {
            out += "<ul class=\"chart-legend\">"
            for (index, s) in series.enumerated() {
                out += "<li><span class=\"chart-swatch \(colourClass(index))\" aria-hidden=\"true\"></span>\(esc(s.name))</li>"
            }
            out += "</ul>"
        }
        return out + "</figure>"
    }

    /// `<table class="chart-table">`: one row per label, one column per series; each cell carries its exact value.
    public func table() -> String {
        var out = "<table class=\"chart-table\(labelHeading == "Day" ? " chart-days" : "")\"><caption>\(esc(title))</caption><thead><tr><th scope=\"col\">\(esc(labelHeading))</th>"
        for s in series { out += "<th scope=\"col\">\(esc(s.name))</th>" }
        out += "</tr></thead><tbody>"
        if labels.isEmpty { out += "<tr><td colspan=\"\(series.count + 1)\">No data</td></tr>" }
        for (index, label) in labels.enumerated() {
            out += "<tr><th scope=\"row\">\(esc(label))</th>"
            for s in series {
                let value = s.value(at: index)
                out += "<td data-value=\"\(value)\">\(esc(unit.format(value)))</td>"
            }
            out += "</tr>"
        }
        return out + "</tbody></table>"
    }

    /// The chart's description for screen readers: the range, and where the exact figures are.
    private var summary: String {
        let values = allValues
        let range = "\(unit.format(values.min() ?? 0)) to \(unit.format(values.max() ?? 0))"
        let counts = "\(labels.count) \(labels.count == 1 ? "label" : "labels"), \(series.count) series"
        return "\(counts), values from \(range). Every value is in the table under “Show the figures”."
    }

    // MARK: Drawing

    /// Columns: value axis upwards, labels along the bottom (every few, so that they do not overlap).
    /// Horizontal positions are percentages of the width, heights CSS pixels.
    private func columns(_ scale: ChartScale) -> (height: Double, body: String) {
        let top = 22.0, plotHeight = 160.0
        let lowLabelRow = scale.low < 0 ? 16.0 : 0
        let height = top + plotHeight + lowLabelRow + 22
        let y = { (value: Double) in top + plotHeight * (1 - scale.fraction(value)) }
        var out = ""
        for value in scale.gridValues { out += line(0, y(value), 100, y(value), "chart-grid") }
        out += line(0, y(0), 100, y(0), "chart-axis")
        if scale.high > 0 { out += text(pct(100), top - 6, unit.format(scale.highValue), "chart-tick", anchor: "end") }
        if scale.low < 0 { out += text(pct(100), top + plotHeight + 13, unit.format(scale.lowValue), "chart-tick", anchor: "end") }

        let groupWidth = 100 / Double(labels.count)
        let barWidth = groupWidth * 0.8 / Double(series.count)  // a fifth of each group is the gap between groups
        for (index, label) in labels.enumerated() {
            for (seriesIndex, s) in series.enumerated() {
                let value = s.value(at: index)
                let x = groupWidth * (Double(index) + 0.1) + barWidth * Double(seriesIndex)
                let (start, end) = (y(0), y(Double(value)))
                let length = Self.visible(abs(end - start), value: value, minimum: 1)
                out += rect(x, value < 0 ? start : start - length, barWidth, length, value: value, label: label, seriesIndex: seriesIndex)
            }
        }
        out += forEachWidth { width in
            columnTicks(width).map { text(pct($0.percent), height - 6, $0.text, "chart-tick", anchor: $0.anchor) }.joined()
        }
        return (height, out)
    }

    /// Labels every few columns, as many as fit side by side at `width` (a wider drawing only spaces
    /// them further apart); every column's label is also in its tooltip and in the table. Counted
    /// back from the last column, so the newest (e.g. today) is always labelled.
    private func columnTicks(_ width: Double) -> [(percent: Double, anchor: String, text: String)] {
        // A character of the 12 px tick font is about 7 px wide. A label that would stick out at an
        // edge is written from that edge instead: it then only moves further from its neighbour.
        func placed(every step: Int) -> [(left: Double, right: Double, percent: Double, anchor: String, text: String)] {
            stride(from: labels.count - 1, through: 0, by: -step).reversed().map { index in
                let shown = truncated(labels[index], 16)
                let half = Double(shown.count) * 3.5
                let centre = width * (Double(index) + 0.5) / Double(labels.count)
                if centre - half < 0 { return (0, 2 * half, 0, "start", shown) }
                if centre + half > width { return (width - 2 * half, width, 100, "end", shown) }
                return (centre - half, centre + half, 100 * centre / width, "middle", shown)
            }
        }
        var step = 1
        var ticks = placed(every: step)
        while zip(ticks, ticks.dropFirst()).contains(where: { $0.right + 8 > $1.left }) {
            step += 1
            ticks = placed(every: step)
        }
        return ticks.map { ($0.percent, $0.anchor, $0.text) }
    }

    /// Bars: one row per label, the label written above its bars across the whole width, so that long
    /// labels stay readable on a phone; with one series the value is written at the row's right end.
    /// Horizontal positions are percentages of the width, vertical ones CSS pixels.
    private func bars(_ scale: ChartScale) -> (height: Double, body: String) {
        let top = 20.0, labelLine = 16.0, barHeight = 12.0, barGap = 2.0, rowGap = 10.0
        let rowHeight = labelLine + Double(series.count) * (barHeight + barGap) - barGap + rowGap
        let height = top + rowHeight * Double(labels.count)
        let x = { (value: Double) in 100 * scale.fraction(value) }
        var out = ""
        for value in scale.gridValues { out += line(x(value), top - 4, x(value), height - rowGap / 2, "chart-grid") }
        out += line(x(0), top - 4, x(0), height - rowGap / 2, "chart-axis")
        if scale.high > 0 { out += text(pct(100), 12, unit.format(scale.highValue), "chart-tick", anchor: "end") }
        if scale.low < 0 { out += text(pct(0), 12, unit.format(scale.lowValue), "chart-tick", anchor: "start") }

        // A character of the 13 px label font is about 7.5 px wide; labels start clear of the axis
        // and are cut short to fit each planned width, beside the value if there is one.
        let labelLeft = 6.0
        for (index, label) in labels.enumerated() {
            let rowTop = top + rowHeight * Double(index)
            let value = series.count == 1 ? series.first.map { unit.format($0.value(at: index)) } : nil
            let valueRoom = value.map { Double($0.count + 2) * 7.5 } ?? 0
            out += forEachWidth { width in
                text(num(labelLeft), rowTop + 12, truncated(label, Int((width - labelLeft - valueRoom) / 7.5)), "chart-label", anchor: "start")
            }
            if let value { out += text(pct(100), rowTop + 12, value, "chart-label", anchor: "end") }
            for (seriesIndex, s) in series.enumerated() {
                let value = s.value(at: index)
                let barTop = rowTop + labelLine + (barHeight + barGap) * Double(seriesIndex)
                let (start, end) = (x(0), x(Double(value)))
                let length = Self.visible(abs(end - start), value: value, minimum: 100 / (Self.plannedWidths.first ?? 280))  // a pixel, or more
                out += rect(value < 0 ? start - length : start, barTop, length, barHeight, value: value, label: label, seriesIndex: seriesIndex)
            }
        }
        return (height, out)
    }

    /// A bar's length, at least `minimum` (a pixel) when its value is not zero: a cost next to a
    /// revenue a thousand times larger still shows (the exact value is in its tooltip and the table).
    public static func visible(_ length: Double, value: Int, minimum: Double) -> Double {
        value == 0 ? 0 : max(length, minimum)
    }

    // MARK: Markup

    /// The markup `version` writes for each planned width, each version in a `<g>` that app.css shows
    /// only from its width up to the next version's ("chart-from-520 chart-below-960"); the same
    /// markup for consecutive widths is written once, and once without a group for all of them.
    private func forEachWidth(_ version: (Double) -> String) -> String {
        let widths = Self.plannedWidths, versions = widths.map(version)
        var out = "", first = 0
        for last in versions.indices where last == versions.count - 1 || versions[last + 1] != versions[first] {
            let from = first > 0 ? ["chart-from-\(Int(widths[first]))"] : []
            let below = last < widths.count - 1 ? ["chart-below-\(Int(widths[last + 1]))"] : []
            let classes = (from + below).joined(separator: " ")
            out += classes.isEmpty ? versions[first] : "<g class=\"\(classes)\">\(versions[first])</g>"
            first = last + 1
        }
        return out
    }

    /// `x` and `width` are percentages of the drawing's width, `y` and `height` CSS pixels.
    private func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, value: Int, label: String, seriesIndex: Int) -> String {
        let name = series.indices.contains(seriesIndex) ? series[seriesIndex].name : ""
        let negative = value < 0 ? " is-negative" : ""
        return "<rect class=\"chart-bar \(colourClass(seriesIndex))\(negative)\" x=\"\(pct(x))\" y=\"\(num(y))\""
            + " width=\"\(pct(width))\" height=\"\(num(height))\""
            + " data-series=\"\(esc(name))\" data-label=\"\(esc(label))\" data-value=\"\(value)\">"
            + "<title>\(esc(label)) · \(esc(name)): \(esc(unit.format(value)))</title></rect>"
    }

    /// `x1` and `x2` are percentages of the drawing's width, `y1` and `y2` CSS pixels.
    private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ cssClass: String) -> String {
        "<line class=\"\(cssClass)\" x1=\"\(pct(x1))\" y1=\"\(num(y1))\" x2=\"\(pct(x2))\" y2=\"\(num(y2))\"/>"
    }

    /// `x` is written out by the caller: `pct` (a percentage of the width) or `num` (CSS pixels).
    private func text(_ x: String, _ y: Double, _ content: String, _ cssClass: String, anchor: String) -> String {
        "<text class=\"\(cssClass)\" x=\"\(x)\" y=\"\(num(y))\" text-anchor=\"\(anchor)\">\(esc(content))</text>"
    }

    /// Six colours (app.css, `.chart-s1`…`.chart-s6`), repeated past the sixth series.
    private func colourClass(_ seriesIndex: Int) -> String { "chart-s\(seriesIndex % 6 + 1)" }

    private func truncated(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(max(1, limit - 1))) + "…"
    }

    private func esc(_ text: String) -> String { HTMLEscaping.escape(text) }

    /// A coordinate with at most two decimals ("12.5", "-3", "0.07"); never "nan" or "inf".
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let hundredths = Int((min(max(value, -1e9), 1e9) * 100).rounded())
        let whole = hundredths.magnitude / 100, fraction = hundredths.magnitude % 100
        let sign = hundredths < 0 ? "-" : ""
        if fraction == 0 { return sign + String(whole) }
        let decimals = fraction % 10 == 0 ? String(fraction / 10) : (fraction < 10 ? "0" : "") + String(fraction)
        return sign + String(whole) + "." + decimals
    }

    private func num(_ value: Double) -> String { Self.number(value) }

    private func pct(_ value: Double) -> String { Self.number(value) + "%" }
}
