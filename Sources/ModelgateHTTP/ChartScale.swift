/// Maps values onto the plot. Zero is always inside the range, so every bar starts at the axis and
/// negative values go the other way.
struct ChartScale {
    let low: Double   // ≤ 0
    let high: Double  // ≥ 0
    let lowValue: Int, highValue: Int

    /// Counts have no half gridlines between whole numbers.
    let wholeNumbers: Bool

    init(values: [Int], wholeNumbers: Bool) {
        self.wholeNumbers = wholeNumbers
        lowValue = min(0, values.min() ?? 0)
        highValue = max(0, values.max() ?? 0)
        low = Double(lowValue)
        high = Double(highValue)
    }

    /// Where `value` lies from the low end (0) to the high end (1). All zero: every bar has no length.
    func fraction(_ value: Double) -> Double {
        let span = high - low
        return span > 0 ? (value - low) / span : 0
    }

    /// Gridlines at the extremes and halfway to them (the zero axis is drawn on its own).
    var gridValues: [Double] { [low, low / 2, high / 2, high].filter { $0 != 0 && (!wholeNumbers || $0 == $0.rounded()) } }
}
