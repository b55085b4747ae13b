/// How a chart's values read: counts, or micro-dollars (millionths of a dollar) shown as dollars.
public enum ChartUnit: Sendable {
    case count, microdollars

    /// The value as a reader sees it: "1,234", "$1.23", "$0.000105", "−$1.20" (a true minus sign).
    public func format(_ value: Int) -> String {
        let sign = value < 0 ? "\u{2212}" : ""
        let magnitude = value.magnitude  // a UInt, so Int.min formats too
        switch self {
        case .count:
            return sign + Self.grouped(magnitude)
        case .microdollars:
            if magnitude == 0 { return "$0.00" }
            // A cent or more reads as dollars and cents. Less would round to "$0.00", which hides a
            // real (per-request) cost, so it shows to the micro-dollar with trailing zeros trimmed.
            if magnitude >= 10_000 {
                let cents = magnitude / 10_000 + (magnitude % 10_000 >= 5_000 ? 1 : 0)
                let fraction = cents % 100
                return sign + "$" + Self.grouped(cents / 100) + (fraction < 10 ? ".0" : ".") + String(fraction)
            }
            let digits = String(magnitude)
            var sixDigits = String(repeating: "0", count: 6 - digits.count) + digits
            while sixDigits.hasSuffix("0") { sixDigits.removeLast() }
            return sign + "$0." + sixDigits
        }
    }

    /// 1234567 → "1,234,567".
    private static func grouped(_ value: UInt) -> String {
        var digits = String(value)
        var groups: [Substring] = []
        while digits.count > 3 {
            groups.insert(Substring(digits.suffix(3)), at: 0)
            digits.removeLast(3)
        }
        groups.insert(Substring(digits), at: 0)
        return groups.joined(separator: ",")
    }
}
