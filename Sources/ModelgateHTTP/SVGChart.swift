/// Charts drawn on the server as inline SVG. The pages' Content-Security-Policy
/// (`default-src 'self'; img-src 'self' data:`) blocks scripts, `<style>` elements and `style="…"`
/// attributes, so the markup carries only geometry and CSS classes; the colours live in app.css
/// ("charts (SVGChart.swift)"). Every chart comes with a table of the same figures.

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

    /// The chart, then its table in the page's horizontally scrolling wrapper (phones).
    public var html: String { svg() + "<div class=\"table-scroll\">" + table() + "</div>" }

    /// Drawing units of the viewBox; the SVG scales to its container's width.
    public static let width = 360.0

    private var isEmpty: Bool { labels.isEmpty || series.isEmpty }
    private var allValues: [Int] { series.flatMap { s in labels.indices.map { s.value(at: $0) } } }

    /// `<figure class="chart">`: a caption, the SVG (or "No data") and, for several series, a legend.
    public func svg() -> String {
        let caption = "<figcaption>\(esc(title))</figcaption>"
        guard !isEmpty else {
            return "<figure class=\"chart\">\(caption)<p class=\"chart-nodata\">No data</p></figure>"
        }
        let scale = Scale(values: allValues, wholeNumbers: unit == .count)
        let (height, body) = kind == .columns ? columns(scale) : bars(scale)
        var out = "<figure class=\"chart chart-\(kind == .columns ? "columns" : "bars")\">\(caption)"
        out += "<svg class=\"chart-svg\" width=\"100%\" viewBox=\"0 0 \(num(Self.width)) \(num(height))\""
        out += " preserveAspectRatio=\"xMidYMid meet\" role=\"img\" focusable=\"false\""
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
        return "\(counts), values from \(range). The table that follows lists every value."
    }

    // MARK: Drawing

    /// Columns: value axis upwards, labels along the bottom (every few, so that they do not overlap).
    private func columns(_ scale: Scale) -> (height: Double, body: String) {
        let top = 22.0, plotHeight = 160.0, left = 4.0, right = Self.width - 4
        let lowLabelRow = scale.low < 0 ? 16.0 : 0
        let height = top + plotHeight + lowLabelRow + 22
        let y = { (value: Double) in top + plotHeight * (1 - scale.fraction(value)) }
        var out = ""
        for value in scale.gridValues { out += line(left, y(value), right, y(value), "chart-grid") }
        out += line(left, y(0), right, y(0), "chart-axis")
        if scale.high > 0 { out += text(right, top - 6, unit.format(scale.highValue), "chart-tick", anchor: "end") }
        if scale.low < 0 { out += text(right, top + plotHeight + 13, unit.format(scale.lowValue), "chart-tick", anchor: "end") }

        let groupWidth = (right - left) / Double(labels.count)
        let barWidth = groupWidth * 0.8 / Double(series.count)  // a fifth of each group is the gap between groups
        for (index, label) in labels.enumerated() {
            for (seriesIndex, s) in series.enumerated() {
                let value = s.value(at: index)
                let x = left + groupWidth * (Double(index) + 0.1) + barWidth * Double(seriesIndex)
                let (start, end) = (y(0), y(Double(value)))
                let length = Self.visible(abs(end - start), value: value)
                out += rect(x, value < 0 ? start : start - length, barWidth, length, value: value, label: label, seriesIndex: seriesIndex)
            }
        }
        // Label every few columns, as many as fit side by side; every column's label is also in its
        // tooltip and in the table. A character of the 12-unit tick font is about 7 units wide.
        // Counted back from the last column, so the newest (e.g. today) is always labelled.
        func placed(every step: Int) -> [(x: Double, half: Double, text: String)] {
            stride(from: labels.count - 1, through: 0, by: -step).reversed().map { index in
                let shown = truncated(labels[index], 16)
                let half = Double(shown.count) * 3.5
                let centre = left + groupWidth * (Double(index) + 0.5)
                return (min(max(centre, left + half), right - half), half, shown)  // kept inside the drawing
            }
        }
        var step = 1
        var ticks = placed(every: step)
        while zip(ticks, ticks.dropFirst()).contains(where: { $0.x + $0.half + 8 > $1.x - $1.half }) {
            step += 1
            ticks = placed(every: step)
        }
        for tick in ticks { out += text(tick.x, height - 6, tick.text, "chart-tick", anchor: "middle") }
        return (height, out)
    }

    /// Bars: one row per label, the label written above its bars across the whole width, so that long
    /// labels stay readable on a phone; with one series the value is written at the row's right end.
    private func bars(_ scale: Scale) -> (height: Double, body: String) {
        let top = 20.0, labelLine = 16.0, barHeight = 12.0, barGap = 2.0, rowGap = 10.0, left = 4.0, right = Self.width - 4
        let rowHeight = labelLine + Double(series.count) * (barHeight + barGap) - barGap + rowGap
        let height = top + rowHeight * Double(labels.count)
        let x = { (value: Double) in left + (right - left) * scale.fraction(value) }
        var out = ""
        for value in scale.gridValues { out += line(x(value), top - 4, x(value), height - rowGap / 2, "chart-grid") }
        out += line(x(0), top - 4, x(0), height - rowGap / 2, "chart-axis")
        if scale.high > 0 { out += text(right, 12, unit.format(scale.highValue), "chart-tick", anchor: "end") }
        if scale.low < 0 { out += text(left, 12, unit.format(scale.lowValue), "chart-tick", anchor: "start") }

        // A character of the 13-unit label font is about 7.5 units wide; labels start clear of the axis.
        let labelLeft = left + 6
        for (index, label) in labels.enumerated() {
            let rowTop = top + rowHeight * Double(index)
            if series.count == 1, let only = series.first {
                let value = unit.format(only.value(at: index))
                let room = right - labelLeft - Double(value.count + 2) * 7.5
                out += text(labelLeft, rowTop + 12, truncated(label, Int(room / 7.5)), "chart-label", anchor: "start")
                out += text(right, rowTop + 12, value, "chart-label", anchor: "end")
            } else {
                out += text(labelLeft, rowTop + 12, truncated(label, Int((right - labelLeft) / 7.5)), "chart-label", anchor: "start")
            }
            for (seriesIndex, s) in series.enumerated() {
                let value = s.value(at: index)
                let barTop = rowTop + labelLine + (barHeight + barGap) * Double(seriesIndex)
                let (start, end) = (x(0), x(Double(value)))
                let length = Self.visible(abs(end - start), value: value)
                out += rect(value < 0 ? start - length : start, barTop, length, barHeight, value: value, label: label, seriesIndex: seriesIndex)
            }
        }
        return (height, out)
    }

    /// A bar's length, at least one unit when its value is not zero: a cost next to a revenue a
    /// thousand times larger still shows (the exact value is in its tooltip and the table).
    public static func visible(_ length: Double, value: Int) -> Double {
        value == 0 ? 0 : max(length, 1)
    }

    // MARK: Markup

    private func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, value: Int, label: String, seriesIndex: Int) -> String {
        let name = series.indices.contains(seriesIndex) ? series[seriesIndex].name : ""
        let negative = value < 0 ? " is-negative" : ""
        return "<rect class=\"chart-bar \(colourClass(seriesIndex))\(negative)\" x=\"\(num(x))\" y=\"\(num(y))\""
            + " width=\"\(num(width))\" height=\"\(num(height))\""
            + " data-series=\"\(esc(name))\" data-label=\"\(esc(label))\" data-value=\"\(value)\">"
            + "<title>\(esc(label)) · \(esc(name)): \(esc(unit.format(value)))</title></rect>"
    }

    private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ cssClass: String) -> String {
        "<line class=\"\(cssClass)\" x1=\"\(num(x1))\" y1=\"\(num(y1))\" x2=\"\(num(x2))\" y2=\"\(num(y2))\"/>"
    }

    private func text(_ x: Double, _ y: Double, _ content: String, _ cssClass: String, anchor: String) -> String {
        "<text class=\"\(cssClass)\" x=\"\(num(x))\" y=\"\(num(y))\" text-anchor=\"\(anchor)\">\(esc(content))</text>"
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
}

/// Maps values onto the plot. Zero is always inside the range, so every bar starts at the axis and
/// negative values go the other way.
private struct Scale {
    public let low: Double   // ≤ 0
    public let high: Double  // ≥ 0
    public let lowValue: Int, highValue: Int

    /// Counts have no half gridlines between whole numbers.
    public let wholeNumbers: Bool

    public init(values: [Int], wholeNumbers: Bool) {
        self.wholeNumbers = wholeNumbers
        lowValue = min(0, values.min() ?? 0)
        highValue = max(0, values.max() ?? 0)
        low = Double(lowValue)
        high = Double(highValue)
    }

    /// Where `value` lies from the low end (0) to the high end (1). All zero: every bar has no length.
    public func fraction(_ value: Double) -> Double {
        let span = high - low
        return span > 0 ? (value - low) / span : 0
    }

    /// Gridlines at the extremes and halfway to them (the zero axis is drawn on its own).
    public var gridValues: [Double] { [low, low / 2, high / 2, high].filter { $0 != 0 && (!wholeNumbers || $0 == $0.rounded()) } }
}
